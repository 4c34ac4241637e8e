using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Daemon.Api;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Api;

public sealed class HealthMetricsPipelineTests : IAsyncDisposable
{
    private readonly DaemonHarness _daemon = new();

    public ValueTask DisposeAsync() => _daemon.DisposeAsync();

    [Fact]
    public async Task Healthz_EverythingAnswers_Returns200()
    {
        // Given the engine and both registries answer
        await _daemon.StartAsync();

        // When health is checked
        var response = await _daemon.SendAsync(HttpMethod.Get, "/healthz", secret: null);

        // Then it is ok with each part listed
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await DaemonHarness.JsonAsync(response);
        Assert.Equal("ok", json.GetProperty("status").GetString());
        Assert.Equal("20.10.24", json.GetProperty("engine").GetProperty("version").GetString());
        Assert.Equal("ok", json.GetProperty("registries").GetProperty("staging").GetString());
        Assert.Equal("ok", json.GetProperty("registries").GetProperty("production").GetString());
    }

    [Fact]
    public async Task Healthz_ProductionRegistryDown_Returns503NamingIt()
    {
        // Given production's registry does not answer
        _daemon.Registries.For(DaemonHarness.ProductionHost).Up = false;
        await _daemon.StartAsync();

        // When health is checked
        var response = await _daemon.SendAsync(HttpMethod.Get, "/healthz", secret: null);

        // Then it is 503: staging and the engine ok, production with its error
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var json = await DaemonHarness.JsonAsync(response);
        Assert.Equal("unhealthy", json.GetProperty("status").GetString());
        Assert.Equal("ok", json.GetProperty("registries").GetProperty("staging").GetString());
        Assert.StartsWith("error:", json.GetProperty("registries").GetProperty("production").GetString());
        Assert.Contains("connection refused", json.GetProperty("registries").GetProperty("production").GetString());
        Assert.Equal("ok", json.GetProperty("engine").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Healthz_EngineDown_Returns503()
    {
        _daemon.Engine.Up = false;
        await _daemon.StartAsync();
        var response = await _daemon.SendAsync(HttpMethod.Get, "/healthz", secret: null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("error", (await DaemonHarness.JsonAsync(response)).GetProperty("engine").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Metrics_AfterJobs_CountsByKindOutcomeAndState()
    {
        // Given two succeeded builds, one failed validate, and two promotions recorded
        _daemon.Runner.Block = true;
        await _daemon.StartAsync();
        var build1 = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        var build2 = await _daemon.SubmitAsync(new { kind = "build", pipeline = "other" });
        await _daemon.Runner.WaitStartedAsync(build1.Id);
        await _daemon.Runner.WaitStartedAsync(build2.Id);
        _daemon.Runner.Release(build1);
        _daemon.Runner.Release(build2);
        var validate = await _daemon.SubmitAsync(new { kind = "validate", pipeline = "hello", digest = DaemonHarness.DigestOf('f').ToString() });
        await _daemon.Runner.WaitStartedAsync(validate.Id);
        _daemon.Runner.Release(validate, new JobOutcome(JobState.Failed, 1, "2 of 3 tests failed", null));
        await _daemon.WaitForJobAsync(validate.Id, j => j.IsFinal, "finished");
        await _daemon.WaitForJobAsync(build2.Id, j => j.IsFinal, "finished");
        var queued = await _daemon.SubmitAsync(new { kind = "promote", pipeline = "hello", digest = DaemonHarness.DigestOf('f').ToString() });
        await _daemon.Runner.WaitStartedAsync(queued.Id);
        _daemon.State.Promotions.Add(Promotion(1000, 2));
        _daemon.State.Promotions.Add(Promotion(234, 3));

        // When metrics are scraped
        var response = await _daemon.SendAsync(HttpMethod.Get, "/metrics", secret: null);
        var text = await response.Content.ReadAsStringAsync();

        // Then the exposition parses and holds the counts
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("version=0.0.4", response.Content.Headers.ContentType?.ToString());
        var samples = Parse(text);
        Assert.Equal(2, samples["orchestrator_jobs_total{kind=\"build\",outcome=\"succeeded\"}"]);
        Assert.Equal(1, samples["orchestrator_jobs_total{kind=\"validate\",outcome=\"failed\"}"]);
        Assert.Equal(0, samples["orchestrator_jobs_total{kind=\"run\",outcome=\"cancelled\"}"]);
        Assert.Equal(1, samples["orchestrator_jobs{state=\"running\"}"]);
        Assert.Equal(0, samples["orchestrator_jobs{state=\"queued\"}"]);
        Assert.Equal(2, samples["orchestrator_job_duration_seconds_count{kind=\"build\"}"]);
        Assert.True(samples["orchestrator_job_duration_seconds_sum{kind=\"build\"}"] >= 0);
        Assert.Equal(1234, samples["orchestrator_promotion_bytes_copied_total"]);
        Assert.Equal(5, samples["orchestrator_promotion_blobs_skipped_total"]);
        Assert.Contains("# TYPE orchestrator_jobs_total counter", text);
        Assert.Contains("# TYPE orchestrator_jobs gauge", text);
        Assert.Contains("# HELP orchestrator_promotion_bytes_copied_total ", text);
        _daemon.Runner.Release(queued);
    }

    [Fact]
    public async Task Pipelines_Status_CarriesEveryPipelineWithStaleAndChanged()
    {
        // Given status from the queries for hello only, other marked changed since its build, and hello's lock stale
        _daemon.Releases = new StubReleases();
        await _daemon.StartAsync();
        var tracker = _daemon.App.Services.GetService<Orchestrator.Daemon.Workers.StaleTracker>()!;
        tracker.Mark("other", "other.yaml changed", DateTimeOffset.UnixEpoch);
        tracker.SetLock("hello", "the lock of hello is stale (x): run 'orchestrator lock hello' and commit the new lock", DateTimeOffset.UnixEpoch);

        // When pipelines are listed
        var json = await DaemonHarness.JsonAsync(await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines", DaemonHarness.CiSecret));

        // Then hello keeps its stages and is stale by its lock, not changed; other is changed with its reason, not stale
        var pipelines = json.GetProperty("pipelines").EnumerateArray().ToDictionary(p => p.GetProperty("pipeline").GetString()!);
        Assert.Equal("sha256:" + new string('1', 64), pipelines["hello"].GetProperty("stages")[0].GetProperty("digest").GetString());
        Assert.True(pipelines["hello"].GetProperty("stale").GetBoolean());
        Assert.StartsWith("the lock of hello is stale", pipelines["hello"].GetProperty("staleReason").GetString(), StringComparison.Ordinal);
        Assert.False(pipelines["hello"].GetProperty("changed").GetBoolean());
        Assert.False(pipelines["other"].GetProperty("stale").GetBoolean());
        Assert.True(pipelines["other"].GetProperty("changed").GetBoolean());
        Assert.Equal("other.yaml changed", pipelines["other"].GetProperty("changedReason").GetString());
    }

    [Fact]
    public async Task Releases_WithWorkflowAndNothingReleased_Returns404AndBadFormat400()
    {
        // Given the real release queries over an empty state
        await _daemon.StartAsync();

        // When a release is asked for
        var nothing = await _daemon.SendAsync(HttpMethod.Get, "/api/releases/hello/production?format=yaml", DaemonHarness.ReleaseSecret);
        var badFormat = await _daemon.SendAsync(HttpMethod.Get, "/api/releases/hello/production?format=xml", DaemonHarness.ReleaseSecret);
        var unknownStage = await _daemon.SendAsync(HttpMethod.Get, "/api/releases/hello/qa", DaemonHarness.ReleaseSecret);
        var history = await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines/hello/history", DaemonHarness.ReleaseSecret);
        var unknownHistory = await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines/nope/history", DaemonHarness.ReleaseSecret);

        // Then: 404 saying nothing reached production, 400 for the format, 404 for the stage, history empty
        Assert.Equal(HttpStatusCode.NotFound, nothing.StatusCode);
        Assert.Contains("nothing of hello has reached production", await nothing.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, badFormat.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownStage.StatusCode);
        Assert.Equal(HttpStatusCode.OK, history.StatusCode);
        Assert.Equal(0, (await DaemonHarness.JsonAsync(history)).GetProperty("history").GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, unknownHistory.StatusCode);
    }

    [Fact]
    public async Task Releases_Formats_AreServedAsTextWithTheirContentType()
    {
        // Given release queries that answer
        _daemon.Releases = new StubReleases();
        await _daemon.StartAsync();

        // When the env format is asked for
        var response = await _daemon.SendAsync(HttpMethod.Get, "/api/releases/hello/production?format=env", DaemonHarness.ReleaseSecret);

        // Then the text comes with its content type
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("HELLO_IMAGE=x\n", await response.Content.ReadAsStringAsync());
    }

    private static PromotionRecord Promotion(long bytes, int skipped) => new(
        0, "hello", "staging", "production",
        ImageReference.Parse($"{DaemonHarness.StagingHost}/apps/hello@{DaemonHarness.DigestOf('f')}"),
        ImageReference.Parse($"{DaemonHarness.ProductionHost}/apps/hello@{DaemonHarness.DigestOf('f')}"),
        ["1.0.0"], 1, "release", DateTimeOffset.UnixEpoch, bytes, 1, skipped);

    private static Dictionary<string, double> Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                Assert.Matches(@"^# (HELP|TYPE) orchestrator_[a-z_]+ .+$", line);
                continue;
            }

            var space = line.LastIndexOf(' ');
            Assert.Matches(@"^orchestrator_[a-z_]+(\{[a-z]+=""[a-z]+""(,[a-z]+=""[a-z]+"")*\})?$", line[..space]);
            samples.Add(line[..space], double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture));
        }

        return samples;
    }

    private sealed class StubReleases : IReleaseQueries
    {
        public Task<JsonNode?> GetStatusAsync(string? pipeline, CancellationToken cancellationToken = default) =>
            Task.FromResult(JsonNode.Parse($$"""{"pipelines":[{"pipeline":"hello","stages":[{"stage":"staging","digest":"sha256:{{new string('1', 64)}}"}]}]}"""));

        public Task<JsonNode?> GetHistoryAsync(string pipeline, int limit, CancellationToken cancellationToken = default) =>
            Task.FromResult<JsonNode?>(new JsonObject { ["pipeline"] = pipeline, ["history"] = new JsonArray() });

        public Task<(string Content, string ContentType)> GetReleaseAsync(string pipeline, string stage, string format, CancellationToken cancellationToken = default) =>
            format == "env" ? Task.FromResult(("HELLO_IMAGE=x\n", "text/plain")) : throw new InputException("unknown format");
    }
}
