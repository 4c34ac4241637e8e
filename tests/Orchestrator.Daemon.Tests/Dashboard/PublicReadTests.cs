using System.Net;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Dashboard;

/// <summary><c>daemon.dashboard.public-read: true</c>: reads without a token, writes still need one.</summary>
public sealed class PublicReadTests : IAsyncLifetime
{
    private readonly DaemonHarness _daemon = new(publicRead: true);

    public Task InitializeAsync() => _daemon.StartAsync();

    public Task DisposeAsync() => _daemon.DisposeAsync().AsTask();

    [Theory]
    [InlineData("/api/jobs")]
    [InlineData("/api/pipelines")]
    [InlineData("/api/pipelines/hello/history")]
    public async Task Get_PublicReadWithoutToken_Answers(string path)
    {
        // Given public read
        // When a read endpoint is called without a token
        var response = await _daemon.SendAsync(HttpMethod.Get, path, secret: null);

        // Then it answers
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Post_PublicReadWithoutToken_Still401AndNothingQueued()
    {
        // Given public read
        // When a job is submitted without a token
        var response = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", secret: null, new { kind = "build", pipeline = "hello" });

        // Then it is refused and nothing is queued
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(await _daemon.Jobs.ListAsync(new()));
    }

    [Fact]
    public async Task Get_PublicReadWithUnknownToken_Still401()
    {
        // Given public read
        // When a read carries a secret no token has
        var response = await _daemon.SendAsync(HttpMethod.Get, "/api/jobs", secret: "not-a-configured-secret-4242");

        // Then the presented token is still checked, not silently dropped to anonymous
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Events_PublicReadWithoutToken_Streams()
    {
        // Given public read and a finished job
        var job = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await _daemon.WaitForJobAsync(job.Id, j => j.IsFinal, "finished");

        // When its events are read without a token
        var response = await _daemon.SendAsync(HttpMethod.Get, $"/api/jobs/{job.Id}/events", secret: null);
        var text = await response.Content.ReadAsStringAsync();

        // Then it streams to the end
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("event: end", text, StringComparison.Ordinal);
    }
}
