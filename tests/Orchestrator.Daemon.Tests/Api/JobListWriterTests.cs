using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Core.Jobs;
using Orchestrator.Daemon.Api;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Api;

public sealed class JobListWriterTests : IAsyncLifetime
{
    private readonly DaemonHarness _daemon = new();

    public Task InitializeAsync()
    {
        _daemon.Runner.Block = true;
        return _daemon.StartAsync();
    }

    public Task DisposeAsync() => _daemon.DisposeAsync().AsTask();

    public static TheoryData<string?> Results => new()
    {
        null,
        "",
        """{"digest":"sha256:aa","tests":[{"name":"quote \" and <tag> and é","passed":true}],"size":12.5}""",
        "not json {",
        "[1, 2 ,3]",
    };

    [Theory]
    [MemberData(nameof(Results))]
    public void Write_AnyJob_MeansWhatTheJsonObjectViewMeans(string? resultJson)
    {
        // Given a live job with every optional field empty and a finished one with every field set
        var now = new DateTimeOffset(2026, 12, 3, 11, 0, 0, 123, TimeSpan.FromHours(1));
        var live = new Job(7, new JobRequest(JobKind.Build, "hello"), "ci", JobState.Queued, now, null, null, 0, false, null, null, null);
        var done = new Job(
            8,
            new JobRequest(JobKind.Promote, "hé\"llo", DaemonHarness.DigestOf('b'), "production", DryRun: true, NoCache: true),
            "release",
            JobState.Failed,
            now,
            now.AddSeconds(1),
            now.AddSeconds(2.5),
            2,
            true,
            "refused: <digest> not validated",
            1,
            resultJson);

        // When the list is written directly
        var written = JsonNode.Parse(JobListWriter.Write([live, done]));

        // Then it equals the list built from the JsonObject view, field for field
        var expected = new JsonObject { ["jobs"] = new JsonArray(ApiJson.Job(live), ApiJson.Job(done)) };
        var roundTripped = JsonNode.Parse(expected.ToJsonString(ApiJson.Options));
        Assert.True(JsonNode.DeepEquals(roundTripped, written), $"expected {roundTripped?.ToJsonString()}\nwritten {written?.ToJsonString()}");
    }

    [Fact]
    public async Task ListJobs_AfterEachChange_ShowsTheNewStateOnTheNextRead()
    {
        // Given a running build and a second build queued behind it in the same lane
        var first = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await _daemon.Runner.WaitStartedAsync(first.Id);
        var second = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });

        async Task<string?> StateAsync(long id)
        {
            var response = await _daemon.SendAsync(HttpMethod.Get, "/api/jobs", DaemonHarness.CiSecret);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var jobs = (await DaemonHarness.JsonAsync(response)).GetProperty("jobs").EnumerateArray();
            return jobs.Single(j => j.GetProperty("id").GetInt64() == id).GetProperty("state").GetString();
        }

        // When each changes state, Then the next read shows it
        Assert.Equal("running", await StateAsync(first.Id));
        Assert.Equal("queued", await StateAsync(second.Id));
        var cancel = await _daemon.SendAsync(HttpMethod.Post, $"/api/jobs/{second.Id}/cancel", DaemonHarness.CiSecret);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("cancelled", await StateAsync(second.Id));
        _daemon.Runner.Release(first);
        await _daemon.WaitForJobAsync(first.Id, j => j.State == JobState.Succeeded, "succeeded");
        Assert.Equal("succeeded", await StateAsync(first.Id));
    }
}
