using System.Net;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Api;

public sealed class AuthTests : IAsyncLifetime
{
    private readonly DaemonHarness _daemon = new();

    public Task InitializeAsync() => _daemon.StartAsync();

    public Task DisposeAsync() => _daemon.DisposeAsync().AsTask();

    [Fact]
    public async Task Get_NoToken_Returns401WithJsonErrorAndChallenge()
    {
        // Given a running daemon
        // When /api/jobs is read without a token
        var response = await _daemon.SendAsync(HttpMethod.Get, "/api/jobs", secret: null);

        // Then it is refused with 401, a Bearer challenge and a JSON error body
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        var error = (await DaemonHarness.JsonAsync(response)).GetProperty("error");
        Assert.Equal(401, error.GetProperty("status").GetInt32());
        Assert.Contains("Authorization: Bearer", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Post_WrongToken_Returns401WithoutEchoingTheSecret()
    {
        // Given a secret no token has
        const string wrong = "not-a-configured-secret-4242";

        // When a job is submitted with it
        var response = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", wrong, new { kind = "build", pipeline = "hello" });

        // Then it is 401, nothing is queued, and neither the body nor the logs repeat the secret
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("unknown token", body);
        Assert.DoesNotContain(wrong, body);
        Assert.Empty(await _daemon.Jobs.ListAsync(new()));
        Assert.DoesNotContain(wrong, _daemon.Logs.All);
    }

    [Fact]
    public async Task Get_TokenWhoseVariableIsUnset_IsDisabledAndNamedInAWarning()
    {
        // Given token 'unset' whose T_UNSET variable is not set
        // When the daemon started
        // Then the warning names the variable, and an empty bearer is not accepted as its secret
        Assert.Contains(_daemon.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("T_UNSET") && l.Contains("unset"));
        var response = await _daemon.SendAsync(HttpMethod.Get, "/api/jobs", secret: string.Empty);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Post_CiTokenPromotingToProduction_Returns403NamingTheRole()
    {
        // Given the ci token, which may promote to staging only
        // When it asks to promote to production
        var response = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.CiSecret,
            new { kind = "promote", pipeline = "hello", digest = DaemonHarness.DigestOf('b').ToString(), stage = "production" });

        // Then it is 403 naming the missing role, without the secret, and nothing is queued
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        var error = (await DaemonHarness.JsonAsync(response)).GetProperty("error");
        Assert.Equal(403, error.GetProperty("status").GetInt32());
        Assert.Contains("'promote:production'", error.GetProperty("message").GetString());
        Assert.Contains("'ci'", error.GetProperty("message").GetString());
        Assert.DoesNotContain(DaemonHarness.CiSecret, body);
        Assert.Empty(await _daemon.Jobs.ListAsync(new()));
    }

    [Fact]
    public async Task Get_TokenWithoutRead_Returns403()
    {
        // Given the builder token, which may build but not read
        // When it lists jobs
        var response = await _daemon.SendAsync(HttpMethod.Get, "/api/jobs", DaemonHarness.BuilderSecret);

        // Then it is 403 naming 'read'
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("'read'", (await DaemonHarness.JsonAsync(response)).GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Post_RunWithCiToken_Returns403ListingEveryMissingPromotionRole()
    {
        // Given ci lacks promote:production, which a run needs
        // When it submits a run
        var response = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.CiSecret, new { kind = "run", pipeline = "hello" });

        // Then it is refused
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("promote:production", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HealthAndMetrics_NoToken_AreServed()
    {
        // Given no token
        // When the open endpoints are read
        var health = await _daemon.SendAsync(HttpMethod.Get, "/healthz", secret: null);
        var metrics = await _daemon.SendAsync(HttpMethod.Get, "/metrics", secret: null);

        // Then both answer 200
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
    }

    [Fact]
    public async Task Requests_WithToken_AreLoggedWithoutTheAuthorizationHeader()
    {
        // Given a request carrying the admin secret
        await _daemon.SendAsync(HttpMethod.Get, "/api/jobs?limit=5", DaemonHarness.AdminSecret);

        // Then the request log has method, path and status, and never the secret
        Assert.Contains(_daemon.Logs.Lines, l => l.Contains("HTTP GET /api/jobs responded 200"));
        Assert.DoesNotContain(DaemonHarness.AdminSecret, _daemon.Logs.All);
    }
}
