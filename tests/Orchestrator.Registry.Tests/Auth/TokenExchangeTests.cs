using System.Net;
using System.Text;
using System.Web;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Registry.Auth;

namespace Orchestrator.Registry.Tests.Auth;

/// <summary>The OAuth2 side of the bearer flow (identity and refresh tokens, POST realm), token expiry on a fake clock, and the three refusals.</summary>
public sealed class TokenExchangeTests
{
    private const string Realm = "http://auth.test/token";
    private const string IdentityToken = "identity-refresh-token-7";
    private static readonly RegistryEndpoint Endpoint = new("reg.test", PlainHttp: true);
    private readonly FastTimeProvider _time = new();

    private sealed class FixedCredentials(RegistryCredential? credential, string refusal = "check the credential") : IRegistryCredentialSource
    {
        public ValueTask<RegistryCredential?> GetAsync(RegistryEndpoint endpoint, CancellationToken cancellationToken = default) => ValueTask.FromResult(credential);

        public string DescribeRefusal(RegistryEndpoint endpoint) => refusal;
    }

    private HttpMessageInvoker Chain(FakeHandler inner, RegistryCredential? credential, string refusal = "check the credential") =>
        new(new AuthChallengeHandler(Endpoint, new FixedCredentials(credential, refusal), _time, inner));

    private static HttpRequestMessage Get(string scope) =>
        new HttpRequestMessage(HttpMethod.Get, "http://reg.test/v2/app/manifests/1.0").With(scope, false, bufferResponse: true);

    private static HttpResponseMessage Challenge(string? error = null)
    {
        var response = FakeHandler.Status(HttpStatusCode.Unauthorized, """{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}""");
        response.Headers.WwwAuthenticate.ParseAdd($"Bearer realm=\"{Realm}\",service=\"reg.test\"{(error is null ? "" : $",error=\"{error}\"")}");
        return response;
    }

    private static Dictionary<string, string> Form(RecordedRequest request)
    {
        var form = HttpUtility.ParseQueryString(Encoding.UTF8.GetString(request.Body));
        return form.AllKeys.ToDictionary(k => k!, k => form[k]!);
    }

    // A registry that accepts "tok-N" tokens; its token service answers with the given JSON (N counts token requests).
    private static FakeHandler Registry(Func<RecordedRequest, int, HttpResponseMessage> tokenService)
    {
        var issued = 0;
        return new FakeHandler(r => r.Uri.Host == "auth.test"
            ? tokenService(r, Interlocked.Increment(ref issued))
            : r.Authorization?.StartsWith("Bearer tok-", StringComparison.Ordinal) == true ? FakeHandler.Status(HttpStatusCode.OK, "{}") : Challenge());
    }

    [Fact]
    public async Task SendAsync_IdentityToken_ExchangesItByPostWithTheOAuthForm()
    {
        // Given an identity token (docker's identitytoken) and an OAuth2 token service
        var inner = Registry((_, n) => FakeHandler.Status(HttpStatusCode.OK, $$"""{"access_token":"tok-{{n}}","expires_in":300}"""));
        var invoker = Chain(inner, new RegistryCredential("<token>", IdentityToken, IsIdentityToken: true));

        // When a request is sent
        using var response = await invoker.SendAsync(Get("repository:app:pull,push"), CancellationToken.None);

        // Then the token came from a POST to the realm with grant_type=refresh_token, and no Basic was sent anywhere
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var token = Assert.Single(inner.Requests, r => r.Uri.Host == "auth.test");
        Assert.Equal(HttpMethod.Post, token.Method);
        Assert.Equal(Realm, token.Uri.ToString());
        Assert.Equal("application/x-www-form-urlencoded", token.ContentType);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token", ["refresh_token"] = IdentityToken, ["client_id"] = "orchestrator",
                ["service"] = "reg.test", ["scope"] = "repository:app:pull,push",
            },
            Form(token));
        Assert.DoesNotContain(inner.Requests, r => r.Authorization?.StartsWith("Basic", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task SendAsync_RefreshTokenReturnedByGet_LaterTokensComeFromPostWithIt()
    {
        // Given Basic credentials and a service that returns a refresh token with the first token
        var inner = Registry((r, n) => FakeHandler.Status(HttpStatusCode.OK, r.Method == HttpMethod.Get
            ? $$"""{"token":"tok-{{n}}","expires_in":300,"refresh_token":"refresh-from-get"}"""
            : $$"""{"access_token":"tok-{{n}}","expires_in":300}"""));
        var invoker = Chain(inner, new RegistryCredential("bob", "pw"));

        // When two scopes are asked for
        using var first = await invoker.SendAsync(Get("repository:app:pull"), CancellationToken.None);
        using var second = await invoker.SendAsync(Get("repository:other:pull"), CancellationToken.None);

        // Then the first token was a GET with Basic, the second a POST with the refresh token
        var tokens = inner.Requests.Where(r => r.Uri.Host == "auth.test").ToList();
        Assert.Equal([HttpMethod.Get, HttpMethod.Post], tokens.Select(t => t.Method));
        Assert.StartsWith("Basic ", tokens[0].Authorization, StringComparison.Ordinal);
        Assert.Null(tokens[1].Authorization);
        Assert.Equal("refresh-from-get", Form(tokens[1])["refresh_token"]);
    }

    [Fact]
    public async Task SendAsync_TokenCachedUntilIssuedAtPlusExpiresIn_FetchedAgainAfter()
    {
        // Given a service whose tokens were issued 100 s ago (by its clock) and live 300 s
        var issuedAt = _time.Now.AddSeconds(-100).ToString("O");
        var inner = Registry((_, n) => FakeHandler.Status(HttpStatusCode.OK, $$"""{"token":"tok-{{n}}","expires_in":300,"issued_at":"{{issuedAt}}"}"""));
        var invoker = Chain(inner, new RegistryCredential("bob", "pw"));
        int TokenRequests() => inner.Requests.Count(r => r.Uri.Host == "auth.test");

        // When requests are sent now, 150 s later (inside issued_at + 300 s less the margin) and 60 s after that (past it)
        using (await invoker.SendAsync(Get("repository:app:pull"), CancellationToken.None)) { }
        var afterFirst = TokenRequests();
        _time.Now = _time.Now.AddSeconds(150);
        using (await invoker.SendAsync(Get("repository:app:pull"), CancellationToken.None)) { }
        var inside = TokenRequests();
        _time.Now = _time.Now.AddSeconds(60);
        using (await invoker.SendAsync(Get("repository:app:pull"), CancellationToken.None)) { }

        // Then the token was reused while it lived and fetched again once it had expired
        Assert.Equal(1, afterFirst);
        Assert.Equal(1, inside);
        Assert.Equal(2, TokenRequests());
    }

    [Fact]
    public async Task SendAsync_NoCredentialsAndServiceRefusesAnonymous_ErrorSaysWhatToConfigure()
    {
        // Given no credential and a token service that wants one
        var inner = Registry((_, _) => FakeHandler.Status(HttpStatusCode.Unauthorized, "{}"));
        var invoker = Chain(inner, credential: null, refusal: "reg.test requires credentials: set username-env");

        // When / Then
        var error = await Assert.ThrowsAsync<RegistryException>(() => invoker.SendAsync(Get("repository:app:pull"), CancellationToken.None));
        Assert.Contains("refused anonymous access", error.Message, StringComparison.Ordinal);
        Assert.Contains("requires credentials", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_WrongPassword_ErrorSaysTheTokenServiceRefusedTheCredentials()
    {
        // Given a token service that answers 401 to the Basic credentials
        var inner = Registry((_, _) => FakeHandler.Status(HttpStatusCode.Unauthorized, """{"details":"invalid username or password"}"""));
        var invoker = Chain(inner, new RegistryCredential("bob", "wrong-password-value"), refusal: "reg.test refused the credentials from $U/$P");

        // When / Then: the credentials are blamed, by where they came from, never by value
        var error = await Assert.ThrowsAsync<RegistryException>(() => invoker.SendAsync(Get("repository:app:pull"), CancellationToken.None));
        Assert.Contains($"the token service {Realm} of reg.test refused the credentials", error.Message, StringComparison.Ordinal);
        Assert.Contains("$U/$P", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password-value", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("expired or invalid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_IdentityTokenRefused_ErrorSaysTheIdentityToken()
    {
        // Given an OAuth2 service that refuses the identity token (invalid_grant)
        var inner = Registry((_, _) => FakeHandler.Status(HttpStatusCode.BadRequest, """{"error":"invalid_grant"}"""));
        var invoker = Chain(inner, new RegistryCredential("<token>", IdentityToken, IsIdentityToken: true), refusal: "the auths entry for reg.test");

        // When / Then
        var error = await Assert.ThrowsAsync<RegistryException>(() => invoker.SendAsync(Get("repository:app:pull"), CancellationToken.None));
        Assert.Contains("refused the identity token", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(IdentityToken, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_RegistryRefusesAFreshToken_ExpiredOrInvalidTokenError()
    {
        // Given a token service that issues tokens the registry refuses as invalid (expired on arrival, wrong key)
        var issued = 0;
        var inner = new FakeHandler(r => r.Uri.Host == "auth.test"
            ? FakeHandler.Status(HttpStatusCode.OK, $$"""{"token":"bad-{{Interlocked.Increment(ref issued)}}","expires_in":300}""")
            : r.Authorization is null ? Challenge() : Challenge("invalid_token"));
        var invoker = Chain(inner, new RegistryCredential("bob", "pw"));

        // When a request is sent
        var error = await Assert.ThrowsAsync<RegistryException>(() => invoker.SendAsync(Get("repository:app:pull"), CancellationToken.None));

        // Then the error blames the token and names the realm, not the password
        Assert.Contains($"reg.test refused the token from {Realm}: expired or invalid", error.Message, StringComparison.Ordinal);
        Assert.Contains("clock/keys", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("bad-", error.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
    }

    [Fact]
    public async Task SendAsync_CachedTokenRefusedAsInvalid_FetchesAFreshOneAndSucceeds()
    {
        // Given a registry that refuses the first token it sees as invalid (revoked early) and accepts the next
        var issued = 0;
        var inner = new FakeHandler(r => r.Uri.Host == "auth.test"
            ? FakeHandler.Status(HttpStatusCode.OK, $$"""{"token":"tok-{{Interlocked.Increment(ref issued)}}","expires_in":300}""")
            : r.Authorization == "Bearer tok-2" ? FakeHandler.Status(HttpStatusCode.OK, "{}")
            : r.Authorization is null ? Challenge() : Challenge("invalid_token"));
        var invoker = Chain(inner, new RegistryCredential("bob", "pw"));

        // When the first request gets token 1 refused, and a second request is sent with it cached
        var error = await Assert.ThrowsAsync<RegistryException>(() => invoker.SendAsync(Get("repository:app:pull"), CancellationToken.None));
        using var second = await invoker.SendAsync(Get("repository:app:pull"), CancellationToken.None);

        // Then the refused cached token was replaced and the second request went through
        Assert.Contains("expired or invalid", error.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
    }
}
