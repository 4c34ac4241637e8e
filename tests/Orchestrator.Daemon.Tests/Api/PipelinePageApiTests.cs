using System.Net;
using Orchestrator.Core.Locks;
using Orchestrator.Core.References;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Api;

/// <summary><c>GET /api/pipelines/{name}/lock</c> and the input checks of <c>GET /api/pipelines/{name}/diff</c> (its reads from the registries are tested in Core and in the browser tests).</summary>
public sealed class PipelinePageApiTests : IAsyncDisposable
{
    private readonly DaemonHarness _daemon = new();

    public ValueTask DisposeAsync() => _daemon.DisposeAsync();

    [Fact]
    public async Task Lock_LockedAndUnlockedPipelines_ListsTheClosureOrSaysNotLocked()
    {
        // Given hello locked with one named package and one dependency, other not locked
        var baseDigest = Digest.Sha256Of("base"u8);
        var hello = _daemon.Workspace.Pipelines["hello"] with
        {
            Lock = new PipelineLock(PipelineLock.CurrentVersion, "hello", "sha256:" + new string('0', 64),
                new LockedBase("debian-bookworm/slim", ImageReference.Parse($"{DaemonHarness.StagingHost}/{DaemonHarness.BaseRepository}:slim"), baseDigest),
                0,
                [new LockedPackage("hello", "2.10-3", "amd64", new string('a', 64), Direct: true), new LockedPackage("libc6", "2.36-9", "amd64", new string('b', 64), Direct: false)]),
        };
        _daemon.Workspace = _daemon.Workspace with { Pipelines = new Dictionary<string, Core.Definitions.PipelineDefinition>(_daemon.Workspace.Pipelines) { ["hello"] = hello } };
        await _daemon.StartAsync();

        // When each lock is read with a read token
        var locked = await DaemonHarness.JsonAsync(await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines/hello/lock", DaemonHarness.ReleaseSecret));
        var unlocked = await DaemonHarness.JsonAsync(await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines/other/lock", DaemonHarness.ReleaseSecret));
        var unknown = await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines/nope/lock", DaemonHarness.ReleaseSecret);

        // Then hello's closure comes with its base and which packages it names; other says it has none; nope is a 404
        Assert.True(locked.GetProperty("locked").GetBoolean());
        Assert.Equal(baseDigest.ToString(), locked.GetProperty("baseDigest").GetString());
        Assert.Equal(["hello:2.10-3:True", "libc6:2.36-9:False"], locked.GetProperty("packages").EnumerateArray()
            .Select(p => $"{p.GetProperty("name").GetString()}:{p.GetProperty("version").GetString()}:{p.GetProperty("direct").GetBoolean()}"));
        Assert.False(unlocked.GetProperty("locked").GetBoolean());
        Assert.Empty(unlocked.GetProperty("packages").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Theory]
    [InlineData("/api/pipelines/hello/diff?from=staging&to=qa", HttpStatusCode.NotFound, "no stage named 'qa'; stages: staging, production")]
    [InlineData("/api/pipelines/hello/diff?from=production&to=production", HttpStatusCode.BadRequest, "both 'production'")]
    [InlineData("/api/pipelines/nope/diff", HttpStatusCode.NotFound, "no pipeline named 'nope'")]
    public async Task Diff_BadInput_RefusedSayingWhat(string path, HttpStatusCode status, string expected)
    {
        await _daemon.StartAsync();

        var response = await _daemon.SendAsync(HttpMethod.Get, path, DaemonHarness.ReleaseSecret);

        Assert.Equal(status, response.StatusCode);
        Assert.Contains(expected, (await DaemonHarness.JsonAsync(response)).GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Diff_TokenWithoutRead_Is403()
    {
        await _daemon.StartAsync();

        var response = await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines/hello/diff", DaemonHarness.BuilderSecret);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
