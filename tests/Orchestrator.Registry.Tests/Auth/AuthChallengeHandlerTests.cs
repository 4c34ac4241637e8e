using System.Net;
using System.Text;
using System.Web;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Registry.Auth;

namespace Orchestrator.Registry.Tests.Auth;

public sealed class AuthChallengeHandlerTests
{
    private const string Password = "hunter2-secret";
    private static readonly RegistryEndpoint Endpoint = new("reg.test", PlainHttp: true, UsernameEnv: "REG_USER", PasswordEnv: "REG_PASS");
    private static readonly Dictionary<string, string> Environment = new() { ["REG_USER"] = "bob", ["REG_PASS"] = Password };
    private static readonly string BobBasic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"bob:{Password}"));

    private readonly FastTimeProvider _time = new();

    private (HttpMessageInvoker Invoker, AuthChallengeHandler Handler) Chain(FakeHandler inner, IReadOnlyDictionary<string, string>? environment = null)
    {
        var env = environment ?? Environment;
        var handler = new AuthChallengeHandler(Endpoint, new EnvironmentCredentialSource(name => env.GetValueOrDefault(name)), _time, inner);
        return (new HttpMessageInvoker(handler), handler);
    }

    private static HttpRequestMessage Get(string repository, string scope, bool oneShot = false) =>
        new HttpRequestMessage(HttpMethod.Get, $"http://reg.test/v2/{repository}/manifests/1.0").With(scope, oneShot, bufferResponse: true);

    private static HttpResponseMessage Challenge(string scheme, string parameters)
    {
        var response = FakeHandler.Status(HttpStatusCode.Unauthorized, """{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}""");
        response.Headers.WwwAuthenticate.ParseAdd($"{scheme} {parameters}");
        return response;
    }

    // A registry whose token service (auth.test) issues "tok-<scope>-<n>" for 300 s, and that accepts a token only for the repository in its path.
    private static FakeHandler TokenRegistry(string challengeParameters = "realm=\"http://auth.test/token\",service=\"reg.test\"", int expiresIn = 300) =>
        new(TokenAnswers(challengeParameters, expiresIn));

    private static Func<RecordedRequest, HttpResponseMessage> TokenAnswers(string challengeParameters = "realm=\"http://auth.test/token\",service=\"reg.test\"", int expiresIn = 300)
    {
        var issued = 0;
        return r =>
        {
            if (r.Uri.Host == "auth.test")
            {
                var scope = HttpUtility.ParseQueryString(r.Uri.Query)["scope"];
                return FakeHandler.Status(HttpStatusCode.OK, $$"""{"token":"tok-{{scope}}-{{Interlocked.Increment(ref issued)}}","expires_in":{{expiresIn}}}""");
            }

            var path = r.Uri.AbsolutePath;
            var repository = path["/v2/".Length..path.IndexOf("/manifests/", StringComparison.Ordinal)];
            return r.Authorization?.StartsWith($"Bearer tok-repository:{repository}:", StringComparison.Ordinal) == true
                ? FakeHandler.Status(HttpStatusCode.OK, "{}")
                : Challenge("Bearer", challengeParameters);
        };
    }

    [Fact]
    public async Task SendAsync_BasicChallenge_ResendsWithBasicAndSendsItUpFrontAfterwards()
    {
        // Given a registry that wants Basic credentials
        var inner = new FakeHandler(r => r.Authorization == BobBasic ? FakeHandler.Status(HttpStatusCode.OK) : Challenge("Basic", "realm=\"reg\""));
        var (invoker, _) = Chain(inner);

        // When two requests are sent
        using var first = await invoker.SendAsync(Get("app", "repository:app:pull"), CancellationToken.None);
        using var second = await invoker.SendAsync(Get("app", "repository:app:pull"), CancellationToken.None);

        // Then the first was answered after one challenge, the second carried the credentials from the start
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal([null, BobBasic, BobBasic], inner.Requests.Select(r => r.Authorization));
    }

    [Fact]
    public async Task SendAsync_BearerChallenge_FetchesTokenForTheRequestsScopeWithServiceAndCredentials()
    {
        // Given a bearer registry whose challenge names no scope
        var inner = TokenRegistry();
        var (invoker, handler) = Chain(inner);

        // When a push-scoped request is sent
        using var response = await invoker.SendAsync(Get("team/app", "repository:team/app:pull,push"), CancellationToken.None);

        // Then the token was asked of the realm for the request's scope and the challenge's service, with Basic credentials,
        // and the request was sent again with it
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var token = Assert.Single(inner.Requests, r => r.Uri.Host == "auth.test");
        var query = HttpUtility.ParseQueryString(token.Uri.Query);
        Assert.Equal("reg.test", query["service"]);
        Assert.Equal("repository:team/app:pull,push", query["scope"]);
        Assert.Equal(BobBasic, token.Authorization);
        Assert.Equal("Bearer tok-repository:team/app:pull,push-1", inner.Requests[^1].Authorization);
        Assert.Equal(1, handler.TokenFetches);
    }

    [Fact]
    public async Task SendAsync_ChallengeNamesAScope_TokenAskedForThatScope()
    {
        // Given a bearer registry whose challenge names the scope it wants
        var inner = TokenRegistry("realm=\"http://auth.test/token\",service=\"reg.test\",scope=\"repository:app:pull\"");
        var (invoker, _) = Chain(inner);

        // When a request is sent
        using var response = await invoker.SendAsync(Get("app", "repository:app:pull"), CancellationToken.None);

        // Then the token request carries the challenge's scope
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("repository:app:pull", HttpUtility.ParseQueryString(Assert.Single(inner.Requests, r => r.Uri.Host == "auth.test").Uri.Query)["scope"]);
    }

    [Fact]
    public async Task SendAsync_SameScopeBeforeExpiry_TokenReusedThenRenewedAfterExpiresIn()
    {
        // Given a bearer registry issuing tokens for 300 s
        var inner = TokenRegistry();
        var (invoker, handler) = Chain(inner);
        using (await invoker.SendAsync(Get("app", "repository:app:pull"), CancellationToken.None))
        {
        }

        // When the same scope is used again within the lifetime, and once more after it
        _time.Now += TimeSpan.FromSeconds(280);
        using var within = await invoker.SendAsync(Get("app", "repository:app:pull"), CancellationToken.None);
        var fetchesWithin = handler.TokenFetches;
        var requestsWithin = inner.Requests.Count;
        _time.Now += TimeSpan.FromSeconds(30);
        using var after = await invoker.SendAsync(Get("app", "repository:app:pull"), CancellationToken.None);

        // Then within it the cached token went up front (no 401, no fetch); after it a new token was fetched
        Assert.Equal(1, fetchesWithin);
        Assert.Equal(4, requestsWithin);
        Assert.Equal("Bearer tok-repository:app:pull-1", inner.Requests[3].Authorization);
        Assert.Equal(2, handler.TokenFetches);
        Assert.Equal("Bearer tok-repository:app:pull-2", inner.Requests[^1].Authorization);
    }

    [Fact]
    public async Task SendAsync_TwoRepositories_OneTokenPerScope()
    {
        // Given a bearer registry whose tokens are valid for one repository only
        var inner = TokenRegistry();
        var (invoker, handler) = Chain(inner);

        // When each repository is read twice, interleaved
        foreach (var repository in new[] { "a", "b", "a", "b" })
        {
            using var response = await invoker.SendAsync(Get(repository, $"repository:{repository}:pull"), CancellationToken.None);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Then one token was fetched per scope, each for its repository, and reused for it
        Assert.Equal(2, handler.TokenFetches);
        Assert.Equal(
            ["repository:a:pull", "repository:b:pull"],
            inner.Requests.Where(r => r.Uri.Host == "auth.test").Select(r => HttpUtility.ParseQueryString(r.Uri.Query)["scope"]));
    }

    [Fact]
    public async Task SendAsync_ParallelRequestsBasicChallengedTogether_BothResentWithCredentials()
    {
        // Given a Basic registry (as the htpasswd registry over TLS) that holds both unauthenticated requests until both
        // have arrived, so both get a 401 before either has answered its challenge
        using var bothChallenged = new CountdownEvent(2);
        var gated = new FakeHandler(r =>
        {
            if (r.Authorization == BobBasic)
            {
                return FakeHandler.Status(HttpStatusCode.OK);
            }

            bothChallenged.Signal();
            bothChallenged.Wait(TimeSpan.FromSeconds(30));
            return Challenge("Basic", "realm=\"reg\"");
        });
        var (invoker, _) = Chain(gated);

        // When two requests are sent at once
        var responses = await Task.WhenAll(
            Task.Run(() => invoker.SendAsync(Get("app", "repository:app:pull"), CancellationToken.None)),
            Task.Run(() => invoker.SendAsync(Get("app", "repository:app:pull"), CancellationToken.None)));

        // Then both are sent again with the credentials and succeed: the second challenge is not taken for a refusal
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(2, gated.Requests.Count(r => r.Authorization == BobBasic));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task SendAsync_ParallelRequestsChallengedTogether_OneTokenFetch()
    {
        // Given a bearer registry that holds both unauthenticated requests until both have arrived, so both get a 401
        var answer = TokenAnswers();
        using var bothChallenged = new CountdownEvent(2);
        var gated = new FakeHandler(r =>
        {
            if (r.Uri.Host == "reg.test" && r.Authorization is null)
            {
                bothChallenged.Signal();
                bothChallenged.Wait(TimeSpan.FromSeconds(30));
            }

            return answer(r);
        });
        var (invoker, handler) = Chain(gated);

        // When two requests of one scope are sent at once
        var responses = await Task.WhenAll(
            Task.Run(() => invoker.SendAsync(Get("app", "repository:app:pull"), CancellationToken.None)),
            Task.Run(() => invoker.SendAsync(Get("app", "repository:app:pull"), CancellationToken.None)));

        // Then both succeed on a single token: the second challenge used the token the first fetched
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, handler.TokenFetches);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task SendAsync_TokenServiceRefuses_RegistryExceptionNamingVariablesNeverTheSecret()
    {
        // Given a token service refusing the credentials
        var inner = new FakeHandler(r => r.Uri.Host == "auth.test"
            ? FakeHandler.Status(HttpStatusCode.Unauthorized)
            : Challenge("Bearer", "realm=\"http://auth.test/token\",service=\"reg.test\""));
        var (invoker, _) = Chain(inner);

        // When a request is sent
        var error = await Assert.ThrowsAsync<RegistryException>(() => invoker.SendAsync(Get("app", "repository:app:pull"), CancellationToken.None));

        // Then the error is a 401 that names where the credentials come from, and no secret
        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
        Assert.Contains("$REG_USER", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(BobBasic["Basic ".Length..], error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_TokenAnswerIsNotJson_ErrorDoesNotQuoteTheBody()
    {
        // Given a token service answering a body that is not JSON but holds a secret-looking value
        var inner = new FakeHandler(r => r.Uri.Host == "auth.test"
            ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("token=s3cr3t-token-value") }
            : Challenge("Bearer", "realm=\"http://auth.test/token\""));
        var (invoker, _) = Chain(inner);

        // When a request is sent
        var error = await Assert.ThrowsAsync<RegistryException>(() => invoker.SendAsync(Get("app", "repository:app:pull"), CancellationToken.None));

        // Then the message says what is wrong without repeating the body
        Assert.Contains("not JSON", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_OneShotRequest_401ReturnedWithoutResending()
    {
        // Given a Basic registry and a request whose body cannot be sent twice
        var inner = new FakeHandler(_ => Challenge("Basic", "realm=\"reg\""));
        var (invoker, _) = Chain(inner);

        // When it is sent
        using var response = await invoker.SendAsync(Get("app", "repository:app:pull,push", oneShot: true), CancellationToken.None);

        // Then the 401 comes back as it is, after a single request
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Single(inner.Requests);
    }

    [Fact]
    public async Task SendAsync_BasicChallengeWithoutConfiguredCredentials_ErrorSaysWhatToConfigure()
    {
        // Given a Basic registry and an endpoint whose variables are not set
        var inner = new FakeHandler(_ => Challenge("Basic", "realm=\"reg\""));
        var (invoker, _) = Chain(inner, new Dictionary<string, string>());

        // When a request is sent
        var error = await Assert.ThrowsAsync<RegistryException>(() => invoker.SendAsync(Get("app", "repository:app:pull"), CancellationToken.None));

        // Then it names the unset variables
        Assert.Contains("$REG_USER and $REG_PASS is not set", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RegistryCredential_ToString_HidesTheSecret()
    {
        // Given a credential
        var credential = new RegistryCredential("bob", Password);

        // When it is formatted (as a log line or interpolation would)
        var text = $"{credential}";

        // Then the username shows and the secret does not
        Assert.Contains("bob", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, text, StringComparison.Ordinal);
    }
}
