using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Daemon.Api;
using Orchestrator.Daemon.Tests.Fakes;
using Orchestrator.Daemon.Workers;

namespace Orchestrator.Daemon.Tests.Api;

/// <summary>
/// <c>GET /api/pipelines</c> is rebuilt only when what it is made of changed: the store's records (its change
/// token), the loaded definitions, or the stale marks; otherwise the last document is served as it was.
/// </summary>
public sealed class PipelineStatusCacheTests : IAsyncLifetime
{
    private readonly DaemonHarness _daemon = new();
    private readonly CountingReleases _releases = new();

    public Task InitializeAsync()
    {
        _daemon.State.ChangeToken = "1.0.0";
        _daemon.Releases = _releases;
        return _daemon.StartAsync();
    }

    public Task DisposeAsync() => _daemon.DisposeAsync().AsTask();

    private async Task<string> GetAsync()
    {
        var response = await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines", DaemonHarness.AdminSecret);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task Get_NothingChanged_ServesTheSameDocumentWithoutAskingTheStoreAgain()
    {
        // Given one read
        var first = await GetAsync();

        // When nothing changes and it is read again
        var second = await GetAsync();

        // Then the status was built once and both answers are the same
        Assert.Equal(1, _releases.Calls);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Get_RecordAdded_RebuildsAndShowsIt()
    {
        // Given a read with version 1.0.0 recorded
        await GetAsync();

        // When a record is added (the store's change token moves) and the status now says 2.0.0
        _releases.Version = "2.0.0";
        _daemon.State.ChangeToken = "2.0.0";
        var after = await GetAsync();

        // Then it was rebuilt and shows the new record
        Assert.Equal(2, _releases.Calls);
        Assert.Contains("2.0.0", after);
    }

    [Fact]
    public async Task Get_PipelineMarkedStale_RebuildsWithTheMark()
    {
        // Given a read where nothing is stale
        Assert.DoesNotContain("hello.yaml changed", await GetAsync());

        // When the watcher marks hello stale
        _daemon.App.Services.GetRequiredService<StaleTracker>().Mark("hello", "hello.yaml changed", DateTimeOffset.UtcNow);
        var after = await GetAsync();

        // Then the next read shows it
        Assert.Contains("hello.yaml changed", after);
    }

    [Fact]
    public async Task Get_DefinitionsReloaded_Rebuilds()
    {
        // Given a read
        await GetAsync();

        // When the definitions are replaced (a reload)
        _daemon.App.Services.GetRequiredService<Orchestrator.Daemon.Hosting.WorkspaceHolder>().Current = _daemon.Workspace;
        await GetAsync();

        // Then the status was built again
        Assert.Equal(2, _releases.Calls);
    }

    [Fact]
    public async Task Get_StoreCannotSayWhatChanged_BuildsEveryTime()
    {
        // Given a store with no change token
        _daemon.State.ChangeToken = null;

        // When the status is read twice
        await GetAsync();
        await GetAsync();

        // Then nothing was cached
        Assert.Equal(2, _releases.Calls);
    }

    private sealed class CountingReleases : IReleaseQueries
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public string Version { get; set; } = "1.0.0";

        public Task<JsonNode?> GetStatusAsync(string? pipeline, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult<JsonNode?>(new JsonObject
            {
                ["pipelines"] = new JsonArray(new JsonObject { ["pipeline"] = "hello", ["version"] = Version, ["stages"] = new JsonArray() }),
            });
        }

        public Task<JsonNode?> GetHistoryAsync(string pipeline, int limit, CancellationToken cancellationToken = default) =>
            Task.FromResult<JsonNode?>(new JsonArray());

        public Task<(string Content, string ContentType)> GetReleaseAsync(string pipeline, string stage, string format, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
    }
}
