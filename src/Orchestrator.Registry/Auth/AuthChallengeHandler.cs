using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;

namespace Orchestrator.Registry.Auth;

/// <summary>
/// The handler that answers a registry's <c>401</c> challenges (RFC 7235, <c>WWW-Authenticate</c>) for one
/// <see cref="RegistryEndpoint"/>, as go-containerregistry's <c>transport/bearer.go</c> and <c>basic.go</c> do:
/// <list type="bullet">
/// <item><c>Basic</c>: the credentials of <see cref="IRegistryCredentialSource"/>, sent on every later request.</item>
/// <item><c>Bearer</c>: a token from the challenge's <c>realm</c> (distribution "Token Authentication
/// Specification": <c>GET realm?service=…&amp;scope=…</c>, Basic credentials when there are any, anonymous
/// otherwise), for the request's scope (<see cref="RegistryRequest.Scope"/>, <c>repository:NAME:pull,push</c>),
/// cached per scope until its <c>expires_in</c> (60 s when absent) minus a margin, and sent up front on later
/// requests of the same scope.</item>
/// </list>
/// A request is sent again after a challenge only when its body can be (<see cref="RegistryRequest.OneShot"/>
/// false). Neither a credential nor a token ever reaches a log line or an exception message.
/// </summary>
internal sealed class AuthChallengeHandler : DelegatingHandler
{
    // Tokens without expires_in live 60 s (token spec); renew a little early so a request never races the expiry.
    private static readonly TimeSpan DefaultTokenLifetime = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ExpiryMargin = TimeSpan.FromSeconds(10);
    private const int MaxTokenResponseBytes = 1024 * 1024;

    private readonly RegistryEndpoint _endpoint;
    private readonly IRegistryCredentialSource _credentials;
    private readonly TimeProvider _timeProvider;
    private readonly Dictionary<string, CachedToken> _tokens = new(StringComparer.Ordinal);
    private readonly Lock _tokensLock = new();
    private readonly SemaphoreSlim _fetchLock = new(1, 1);
    private volatile bool _useBasic;
    private int _tokenFetches;

    /// <param name="endpoint">The registry (and its credential settings) this handler authenticates to.</param>
    /// <param name="credentials">Where the username and secret come from.</param>
    /// <param name="timeProvider">The clock token expiry runs on.</param>
    /// <param name="innerHandler">The next handler (the socket handler); token requests go through it too.</param>
    public AuthChallengeHandler(RegistryEndpoint endpoint, IRegistryCredentialSource credentials, TimeProvider timeProvider, HttpMessageHandler innerHandler)
        : base(innerHandler)
    {
        _endpoint = endpoint;
        _credentials = credentials;
        _timeProvider = timeProvider;
    }

    /// <summary>Token requests made so far (for tests and diagnostics).</summary>
    public int TokenFetches => Volatile.Read(ref _tokenFetches);

    /// <summary>What to check when a 401 persists after the challenge was answered.</summary>
    public string DescribeRefusal() => _credentials.DescribeRefusal(_endpoint);

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var scope = request.Get(RegistryRequest.Scope, string.Empty);
        var sent = await AuthorizeAsync(request, scope, cancellationToken).ConfigureAwait(false);
        var sentBasic = request.Headers.Authorization?.Scheme == "Basic";
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized || request.Get(RegistryRequest.OneShot, false))
        {
            // A spent body cannot be sent again; the upload's POST already answered the challenge, so a 401 here is a refusal.
            return response;
        }

        try
        {
            if (!await AnswerChallengeAsync(response, scope, sent, sentBasic, cancellationToken).ConfigureAwait(false))
            {
                return response;
            }
        }
        catch
        {
            response.Dispose();
            throw;
        }

        response.Dispose();
        await AuthorizeAsync(request, scope, cancellationToken).ConfigureAwait(false);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    // Sets (or clears) Authorization from what is known for the scope; returns the bearer token sent, if any.
    private async ValueTask<string?> AuthorizeAsync(HttpRequestMessage request, string scope, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = null;
        if (_useBasic)
        {
            request.Headers.Authorization = BasicHeader(await RequireCredentialsAsync(cancellationToken).ConfigureAwait(false));
            return null;
        }

        lock (_tokensLock)
        {
            if (_tokens.TryGetValue(scope, out var token) && token.ExpiresAt > _timeProvider.GetUtcNow())
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Value);
                return token.Value;
            }
        }

        return null;
    }

    // True when the request is worth sending again; false when there is nothing new to try.
    private async Task<bool> AnswerChallengeAsync(HttpResponseMessage response, string scope, string? rejectedToken, bool sentBasic, CancellationToken cancellationToken)
    {
        var challenges = response.Headers.WwwAuthenticate;
        var bearer = challenges.FirstOrDefault(c => c.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase));
        if (bearer is not null)
        {
            var parameters = AuthParameters.Parse(bearer.Parameter);
            if (!parameters.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
            {
                throw new RegistryException(
                    $"{_endpoint.Host} asked for a bearer token without a usable realm ('{bearer.Parameter}'): the registry's auth configuration is broken; fix its token realm",
                    HttpStatusCode.Unauthorized, "UNAUTHORIZED");
            }

            parameters.TryGetValue("service", out var service);
            parameters.TryGetValue("scope", out var challengeScope);
            return await FetchTokenAsync(realmUri, service, challengeScope ?? scope, scope, rejectedToken, cancellationToken).ConfigureAwait(false);
        }

        if (challenges.Any(c => c.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase)))
        {
            // Parallel first requests all get the challenge; only one that already carried the credentials is refused.
            if (sentBasic)
            {
                return false;
            }

            await RequireCredentialsAsync(cancellationToken).ConfigureAwait(false);
            _useBasic = true;
            return true;
        }

        return false;
    }

    private async Task<bool> FetchTokenAsync(Uri realm, string? service, string challengeScope, string cacheScope, string? rejectedToken, CancellationToken cancellationToken)
    {
        await _fetchLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Parallel requests of one scope all get the 401; the first to get here fetches, the rest use its token.
            lock (_tokensLock)
            {
                if (_tokens.TryGetValue(cacheScope, out var cached) && cached.Value != rejectedToken && cached.ExpiresAt > _timeProvider.GetUtcNow())
                {
                    return true;
                }
            }

            var query = new StringBuilder(realm.Query.Length > 0 ? realm.Query[1..] : string.Empty);
            if (service is not null)
            {
                Append(query, "service", service);
            }

            foreach (var part in challengeScope.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                Append(query, "scope", part);
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, new UriBuilder(realm) { Query = query.ToString() }.Uri);
            var credentials = await _credentials.GetAsync(_endpoint, cancellationToken).ConfigureAwait(false);
            if (credentials is not null)
            {
                request.Headers.Authorization = BasicHeader(credentials);
            }

            Interlocked.Increment(ref _tokenFetches);
            using var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var tokenService = $"the token service {realm.GetLeftPart(UriPartial.Path)} of {_endpoint.Host}";
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                throw new RegistryException(
                    $"{tokenService} refused {(credentials is null ? "anonymous access" : "the credentials")} for '{challengeScope}': {DescribeRefusal()}",
                    response.StatusCode, "UNAUTHORIZED");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new RegistryException($"{tokenService} answered {(int)response.StatusCode} {response.ReasonPhrase}: check the registry's auth service and retry", response.StatusCode);
            }

            var body = await ResponseBodies.ReadLimitedAsync(response, MaxTokenResponseBytes, cancellationToken).ConfigureAwait(false)
                ?? throw new RegistryException($"{tokenService} answered more than {MaxTokenResponseBytes} bytes: check the registry's auth service", response.StatusCode);
            var token = ParseToken(body, tokenService);
            lock (_tokensLock)
            {
                _tokens[cacheScope] = token;
            }

            return true;
        }
        finally
        {
            _fetchLock.Release();
        }
    }

    // The token response (token spec "Token Response Fields"): token or access_token, expires_in in seconds.
    private CachedToken ParseToken(byte[] body, string service)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            var value = root.TryGetProperty("token", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()
                : root.TryGetProperty("access_token", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()
                : null;
            if (string.IsNullOrEmpty(value))
            {
                throw new RegistryException($"{service} answered without a token: check the registry's auth service");
            }

            var lifetime = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) && seconds > 0
                ? TimeSpan.FromSeconds(seconds)
                : DefaultTokenLifetime;
            var expiresAt = _timeProvider.GetUtcNow() + lifetime - (lifetime > ExpiryMargin * 2 ? ExpiryMargin : TimeSpan.Zero);
            return new CachedToken(value, expiresAt);
        }
        catch (JsonException)
        {
            // The parser's message may quote the body, and the body may hold a token: say only that it is not JSON.
            throw new RegistryException($"{service} answered with something that is not JSON: check the registry's auth service");
        }
    }

    private async ValueTask<RegistryCredential> RequireCredentialsAsync(CancellationToken cancellationToken) =>
        await _credentials.GetAsync(_endpoint, cancellationToken).ConfigureAwait(false)
            ?? throw new RegistryException(DescribeRefusal(), HttpStatusCode.Unauthorized, "UNAUTHORIZED");

    private static AuthenticationHeaderValue BasicHeader(RegistryCredential credentials) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.Username}:{credentials.Secret}")));

    private static void Append(StringBuilder query, string name, string value)
    {
        if (query.Length > 0)
        {
            query.Append('&');
        }

        query.Append(name).Append('=').Append(Uri.EscapeDataString(value));
    }

    private sealed record CachedToken(string Value, DateTimeOffset ExpiresAt)
    {
        public override string ToString() => $"token until {ExpiresAt:O}";
    }
}
