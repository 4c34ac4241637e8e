using Orchestrator.Core.Jobs;
using Orchestrator.Daemon.Api;
using Orchestrator.Daemon.Tests.Fakes;
using Orchestrator.State;

namespace Orchestrator.Daemon.Tests.Dashboard;

/// <summary>The one shared poll behind every live job stream.</summary>
public sealed class JobChangeFeedTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"orchestrator-feed-tests-{Guid.NewGuid():N}");
    private CountingJobStore _store = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _store = new CountingJobStore(new SqliteJobStore(Path.Combine(_root, "state.db")));
        await _store.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Watch_FiftyWatchers_ReadTheTokenOncePerIntervalNotOncePerWatcher()
    {
        // Given fifty watchers of an idle store
        var feed = new JobChangeFeed(_store, TimeProvider.System);
        var leases = Enumerable.Range(0, 50).Select(_ => feed.Watch()).ToList();

        // When a second passes
        await Task.Delay(TimeSpan.FromSeconds(1));

        // Then the token was read about once per 250 ms, not fifty times per round
        var reads = _store.TokenReads;
        Assert.InRange(reads, 1, 10);
        Assert.Equal(50, feed.Watchers);
        leases.ForEach(l => l.Dispose());
    }

    [Fact]
    public async Task Changed_JobWrittenWhileWatched_CompletesWithinAFewIntervals()
    {
        // Given a watcher past the poll's first read
        var feed = new JobChangeFeed(_store, TimeProvider.System);
        using var lease = feed.Watch();
        await feed.Changed.WaitAsync(TimeSpan.FromSeconds(5));
        var changed = feed.Changed;
        await Task.Delay(600);
        Assert.False(changed.IsCompleted, "an idle store woke the watchers");

        // When a job is written
        await _store.EnqueueAsync(new JobRequest(JobKind.Build, "hello"), "ci");

        // Then the watchers wake
        await changed.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Watch_LastLeaseDisposed_StopsReadingTheStore()
    {
        // Given a watcher that leaves
        var feed = new JobChangeFeed(_store, TimeProvider.System);
        feed.Watch().Dispose();
        await Task.Delay(600);
        var reads = _store.TokenReads;

        // When time passes with nobody watching
        await Task.Delay(1000);

        // Then the store is not read at all
        Assert.Equal(reads, _store.TokenReads);
        Assert.Equal(0, feed.Watchers);
    }
}
