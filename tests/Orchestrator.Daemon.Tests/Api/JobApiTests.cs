using System.Net;
using System.Text;
using Orchestrator.Core.Jobs;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Api;

public sealed class JobApiTests : IAsyncLifetime
{
    private readonly DaemonHarness _daemon = new();

    public Task InitializeAsync()
    {
        // Jobs stay where the test puts them: each one blocks until released.
        _daemon.Runner.Block = true;
        return _daemon.StartAsync();
    }

    public Task DisposeAsync() => _daemon.DisposeAsync().AsTask();

    [Fact]
    public async Task Post_ValidBuild_Returns202WithJobAndLocation()
    {
        // Given the ci token
        // When it submits a build with noCache
        var response = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.CiSecret, new { kind = "build", pipeline = "hello", noCache = true });

        // Then it is accepted with the job, stored with ci as the requester
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var json = await DaemonHarness.JsonAsync(response);
        var id = json.GetProperty("id").GetInt64();
        Assert.Equal($"/api/jobs/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("build", json.GetProperty("kind").GetString());
        Assert.Equal("hello", json.GetProperty("pipeline").GetString());
        Assert.Equal("ci", json.GetProperty("requestedBy").GetString());
        Assert.True(json.GetProperty("noCache").GetBoolean());
        Assert.Contains(json.GetProperty("state").GetString(), new[] { "queued", "running" });
        var stored = await _daemon.Jobs.GetAsync(id);
        Assert.NotNull(stored);
        Assert.Equal("ci", stored.RequestedBy);
        Assert.True(stored.Request.NoCache);
    }

    [Fact]
    public async Task Post_PipelineAddedSinceStart_ReloadsDefinitionsAndAccepts()
    {
        // Given a daemon started before the pipeline 'fresh' existed, whose definitions now include it
        await _daemon.StopAsync();
        var reloads = 0;
        var withFresh = _daemon.Workspace with
        {
            Pipelines = new Dictionary<string, Core.Definitions.PipelineDefinition>(_daemon.Workspace.Pipelines)
            {
                ["fresh"] = DaemonHarness.Pipeline("fresh", Path.Combine(_daemon.Root, "pipelines", "fresh.yaml"), []),
            },
        };
        _daemon.Reload = _ =>
        {
            Interlocked.Increment(ref reloads);
            return Task.FromResult(withFresh);
        };
        await _daemon.StartAsync();

        // When a build of it is submitted, and then one of a pipeline that does not exist anywhere
        var fresh = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.CiSecret, new { kind = "build", pipeline = "fresh" });
        var missing = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.CiSecret, new { kind = "build", pipeline = "nowhere" });

        // Then the first is accepted after one reload; the second is still refused
        Assert.Equal(HttpStatusCode.Accepted, fresh.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.True(reloads >= 1);
    }

    [Fact]
    public async Task Post_WhileTheStoreHasNotCommitted_DoesNotAnswer()
    {
        // Given a store whose enqueue is held open
        await _daemon.StopAsync();
        var gated = new GatedJobStore(_daemon.Jobs);
        _daemon.Jobs = gated;
        await _daemon.StartAsync();

        // When a job is submitted
        var post = _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.CiSecret, new { kind = "build", pipeline = "hello" });
        await gated.EnqueueEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Then a request sent after it is answered (the daemon is serving) while the job's still has no answer,
        // since the write is held; once it commits, the 202 names the stored job
        var later = await _daemon.SendAsync(HttpMethod.Get, "/api/jobs", DaemonHarness.CiSecret);
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
        Assert.False(post.IsCompleted, "the daemon acknowledged a job before the store committed it");
        gated.AllowEnqueue.SetResult();
        var response = await post;
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await DaemonHarness.JsonAsync(response)).GetProperty("id").GetInt64();
        Assert.NotNull(await _daemon.Jobs.GetAsync(id));
    }

    [Theory]
    [InlineData("{\"kind\":\"deploy\",\"pipeline\":\"hello\"}", "unknown job kind 'deploy'")]
    [InlineData("{\"kind\":\"1\",\"pipeline\":\"hello\"}", "unknown job kind '1'")]
    [InlineData("{\"kind\":\"build\",\"pipeline\":\"nope\"}", "no pipeline named 'nope'")]
    [InlineData("{\"kind\":\"build\"}", "'pipeline' is required")]
    [InlineData("{\"kind\":\"validate\",\"pipeline\":\"hello\",\"digest\":\"sha256:abc\"}", "'digest' is malformed")]
    [InlineData("{\"kind\":\"promote\",\"pipeline\":\"hello\"}", "a promote job needs 'digest'")]
    [InlineData("{\"kind\":\"promote\",\"pipeline\":\"hello\",\"digest\":\"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"stage\":\"staging\"}", "cannot promote to 'staging': it is the first stage")]
    [InlineData("{\"kind\":\"promote\",\"pipeline\":\"hello\",\"digest\":\"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"stage\":\"qa\"}", "no stage named 'qa'")]
    [InlineData("{\"kind\":", "the body is not a job request")]
    [InlineData("null", "the body is empty")]
    public async Task Post_BadBody_Returns400SayingWhatIsWrong(string body, string expected)
    {
        // Given a body that is not a valid job request
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        // When it is submitted by a token that could run any job
        var response = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.AdminSecret, content);

        // Then it is 400 with a message naming the problem, and nothing is queued
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await DaemonHarness.JsonAsync(response)).GetProperty("error");
        Assert.Equal(400, error.GetProperty("status").GetInt32());
        Assert.Contains(expected, error.GetProperty("message").GetString());
        Assert.Empty(await _daemon.Jobs.ListAsync(new()));
    }

    [Fact]
    public async Task Post_PromoteWithoutStage_TargetsTheStageAfterTheFirst()
    {
        // Given a promote without a stage
        var job = await _daemon.SubmitAsync(new { kind = "promote", pipeline = "hello", digest = DaemonHarness.DigestOf('c').ToString(), dryRun = true }, DaemonHarness.ReleaseSecret);

        // Then the stored job names production, keeps dryRun, and was requested by release
        Assert.Equal("production", job.Request.Stage);
        Assert.True(job.Request.DryRun);
        Assert.Equal(DaemonHarness.DigestOf('c'), job.Request.Digest);
        Assert.Equal("release", job.RequestedBy);
    }

    [Fact]
    public async Task Post_PromoteWithAttest_StoredWithAttestButNeverOnADryRun()
    {
        // Given a promotion asking for its statement, and a dry run asking the same
        var attested = await _daemon.SubmitAsync(new { kind = "promote", pipeline = "hello", digest = DaemonHarness.DigestOf('c').ToString(), attest = true }, DaemonHarness.ReleaseSecret);
        var dryRun = await _daemon.SubmitAsync(new { kind = "promote", pipeline = "hello", digest = DaemonHarness.DigestOf('c').ToString(), attest = true, dryRun = true }, DaemonHarness.ReleaseSecret);

        // Then the first is stored to attest, and the dry run (which records nothing to attest) is not
        Assert.True(attested.Request.Attest);
        Assert.False(dryRun.Request.Attest);
    }

    [Fact]
    public async Task GetJob_Unknown_Returns404Json()
    {
        // When an unknown job is read
        var response = await _daemon.SendAsync(HttpMethod.Get, "/api/jobs/999999", DaemonHarness.CiSecret);

        // Then it is a JSON 404
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no job 999999", (await DaemonHarness.JsonAsync(response)).GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task GetJobAndLog_WithLines_ReturnJobWithLogAndOnlyLinesAfterN()
    {
        // Given a job with three log lines
        var job = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await _daemon.Jobs.AppendLogAsync(job.Id, "step", "one");
        var second = await _daemon.Jobs.AppendLogAsync(job.Id, "detail", "two");
        await _daemon.Jobs.AppendLogAsync(job.Id, "progress", "three");

        // When the job and its log after the second line are read
        var full = await DaemonHarness.JsonAsync(await _daemon.SendAsync(HttpMethod.Get, $"/api/jobs/{job.Id}", DaemonHarness.CiSecret));
        var tail = await DaemonHarness.JsonAsync(await _daemon.SendAsync(HttpMethod.Get, $"/api/jobs/{job.Id}/log?after={second.Sequence}", DaemonHarness.CiSecret));

        // Then the job carries every line in order, and the tail only the third with 'last' at its sequence
        Assert.Equal(job.Id, full.GetProperty("id").GetInt64());
        var messages = full.GetProperty("log").EnumerateArray().Select(l => l.GetProperty("message").GetString()).ToList();
        Assert.Equal(["one", "two", "three"], messages.Where(m => m is "one" or "two" or "three"));
        var lines = tail.GetProperty("log").EnumerateArray().ToList();
        Assert.Equal("three", Assert.Single(lines).GetProperty("message").GetString());
        Assert.Equal("progress", lines[0].GetProperty("kind").GetString());
        Assert.Equal(lines[0].GetProperty("sequence").GetInt64(), tail.GetProperty("last").GetInt64());
        Assert.True(lines[0].GetProperty("sequence").GetInt64() > second.Sequence);
    }

    [Fact]
    public async Task GetLog_BadAfter_Returns400()
    {
        var job = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        var response = await _daemon.SendAsync(HttpMethod.Get, $"/api/jobs/{job.Id}/log?after=x", DaemonHarness.CiSecret);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task ListJobs_WithFilters_ReturnsOnlyMatchingJobsNewestFirst()
    {
        // Given builds of hello and other and a validate of hello
        var helloBuild = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        var otherBuild = await _daemon.SubmitAsync(new { kind = "build", pipeline = "other" });
        var helloValidate = await _daemon.SubmitAsync(new { kind = "validate", pipeline = "hello", digest = DaemonHarness.DigestOf('d').ToString() });

        // When jobs are listed by pipeline, by kind, and with a limit
        async Task<List<long>> IdsAsync(string query) =>
            (await DaemonHarness.JsonAsync(await _daemon.SendAsync(HttpMethod.Get, "/api/jobs" + query, DaemonHarness.CiSecret)))
                .GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetInt64()).ToList();

        // Then each filter holds
        Assert.Equal([helloValidate.Id, helloBuild.Id], await IdsAsync("?pipeline=hello"));
        Assert.Equal([otherBuild.Id, helloBuild.Id], await IdsAsync("?kind=build"));
        Assert.Equal([helloValidate.Id], await IdsAsync("?limit=1"));
        Assert.Equal([helloBuild.Id], await IdsAsync("?pipeline=hello&kind=build"));
        var bad = await _daemon.SendAsync(HttpMethod.Get, "/api/jobs?state=sleeping", DaemonHarness.CiSecret);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Cancel_QueuedJob_BecomesCancelledAndNeverRuns()
    {
        // Given a running build of hello and a second one queued behind it in the same lane
        var first = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await _daemon.Runner.WaitStartedAsync(first.Id);
        var second = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });

        // When the second is cancelled
        var response = await _daemon.SendAsync(HttpMethod.Post, $"/api/jobs/{second.Id}/cancel", DaemonHarness.CiSecret);

        // Then it is cancelled at once and does not run when the lane frees up
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("cancelled", (await DaemonHarness.JsonAsync(response)).GetProperty("state").GetString());
        _daemon.Runner.Release(first);
        await _daemon.WaitForJobAsync(first.Id, j => j.State == JobState.Succeeded, "succeeded");
        await _daemon.WorkerPassedAsync();
        Assert.False(_daemon.Runner.HasStarted(second.Id));
        Assert.Equal(JobState.Cancelled, (await _daemon.Jobs.GetAsync(second.Id))!.State);
    }

    [Fact]
    public async Task Cancel_PromoteJobWithCiToken_Returns403()
    {
        // Given a promote to production submitted by release
        var job = await _daemon.SubmitAsync(new { kind = "promote", pipeline = "hello", digest = DaemonHarness.DigestOf('e').ToString() }, DaemonHarness.ReleaseSecret);

        // When ci tries to cancel it
        var response = await _daemon.SendAsync(HttpMethod.Post, $"/api/jobs/{job.Id}/cancel", DaemonHarness.CiSecret);

        // Then it may not
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False((await _daemon.Jobs.GetAsync(job.Id))!.CancelRequested);
    }
}
