using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;

namespace Orchestrator.Registry;

/// <summary>
/// Answers a registry's <c>WWW-Authenticate</c> challenges (RFC 7235) for one endpoint: <c>Basic</c>
/// with the endpoint's credentials, or <c>Bearer</c> through the token protocol of the distribution
/// project (docs "Token Authentication Specification"), caching each token per scope until it expires.
/// Shared by every client of the same endpoint. Credentials are read from the environment on use and
/// never logged nor put in exceptions.
/// </summary>
internal sealed class RegistryAuthenticator(RegistryEndpoint endpoint, Func<string, string?> environment, TimeProvider timeProvider)
{
    // Tokens without expires_in live 60 s (token spec); renew a little early so a request never races the expiry.
    private static readonly TimeSpan DefaultTokenLifetime = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ExpiryMargin = TimeSpan.FromSeconds(10);

    private readonly Dictionary<string, CachedToken> _tokens = new(StringComparer.Ordinal);
    private readonly Lock _tokensLock = new();
    private readonly SemaphoreSlim _fetchLock = new(1, 1);
    private volatile bool _useBasic;

    /// <summary>Token requests made so far (for tests and diagnostics).</summary>
    internal int TokenFetches { get; private set; }

    /// <summary>Adds the credentials already known for <paramref name="scope"/>, if any.</summary>
    public void Authorize(HttpRequestMessage request, string scope)
    {
        if (_useBasic)
        {
            request.Headers.Authorization = BasicHeader(RequireCredentials());
            return;
        }

        lock (_tokensLock)
        {
            if (_tokens.TryGetValue(scope, out var token) && token.ExpiresAt > timeProvider.GetUtcNow())
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Value);
            }
        }
    }

    /// <summary>
    /// Reads the challenge of a 401 and obtains credentials that answer it. True when the request is
    /// worth sending again; false when there is nothing new to try (no challenge, or basic
    /// credentials that were already refused).
    /// </summary>
    /// <exception cref="RegistryException">Credentials are required but not configured, or the token service refused them.</exception>
    public async Task<bool> AnswerChallengeAsync(HttpResponseMessage response, string scope, HttpClient http, CancellationToken cancellationToken)
    {
        var challenges = response.Headers.WwwAuthenticate;
        var bearer = challenges.FirstOrDefault(c => c.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase));
        if (bearer is not null)
        {
            var parameters = ParseParameters(bearer.Parameter);
            if (!parameters.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
            {
                throw new RegistryException(
                    $"{endpoint.Host} asked for a bearer token without a usable realm ('{bearer.Parameter}'): the registry's auth configuration is broken; fix its token realm",
                    HttpStatusCode.Unauthorized, "UNAUTHORIZED");
            }

            parameters.TryGetValue("service", out var service);
            parameters.TryGetValue("scope", out var challengeScope);
            await FetchTokenAsync(realmUri, service, challengeScope ?? scope, scope, http, cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (challenges.Any(c => c.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase)))
        {
            if (_useBasic)
            {
                return false;
            }

            RequireCredentials();
            _useBasic = true;
            return true;
        }

        return false;
    }

    /// <summary>The message for a 401 that persists after answering the challenge.</summary>
    public string DescribeRefusal() =>
        endpoint.UsernameEnv is null
            ? $"{endpoint.Host} requires credentials: set username-env and password-env for this registry in orchestrator.yaml and export those variables"
            : $"{endpoint.Host} refused the credentials from ${endpoint.UsernameEnv}/${endpoint.PasswordEnv}: check their values and the account's access to the repository";

    private async Task FetchTokenAsync(Uri realm, string? service, string challengeScope, string cacheScope, HttpClient http, CancellationToken cancellationToken)
    {
        await _fetchLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var query = new StringBuilder(realm.Query.Length > 0 ? realm.Query[1..] : string.Empty);
            if (service is not null)
            {
                Append(query, "service", service);
            }

            foreach (var part in challengeScope.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                Append(query, "scope", part);
            }

            var uri = new UriBuilder(realm) { Query = query.ToString() }.Uri;
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            var credentials = TryGetCredentials();
            if (credentials is not null)
            {
                request.Headers.Authorization = BasicHeader(credentials.Value);
            }

            TokenFetches++;
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                throw new RegistryException(
                    $"the token service {realm.GetLeftPart(UriPartial.Path)} of {endpoint.Host} refused {(credentials is null ? "anonymous access" : "the credentials")} for '{challengeScope}': {DescribeRefusal()}",
                    response.StatusCode, "UNAUTHORIZED");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new RegistryException(
                    $"the token service {realm.GetLeftPart(UriPartial.Path)} of {endpoint.Host} answered {(int)response.StatusCode} {response.ReasonPhrase}: check the registry's auth service and retry",
                    response.StatusCode);
            }

            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            var token = ParseToken(body, realm);
            lock (_tokensLock)
            {
                _tokens[cacheScope] = token;
            }
        }
        finally
        {
            _fetchLock.Release();
        }
    }

    private CachedToken ParseToken(byte[] body, Uri realm)
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
                throw new RegistryException($"the token service {realm.GetLeftPart(UriPartial.Path)} of {endpoint.Host} answered without a token: check the registry's auth service");
            }

            var lifetime = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) && seconds > 0
                ? TimeSpan.FromSeconds(seconds)
                : DefaultTokenLifetime;
            var expiresAt = timeProvider.GetUtcNow() + lifetime - (lifetime > ExpiryMargin * 2 ? ExpiryMargin : TimeSpan.Zero);
            return new CachedToken(value, expiresAt);
        }
        catch (JsonException ex)
        {
            throw new RegistryException($"the token service {realm.GetLeftPart(UriPartial.Path)} of {endpoint.Host} answered with invalid JSON ({ex.Message}): check the registry's auth service", innerException: ex);
        }
    }

    private (string User, string Password)? TryGetCredentials()
    {
        if (endpoint.UsernameEnv is null && endpoint.PasswordEnv is null)
        {
            return null;
        }

        var user = endpoint.UsernameEnv is null ? null : environment(endpoint.UsernameEnv);
        var password = endpoint.PasswordEnv is null ? null : environment(endpoint.PasswordEnv);
        if (string.IsNullOrEmpty(user) || string.IsNullOrEmpty(password))
        {
            var missing = string.Join(" and ", new[] { (endpoint.UsernameEnv, user), (endpoint.PasswordEnv, password) }
                .Where(p => string.IsNullOrEmpty(p.Item2)).Select(p => p.Item1 is null ? "(no variable configured)" : "$" + p.Item1));
            throw new RegistryException(
                $"{endpoint.Host} requires credentials but {missing} is not set: export it before running, or fix username-env/password-env for this registry in orchestrator.yaml",
                HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }

        return (user, password);
    }

    private (string User, string Password) RequireCredentials() =>
        TryGetCredentials() ?? throw new RegistryException(DescribeRefusal(), HttpStatusCode.Unauthorized, "UNAUTHORIZED");

    private static AuthenticationHeaderValue BasicHeader((string User, string Password) credentials) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.User}:{credentials.Password}")));

    private static void Append(StringBuilder query, string name, string value)
    {
        if (query.Length > 0)
        {
            query.Append('&');
        }

        query.Append(name).Append('=').Append(Uri.EscapeDataString(value));
    }

    /// <summary>Parses <c>key="value", key2=value2</c> auth-params (RFC 7235 §2.1), honouring quotes and backslash escapes.</summary>
    internal static Dictionary<string, string> ParseParameters(string? parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (string.IsNullOrEmpty(parameter))
        {
            return result;
        }

        var i = 0;
        while (i < parameter.Length)
        {
            while (i < parameter.Length && (parameter[i] == ',' || char.IsWhiteSpace(parameter[i])))
            {
                i++;
            }

            var keyStart = i;
            while (i < parameter.Length && parameter[i] != '=' && parameter[i] != ',')
            {
                i++;
            }

            var key = parameter[keyStart..i].Trim();
            if (i >= parameter.Length || parameter[i] != '=')
            {
                continue;
            }

            i++;
            var value = new StringBuilder();
            if (i < parameter.Length && parameter[i] == '"')
            {
                i++;
                while (i < parameter.Length && parameter[i] != '"')
                {
                    if (parameter[i] == '\\' && i + 1 < parameter.Length)
                    {
                        i++;
                    }

                    value.Append(parameter[i]);
                    i++;
                }

                i++;
            }
            else
            {
                while (i < parameter.Length && parameter[i] != ',')
                {
                    value.Append(parameter[i]);
                    i++;
                }
            }

            if (key.Length > 0)
            {
                result[key] = value.ToString().Trim();
            }
        }

        return result;
    }

    private sealed record CachedToken(string Value, DateTimeOffset ExpiresAt);
}
