using System.Net;
using System.Net.Http.Headers;
using System.Text;
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
/// cached per scope until <c>issued_at</c> + <c>expires_in</c> (60 s when absent) minus a margin, and sent up front
/// on later requests of the same scope. When an OAuth2 refresh token is held (an identity token from docker's
/// config.json or a credential helper, or a <c>refresh_token</c> the service returned earlier), the token is got
/// instead with <c>POST realm</c>, form <c>grant_type=refresh_token&amp;refresh_token=…&amp;service=…&amp;scope=…&amp;client_id=orchestrator</c>
/// (distribution "OAuth2 Token Authentication"), as docker does; Basic credentials keep the GET.</item>
/// </list>
/// Three refusals read differently: no credentials (<see cref="IRegistryCredentialSource.DescribeRefusal"/>), the token
/// service refusing the credentials (a wrong password), and the registry refusing a token just issued
/// (<c>error="invalid_token"</c>: an expired or badly signed token, a token service's clock or keys).
/// A request is sent again after a challenge only when its body can be (<see cref="RegistryRequest.OneShot"/>
/// false). Neither a credential nor a token ever reaches a log line or an exception message.
/// </summary>
internal sealed class AuthChallengeHandler : DelegatingHandler
{
    private const int MaxTokenResponseBytes = 1024 * 1024;
    private const string ClientId = "orchestrator";

    private readonly RegistryEndpoint _endpoint;
    private readonly IRegistryCredentialSource _credentials;
    private readonly TimeProvider _timeProvider;
    private readonly Dictionary<string, TokenResponse> _tokens = new(StringComparer.Ordinal);
    // Refresh tokens the token services returned, per realm and service (docker keeps them the same way, in memory).
    private readonly Dictionary<string, string> _refreshTokens = new(StringComparer.Ordinal);
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
        var fresh = await AuthorizeAsync(request, scope, cancellationToken).ConfigureAwait(false);
        var again = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (fresh is not null && again.StatusCode == HttpStatusCode.Unauthorized && RefusesToken(again) is { } realm)
        {
            again.Dispose();
            throw new RegistryException(
                $"{_endpoint.Host} refused the token from {realm}: expired or invalid (error=\"invalid_token\" for a token just issued) — check the token server's clock/keys and the registry's trust in them (its rootcertbundle)",
                HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }

        return again;
    }

    // The realm of a bearer challenge that says the token sent was invalid (RFC 6750 section 3.1, error="invalid_token"); null otherwise.
    private static string? RefusesToken(HttpResponseMessage response)
    {
        var bearer = response.Headers.WwwAuthenticate.FirstOrDefault(c => c.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase));
        if (bearer is null)
        {
            return null;
        }

        var parameters = AuthParameters.Parse(bearer.Parameter);
        return parameters.TryGetValue("error", out var error) && error == "invalid_token"
            ? parameters.GetValueOrDefault("realm", "its token service")
            : null;
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
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
                return token.Token;
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
                if (_tokens.TryGetValue(cacheScope, out var cached) && cached.Token != rejectedToken && cached.ExpiresAt > _timeProvider.GetUtcNow())
                {
                    return true;
                }
            }

            var credentials = await _credentials.GetAsync(_endpoint, cancellationToken).ConfigureAwait(false);
            var tokenService = $"the token service {realm.GetLeftPart(UriPartial.Path)} of {_endpoint.Host}";
            var refreshKey = realm.GetLeftPart(UriPartial.Path) + " " + service;
            string? stored;
            lock (_tokensLock)
            {
                stored = _refreshTokens.GetValueOrDefault(refreshKey);
            }

            var refreshToken = stored ?? (credentials is { IsIdentityToken: true } ? credentials.Secret : null);
            using var request = refreshToken is null
                ? TokenGet(realm, service, challengeScope, credentials)
                : TokenPost(realm, service, challengeScope, refreshToken);
            Interlocked.Increment(ref _tokenFetches);
            using var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
                || (refreshToken is not null && response.StatusCode == HttpStatusCode.BadRequest))
            {
                if (stored is not null)
                {
                    // A refresh token the service gave and now refuses (revoked, expired): forget it, so the next try starts from the credential.
                    lock (_tokensLock)
                    {
                        _refreshTokens.Remove(refreshKey);
                    }
                }

                var what = refreshToken is not null ? (stored is not null ? "the refresh token it issued earlier" : "the identity token")
                    : credentials is null ? "anonymous access" : "the credentials";
                throw new RegistryException(
                    $"{tokenService} refused {what} for '{challengeScope}': {DescribeRefusal()}",
                    response.StatusCode, "UNAUTHORIZED");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new RegistryException($"{tokenService} answered {(int)response.StatusCode} {response.ReasonPhrase}: check the registry's auth service and retry", response.StatusCode);
            }

            var body = await ResponseBodies.ReadLimitedAsync(response, MaxTokenResponseBytes, cancellationToken).ConfigureAwait(false)
                ?? throw new RegistryException($"{tokenService} answered more than {MaxTokenResponseBytes} bytes: check the registry's auth service", response.StatusCode);
            var token = TokenResponse.Parse(body, tokenService, _timeProvider.GetUtcNow());
            lock (_tokensLock)
            {
                _tokens[cacheScope] = token;
                if (token.RefreshToken is not null)
                {
                    _refreshTokens[refreshKey] = token.RefreshToken;
                }
            }

            return true;
        }
        finally
        {
            _fetchLock.Release();
        }
    }

    private async ValueTask<RegistryCredential> RequireCredentialsAsync(CancellationToken cancellationToken) =>
        await _credentials.GetAsync(_endpoint, cancellationToken).ConfigureAwait(false)
            ?? throw new RegistryException(DescribeRefusal(), HttpStatusCode.Unauthorized, "UNAUTHORIZED");

    private static AuthenticationHeaderValue BasicHeader(RegistryCredential credentials) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.Username}:{credentials.Secret}")));

    // Token spec "Requesting a Token": GET realm?service=…&scope=… (one scope parameter per scope), Basic when there are credentials.
    private static HttpRequestMessage TokenGet(Uri realm, string? service, string scope, RegistryCredential? credentials)
    {
        var query = new StringBuilder(realm.Query.Length > 0 ? realm.Query[1..] : string.Empty);
        if (service is not null)
        {
            Append(query, "service", service);
        }

        foreach (var part in scope.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            Append(query, "scope", part);
        }

        var request = new HttpRequestMessage(HttpMethod.Get, new UriBuilder(realm) { Query = query.ToString() }.Uri);
        if (credentials is { IsIdentityToken: false })
        {
            request.Headers.Authorization = BasicHeader(credentials);
        }

        return request;
    }

    // OAuth2 token spec "Refresh token format": POST realm, form grant_type=refresh_token, service, scope (space-separated), client_id.
    private static HttpRequestMessage TokenPost(Uri realm, string? service, string scope, string refreshToken)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "refresh_token"),
            new("refresh_token", refreshToken),
            new("client_id", ClientId),
        };
        if (service is not null)
        {
            form.Add(new("service", service));
        }

        if (scope.Length > 0)
        {
            form.Add(new("scope", scope));
        }

        return new HttpRequestMessage(HttpMethod.Post, realm) { Content = new FormUrlEncodedContent(form) };
    }

    private static void Append(StringBuilder query, string name, string value)
    {
        if (query.Length > 0)
        {
            query.Append('&');
        }

        query.Append(name).Append('=').Append(Uri.EscapeDataString(value));
    }
}
