using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Registry.Auth;

namespace Orchestrator.Registry;

/// <summary>
/// The OCI distribution API (spec v1.1) of one registry: protocol only, one partial file per resource
/// (<c>RegistryClient.Manifests.cs</c>, <c>.Blobs.cs</c>, <c>.Uploads.cs</c>, <c>.Tags.cs</c>, <c>.Referrers.cs</c>),
/// as regclient's <c>scheme/reg</c> is. Auth, retries, timeouts and the rate budget belong to the handler
/// chain under the <see cref="HttpClient"/> (<see cref="AuthChallengeHandler"/>,
/// <see cref="Resilience.ResilienceHandler"/>, composed by <see cref="RegistryClientFactory"/>); this class says,
/// per request, which token scope it needs and whether its body can be sent twice, and turns what comes
/// back into the project's typed errors with messages that say what to do next.
/// </summary>
internal sealed partial class RegistryClient : IRegistryClient
{
    // Registries may refuse manifests above 4 MiB (spec "Pushing Manifests"); reading more would only waste memory.
    private const int MaxManifestBytes = 4 * 1024 * 1024;
    private const string DockerContentDigest = "Docker-Content-Digest";

    private readonly HttpClient _http;
    private readonly IRegistryCredentialSource _credentials;
    private readonly RegistryClientOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <param name="endpoint">The registry.</param>
    /// <param name="http">A client over the endpoint's handler chain (resilience, then auth, then sockets).</param>
    /// <param name="credentials">Only to say where credentials come from when a 401 persists.</param>
    /// <param name="options">Upload sizes, and the retry and timeout settings the messages quote.</param>
    /// <param name="timeProvider">The clock of <c>Retry-After</c> dates and upload cancels.</param>
    /// <param name="logger">Logs what is best effort (a cancelled upload that could not be closed).</param>
    internal RegistryClient(
        RegistryEndpoint endpoint,
        HttpClient http,
        IRegistryCredentialSource credentials,
        RegistryClientOptions? options = null,
        TimeProvider? timeProvider = null,
        ILogger? logger = null)
    {
        Endpoint = endpoint;
        _http = http;
        _credentials = credentials;
        _options = options ?? RegistryClientOptions.Default;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public RegistryEndpoint Endpoint { get; }

    private string BaseText => Endpoint.BaseUri.GetLeftPart(UriPartial.Authority);

    /// <inheritdoc />
    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, Url("v2/")), string.Empty, "GET /v2/", cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.Unauthorized;
        }
        catch (UnavailableException)
        {
            return false;
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> (disposing it) through the handler chain and maps transport failures
    /// to <see cref="UnavailableException"/>. Error statuses come back as responses: see <see cref="EnsureSuccessAsync"/>.
    /// </summary>
    /// <param name="request">The request; disposed once sent (its content is, but a streamed body never disposes the caller's stream).</param>
    /// <param name="scope">The token scope (<see cref="RegistryRequest.PullScope"/>, <see cref="RegistryRequest.PushScope"/>).</param>
    /// <param name="operation">What the request does, for messages (<c>GET manifest app:1.0</c>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <param name="oneShot">The body is a stream that cannot be sent twice: no retry, no resend after a challenge.</param>
    /// <param name="buffer">Read the whole (small) body within the attempt; false to stream it (blobs, manifests read with a limit).</param>
    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string scope, string operation, CancellationToken cancellationToken, bool oneShot = false, bool buffer = true)
    {
        request.With(scope, oneShot, buffer);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new UnavailableException(
                $"{BaseText} did not answer {operation} within {_options.AttemptTimeout.TotalSeconds:0.#} s{(oneShot ? string.Empty : $" in {_options.MaxRetryAttempts + 1} attempts")}: check the registry is healthy, or raise AttemptTimeout",
                ex);
        }
        catch (Exception ex) when (FindInner<OrchestratorException>(ex) is { } inner && inner != ex)
        {
            // A failure of our own (a digest check in the request body) surfaces wrapped by HttpClient.
            ExceptionDispatchInfo.Throw(inner);
            throw;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            throw (Exception?)Tls.TlsFailures.FromTransport(ex, Endpoint.Host, Endpoint.PlainHttp, Endpoint.Tls.CertFile) ?? Unavailable(ex, operation);
        }
        finally
        {
            request.Dispose();
        }
    }

    private UnavailableException Unavailable(Exception ex, string operation)
    {
        if (FindInner<SocketException>(ex) is { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.TryAgain })
        {
            return new UnavailableException(
                $"no registry answers at {BaseText}: run ./scripts/setup to start the registries, or fix the url of this stage's registry (registries.<stage>.url) in orchestrator.yaml",
                ex);
        }

        return new UnavailableException(
            $"the connection to {BaseText} failed during {operation} ({ex.Message}): check the registry is healthy and retry the job",
            ex);
    }

    /// <summary>Returns when <paramref name="response"/> is a success; otherwise throws the typed error for it.</summary>
    /// <exception cref="RegistryException">Any error status: its OCI error code (spec "Error Codes") and a hint of what to do.</exception>
    private async Task EnsureSuccessAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var (code, message) = await RegistryErrors.ReadAsync(response, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        var detail = code is null ? $"{status} {response.ReasonPhrase}" : $"{status} {code}{(string.IsNullOrEmpty(message) ? string.Empty : ": " + message)}";
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            // Reached only once the retries are spent, so the fix is time, not the reference.
            var wait = Resilience.ResilienceHandler.RetryAfter(response, _timeProvider) is { } after ? $" (it asks to wait {after.TotalSeconds:0.#} s)" : string.Empty;
            throw new RegistryException(
                $"{BaseText} is rate-limiting: {operation} was still refused ({detail}) after every retry{wait}; wait and run the job again, or lower RequestsPerSecond for this registry",
                response.StatusCode,
                code);
        }

        var hint = response.StatusCode == HttpStatusCode.Unauthorized ? _credentials.DescribeRefusal(Endpoint) : RegistryErrors.Hint(code, response.StatusCode);
        throw new RegistryException($"{BaseText} refused {operation} ({detail}): {hint}", response.StatusCode, code);
    }

    private static T? FindInner<T>(Exception? ex)
        where T : Exception
    {
        for (var current = ex; current is not null; current = current.InnerException)
        {
            if (current is T match)
            {
                return match;
            }
        }

        return null;
    }

    private Uri Url(string relative) => new(Endpoint.BaseUri, relative);

    private static string Separator(string reference) => reference.Contains(':') ? "@" : ":";

    private static HttpRequestMessage EmptyPost(Uri uri)
    {
        var content = new ByteArrayContent([]);
        content.Headers.ContentLength = 0;
        return new HttpRequestMessage(HttpMethod.Post, uri) { Content = content };
    }

    private static bool TryGetDigestHeader(HttpResponseMessage response, [NotNullWhen(true)] out Digest? digest)
    {
        digest = null;
        return response.Headers.TryGetValues(DockerContentDigest, out var values)
            && Digest.TryParse(values.FirstOrDefault()?.Trim(), out digest, out _);
    }

    private static HttpRequestMessage AcceptIndex(HttpRequestMessage request)
    {
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaTypes.OciIndex));
        return request;
    }
}
