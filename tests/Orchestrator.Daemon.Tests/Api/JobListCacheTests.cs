using System.Text.Json;
using Orchestrator.Core.Jobs;
using Orchestrator.Daemon.Api;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Api;

/// <summary>
/// <c>GET /api/jobs</c> reads the jobs again only when the job store's change token moved; otherwise it serves
/// the document it cached for that query. And <see cref="JobListCache"/> itself: keyed by query and token, bounded.
/// </summary>
public sealed class JobListCacheTests : IAsyncLifetime
{
    private readonly DaemonHarness _daemon = new();
    private readonly CountingJobStore _store;

    public JobListCacheTests()
    {
        _store = new CountingJobStore(_daemon.Jobs);
        _daemon.Jobs = _store;
    }

    public Task InitializeAsync()
    {
        // Jobs stay where the test puts them: each one blocks until released.
        _daemon.Runner.Block = true;
        return _daemon.StartAsync();
    }

    public Task DisposeAsync() => _daemon.DisposeAsync().AsTask();

    [Fact]
    public async Task Get_NothingChanged_ServesTheCachedListWithoutReadingTheJobsAgain()
    {
        // Given a running build of hello and a second one queued behind it, and one read of the list
        var (running, queued) = await RunningAndQueuedAsync();
        var first = await ListAsync(string.Empty);

        // When the worker makes a whole pass (it finds nothing to start) and the list is read again
        await _daemon.WorkerPassedAsync();
        var second = await ListAsync(string.Empty);

        // Then the jobs were read once, and both answers are the same document naming both jobs
        Assert.Equal(1, _store.Lists);
        Assert.Equal(first, second);
        Assert.Equal([queued.Id, running.Id], Ids(second));
    }

    [Fact]
    public async Task Get_JobStateChanged_ShowsTheNewStateOnTheNextRead()
    {
        // Given a running build and a queued one, listed once
        var (running, queued) = await RunningAndQueuedAsync();
        Assert.Equal(["queued", "running"], States(await ListAsync(string.Empty)));

        // When the queued one is cancelled, then the running one finishes
        var cancel = await _daemon.SendAsync(HttpMethod.Post, $"/api/jobs/{queued.Id}/cancel", DaemonHarness.CiSecret);
        cancel.EnsureSuccessStatusCode();
        var afterCancel = await ListAsync(string.Empty);
        _daemon.Runner.Release(running);
        await _daemon.WaitForJobAsync(running.Id, j => j.State == JobState.Succeeded, "succeeded");
        var afterFinish = await ListAsync(string.Empty);

        // Then each read shows the change made before it
        Assert.Equal(["cancelled", "running"], States(afterCancel));
        Assert.Equal(["cancelled", "succeeded"], States(afterFinish));
    }

    [Fact]
    public async Task Get_DifferentQueries_AreCachedApartAndTheSameQueryInAnotherSpellingShares()
    {
        // Given builds of hello and other, and a validate of hello, all settled (two running, one queued)
        var helloBuild = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await _daemon.Runner.WaitStartedAsync(helloBuild.Id);
        var otherBuild = await _daemon.SubmitAsync(new { kind = "build", pipeline = "other" });
        await _daemon.Runner.WaitStartedAsync(otherBuild.Id);
        var helloValidate = await _daemon.SubmitAsync(new { kind = "validate", pipeline = "hello", digest = DaemonHarness.DigestOf('d').ToString() });
        await _daemon.WorkerPassedAsync();

        // When three queries are read twice each, and the whole list once more spelled with the default limit
        var results = new List<IReadOnlyList<long>>();
        foreach (var query in (string[])["?pipeline=hello", "?kind=build", string.Empty, "?pipeline=hello", "?kind=build", string.Empty, "?limit=100"])
        {
            results.Add(Ids(await ListAsync(query)));
        }

        // Then each query answered its own jobs, and the jobs were read once per distinct query
        Assert.Equal([helloValidate.Id, helloBuild.Id], results[0]);
        Assert.Equal([otherBuild.Id, helloBuild.Id], results[1]);
        Assert.Equal([helloValidate.Id, otherBuild.Id, helloBuild.Id], results[2]);
        Assert.Equal(results[0], results[3]);
        Assert.Equal(results[1], results[4]);
        Assert.Equal(results[2], results[6]);
        Assert.Equal(3, _store.Lists);
    }

    [Fact]
    public async Task Get_StoreCannotSayWhatChanged_ReadsTheJobsEveryTime()
    {
        // Given a store with no change token
        _store.HideChangeToken = true;

        // When the list is read twice
        await ListAsync(string.Empty);
        await ListAsync(string.Empty);

        // Then nothing was cached
        Assert.Equal(2, _store.Lists);
    }

    [Fact]
    public void TryGet_SameQueryAndToken_ReturnsTheDocumentAndAnotherTokenMisses()
    {
        // Given a document stored for the whole list under token 1.1
        var cache = new JobListCache();
        var document = "{\"jobs\":[]}"u8.ToArray();
        cache.Set(new JobFilter(), "1.1", document);

        // When it is asked for under the same token, an equal filter, another token, and another filter
        // Then only the same query under the same token is served
        Assert.Same(document, cache.TryGet(new JobFilter(Limit: 100), "1.1"));
        Assert.Null(cache.TryGet(new JobFilter(), "1.2"));
        Assert.Null(cache.TryGet(new JobFilter(Pipeline: "hello"), "1.1"));
    }

    [Fact]
    public void Set_UnderANewToken_DropsEveryEntryOfTheOldOne()
    {
        // Given two queries cached under token 1.1
        var cache = new JobListCache();
        cache.Set(new JobFilter(), "1.1", [1]);
        cache.Set(new JobFilter(Pipeline: "hello"), "1.1", [2]);

        // When one is stored again under 1.2
        cache.Set(new JobFilter(), "1.2", [3]);

        // Then only that entry is left
        Assert.Equal(1, cache.Count);
        Assert.Null(cache.TryGet(new JobFilter(Pipeline: "hello"), "1.1"));
        Assert.Equal([3], cache.TryGet(new JobFilter(), "1.2"));
    }

    [Fact]
    public void Set_BeyondCapacity_EvictsTheLeastRecentlyUsedQuery()
    {
        // Given the cache full of queries (limits 1..Capacity) under one token, the first of them read since
        var cache = new JobListCache();
        for (var limit = 1; limit <= JobListCache.Capacity; limit++)
        {
            cache.Set(new JobFilter(Limit: limit), "1.1", [(byte)limit]);
        }

        Assert.NotNull(cache.TryGet(new JobFilter(Limit: 1), "1.1"));

        // When one more query is stored
        cache.Set(new JobFilter(Limit: 500), "1.1", [9]);

        // Then it holds Capacity entries: the new one and the recently read first one stay, the second (least recently used) went
        Assert.Equal(JobListCache.Capacity, cache.Count);
        Assert.NotNull(cache.TryGet(new JobFilter(Limit: 500), "1.1"));
        Assert.NotNull(cache.TryGet(new JobFilter(Limit: 1), "1.1"));
        Assert.Null(cache.TryGet(new JobFilter(Limit: 2), "1.1"));
    }

    [Fact]
    public void Set_DocumentOverTheSizeCap_IsNotKept()
    {
        // Given a cache
        var cache = new JobListCache();

        // When a document one byte over the cap and one exactly at it are stored
        cache.Set(new JobFilter(Limit: 1000), "1.1", new byte[JobListCache.MaxDocumentBytes + 1]);
        cache.Set(new JobFilter(Limit: 999), "1.1", new byte[JobListCache.MaxDocumentBytes]);

        // Then only the one at the cap is served
        Assert.Null(cache.TryGet(new JobFilter(Limit: 1000), "1.1"));
        Assert.NotNull(cache.TryGet(new JobFilter(Limit: 999), "1.1"));
        Assert.Equal(1, cache.Count);
    }

    private async Task<(Job Running, Job Queued)> RunningAndQueuedAsync()
    {
        var running = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await _daemon.Runner.WaitStartedAsync(running.Id);
        var queued = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });

        // A whole worker pass after the submit: the queued job was looked at and held back by its lane, so nothing moves now.
        await _daemon.WorkerPassedAsync();
        return (running, queued);
    }

    private async Task<string> ListAsync(string query)
    {
        var response = await _daemon.SendAsync(HttpMethod.Get, "/api/jobs" + query, DaemonHarness.CiSecret);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    private static List<long> Ids(string document) =>
        JsonDocument.Parse(document).RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetInt64()).ToList();

    private static List<string?> States(string document) =>
        JsonDocument.Parse(document).RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("state").GetString()).ToList();
}
