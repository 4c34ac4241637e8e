namespace Orchestrator.Registry;

/// <summary>
/// What the protocol layer tells the handler chain about one request, carried in
/// <see cref="HttpRequestMessage.Options"/>: the token scope the auth handler asks for, whether the body can
/// be sent again (the resilience and auth handlers resend only those), and whether the response body is read
/// inside the attempt (so a body cut off mid-way is retried like any other transient failure).
/// </summary>
internal static class RegistryRequest
{
    /// <summary>
    /// The token scope (distribution token spec "Requesting a Token", <c>scope</c>): <c>repository:NAME:pull</c>
    /// for reads, <c>repository:NAME:pull,push</c> for writes, several separated by spaces (a mount). Empty when none.
    /// </summary>
    public static readonly HttpRequestOptionsKey<string> Scope = new("Orchestrator.Registry.Scope");

    /// <summary>True when the body is a stream that is spent once sent: neither retried nor resent after a challenge.</summary>
    public static readonly HttpRequestOptionsKey<bool> OneShot = new("Orchestrator.Registry.OneShot");

    /// <summary>True when the response body is read into memory within the attempt (small bodies: errors, JSON, manifests).</summary>
    public static readonly HttpRequestOptionsKey<bool> BufferResponse = new("Orchestrator.Registry.BufferResponse");

    /// <summary>The scope that reads <paramref name="repository"/>.</summary>
    public static string PullScope(string repository) => $"repository:{repository}:pull";

    /// <summary>The scope that writes <paramref name="repository"/> (a push needs pull too: it checks what is there).</summary>
    public static string PushScope(string repository) => $"repository:{repository}:pull,push";

    /// <summary>Marks <paramref name="request"/> with its scope and how it may be sent.</summary>
    public static HttpRequestMessage With(this HttpRequestMessage request, string scope, bool oneShot, bool bufferResponse)
    {
        request.Options.Set(Scope, scope);
        request.Options.Set(OneShot, oneShot);
        request.Options.Set(BufferResponse, bufferResponse);
        return request;
    }

    /// <summary>The value of <paramref name="key"/> on <paramref name="request"/>, or the default.</summary>
    public static T Get<T>(this HttpRequestMessage request, HttpRequestOptionsKey<T> key, T fallback) =>
        request.Options.TryGetValue(key, out var value) ? value : fallback;
}
