using Microsoft.Data.Sqlite;
using Orchestrator.Core.Jobs;

namespace Orchestrator.State.Tests;

/// <summary>
/// <see cref="SqliteJobStore.GetChangeTokenAsync"/>: it moves on every job write, from this store or another
/// process's store on the same file, and stays put while only reads happen (so a cached job list is served).
/// </summary>
public sealed class SqliteJobStoreChangeTokenTests : IAsyncLifetime
{
    private static readonly IReadOnlySet<string> NoneBusy = new HashSet<string>();

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "orchestrator-job-token-tests", Guid.NewGuid().ToString("N"));
    private readonly List<SqliteJobStore> _stores = [];

    private string DatabasePath => Path.Combine(_folder, "state.db");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task GetChangeTokenAsync_OnlyReads_StaysTheSame()
    {
        // Given a store with a job and a token read after it
        var store = NewStore();
        var job = await store.EnqueueAsync(Build("hello"), "ci");
        var before = await store.GetChangeTokenAsync();

        // When the jobs, one job and its log are only read
        await store.ListAsync(new JobFilter());
        await store.GetAsync(job.Id);
        await store.GetLogAsync(job.Id);
        var after = await store.GetChangeTokenAsync();

        // Then the token is the same
        Assert.NotNull(before);
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task GetChangeTokenAsync_EveryKindOfJobWrite_MovesIt()
    {
        // Given a store and the token of its empty queue
        var store = NewStore();
        var seen = new List<string?> { await store.GetChangeTokenAsync() };

        // When a job goes through every write a job can have: enqueue, claim, cancel request, completion, and a
        // second job is cancelled while queued, and a third is claimed and requeued by a restart
        var first = await store.EnqueueAsync(Build("hello"), "ci");
        seen.Add(await store.GetChangeTokenAsync());
        await store.ClaimNextAsync(j => j.Request.Pipeline, NoneBusy);
        seen.Add(await store.GetChangeTokenAsync());
        await store.RequestCancelAsync(first.Id);
        seen.Add(await store.GetChangeTokenAsync());
        await store.CompleteAsync(first.Id, JobState.Cancelled, 1, "cancelled", null);
        seen.Add(await store.GetChangeTokenAsync());
        var second = await store.EnqueueAsync(Build("other"), "ci");
        seen.Add(await store.GetChangeTokenAsync());
        await store.RequestCancelAsync(second.Id);
        seen.Add(await store.GetChangeTokenAsync());
        await store.EnqueueAsync(Build("third"), "ci");
        await store.ClaimNextAsync(j => j.Request.Pipeline, NoneBusy);
        seen.Add(await store.GetChangeTokenAsync());
        await store.RequeueInterruptedAsync();
        seen.Add(await store.GetChangeTokenAsync());

        // Then each write gave a token never seen before
        Assert.DoesNotContain(null, seen);
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }

    [Fact]
    public async Task GetChangeTokenAsync_AnotherProcessChangesAJob_MovesIt()
    {
        // Given this daemon's store with a queued job, and the token it read
        var daemon = NewStore();
        var job = await daemon.EnqueueAsync(Build("hello"), "ci");
        var before = await daemon.GetChangeTokenAsync();

        // When another process's store on the same file claims that job (a state change, no new id)
        var other = NewStore();
        var claimed = await other.ClaimNextAsync(j => j.Request.Pipeline, NoneBusy);

        // Then this store's token moved although it wrote nothing itself
        Assert.Equal(job.Id, claimed?.Id);
        Assert.NotEqual(before, await daemon.GetChangeTokenAsync());
    }

    [Fact]
    public async Task GetChangeTokenAsync_TwoStoresOnOneFile_NeverShareAToken()
    {
        // Given two stores on one file, both unchanged since their first read
        var one = NewStore();
        var two = NewStore();
        await one.InitializeAsync();

        // When each reads its token
        var first = await one.GetChangeTokenAsync();
        var second = await two.GetChangeTokenAsync();

        // Then the tokens differ: a token is only comparable with its own store's, so a cache moved to another store misses
        Assert.NotEqual(first, second);
    }

    private SqliteJobStore NewStore()
    {
        var store = new SqliteJobStore(DatabasePath);
        _stores.Add(store);
        return store;
    }

    private static JobRequest Build(string pipeline) => new(JobKind.Build, pipeline, null, null, DryRun: false, NoCache: false);
}
