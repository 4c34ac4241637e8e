// Over 400 lines: the whole job-queue contract (claims, lanes, cancel, requeue, log, filters) moved here from the
// SQLite tests as one class, so both stores run exactly the same list; split per operation if it grows further.
using System.Collections.Concurrent;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.State.Tests.Contracts;

/// <summary>
/// The job queue's contract: every test here runs against each store (<see cref="SqliteJobStoreTests"/>,
/// <see cref="PostgresJobStoreTests"/>), each on a fresh database of its own.
/// </summary>
public abstract class JobStoreContract : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = new(2025, 5, 20, 10, 30, 15, 123, TimeSpan.Zero);
    protected static readonly IReadOnlySet<string> NoneBusy = new HashSet<string>();

    protected readonly ManualClock _clock = new(T0);

    protected StoreBackend Backend { get; private set; } = null!;

    public async Task InitializeAsync() => Backend = await CreateBackendAsync();

    public async Task DisposeAsync() => await Backend.DisposeAsync();

    /// <summary>A fresh, empty database of this test's own.</summary>
    protected abstract Task<StoreBackend> CreateBackendAsync();

    [Fact]
    public async Task EnqueueAsync_EveryField_RoundTripsThroughGetOnAnotherInstance()
    {
        // Given a request with every field set, and a clock at an odd offset with sub-second ticks
        var store = NewStore();
        var at = new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.FromHours(2)).AddTicks(1234);
        _clock.Now = at;
        var request = new JobRequest(JobKind.Promote, "hello-python", DigestOf("image"), "production", DryRun: true, NoCache: true, Attest: true);

        // When it is enqueued and read back by a fresh instance on the same file
        var queued = await store.EnqueueAsync(request, "release");
        var read = await NewStore().GetAsync(queued.Id);

        // Then every field comes back as stored: queued, attempt 0, nothing finished
        Assert.NotNull(read);
        Assert.True(read.Id > 0);
        Assert.Equal(queued, read);
        Assert.Equal(request, read.Request);
        Assert.Equal("release", read.RequestedBy);
        Assert.Equal(JobState.Queued, read.State);
        Assert.Equal(at.UtcTicks, read.CreatedAt.UtcTicks);
        Assert.Equal(TimeSpan.Zero, read.CreatedAt.Offset);
        Assert.Null(read.StartedAt);
        Assert.Null(read.FinishedAt);
        Assert.Equal(0, read.Attempt);
        Assert.False(read.CancelRequested);
        Assert.Null(read.Error);
        Assert.Null(read.ExitCode);
        Assert.Null(read.ResultJson);
    }

    [Fact]
    public async Task EnqueueAsync_AnyRequest_StoresEnumNamesAndIsoUtcText()
    {
        // Given a store
        var store = NewStore();

        // When a build job is enqueued
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "app"), "ci");

        // Then the row holds names and ISO-8601 UTC text, readable by other tools
        Assert.Equal("Build", await ScalarAsync($"SELECT kind FROM jobs WHERE id = {job.Id};"));
        Assert.Equal("Queued", await ScalarAsync($"SELECT state FROM jobs WHERE id = {job.Id};"));
        Assert.Equal("2025-05-20T10:30:15.1230000Z", await ScalarAsync($"SELECT created_at FROM jobs WHERE id = {job.Id};"));
        Assert.Equal(DBNull.Value, await ScalarAsync($"SELECT digest FROM jobs WHERE id = {job.Id};"));
    }

    [Fact]
    public async Task EnqueueAsync_EmptyRequester_ThrowsArgumentException()
    {
        // Given a store, When a job without requester is enqueued, Then it is refused
        var store = NewStore();
        await Assert.ThrowsAsync<ArgumentException>(() => store.EnqueueAsync(new JobRequest(JobKind.Build, "app"), " "));
    }

    [Fact]
    public async Task GetAsync_UnknownId_ReturnsNull()
    {
        // Given an empty store, When an unknown id is read, Then nothing comes back
        Assert.Null(await NewStore().GetAsync(42));
    }

    [Fact]
    public async Task ClaimNextAsync_SeveralQueued_ClaimsOldestFirstAndMarksRunning()
    {
        // Given three jobs in distinct lanes, the clock stepping BACK between them (acceptance order still wins)
        var store = NewStore();
        var a = await store.EnqueueAsync(new JobRequest(JobKind.Build, "a"), "ci");
        _clock.Now = T0.AddMinutes(-5);
        var b = await store.EnqueueAsync(new JobRequest(JobKind.Build, "b"), "ci");
        var c = await store.EnqueueAsync(new JobRequest(JobKind.Build, "c"), "ci");
        _clock.Now = T0.AddMinutes(1);

        // When claimed three times and once more
        var first = await store.ClaimNextAsync(Lane, NoneBusy);
        var second = await store.ClaimNextAsync(Lane, NoneBusy);
        var third = await store.ClaimNextAsync(Lane, NoneBusy);
        var none = await store.ClaimNextAsync(Lane, NoneBusy);

        // Then they come oldest first, running, first attempt, started now; then nothing
        Assert.Equal([a.Id, b.Id, c.Id], new[] { first!.Id, second!.Id, third!.Id });
        Assert.All([first, second, third], job =>
        {
            Assert.Equal(JobState.Running, job.State);
            Assert.Equal(1, job.Attempt);
            Assert.Equal(T0.AddMinutes(1), job.StartedAt);
        });
        Assert.Null(none);
        Assert.Equal(JobState.Running, (await store.GetAsync(a.Id))!.State);
    }

    [Fact]
    public async Task ClaimNextAsync_BusyLane_SkipsItAndClaimsLaterJobOfFreeLane()
    {
        // Given an older job in lane x/staging and a newer one in y/staging
        var store = NewStore();
        var older = await store.EnqueueAsync(new JobRequest(JobKind.Build, "x"), "ci");
        var newer = await store.EnqueueAsync(new JobRequest(JobKind.Validate, "y"), "ci");

        // When x/staging is busy in the caller
        var claimed = await store.ClaimNextAsync(Lane, new HashSet<string> { "x/staging" });

        // Then the newer job of the free lane is claimed and the older one stays queued
        Assert.Equal(newer.Id, claimed!.Id);
        Assert.Equal(JobState.Queued, (await store.GetAsync(older.Id))!.State);
    }

    [Fact]
    public async Task ClaimNextAsync_OnlyBusyLanesQueued_ReturnsNullAndChangesNothing()
    {
        // Given two queued jobs, both in a busy lane
        var store = NewStore();
        await store.EnqueueAsync(new JobRequest(JobKind.Build, "x"), "ci");
        await store.EnqueueAsync(new JobRequest(JobKind.Validate, "x", DigestOf("d")), "ci");

        // When claimed with that lane busy
        var claimed = await store.ClaimNextAsync(Lane, new HashSet<string> { "x/staging" });

        // Then nothing is claimed and both stay queued at attempt 0
        Assert.Null(claimed);
        var jobs = await store.ListAsync(new JobFilter());
        Assert.All(jobs, job => Assert.Equal((JobState.Queued, 0), (job.State, job.Attempt)));
    }

    [Fact]
    public async Task ClaimNextAsync_LaneOfJobRunningInFile_SkipsUntilItCompletes()
    {
        // Given two jobs of one lane, the first claimed (by "another daemon": the caller's busy set is empty)
        var store = NewStore();
        var first = await store.EnqueueAsync(new JobRequest(JobKind.Build, "x"), "ci");
        var second = await store.EnqueueAsync(new JobRequest(JobKind.Validate, "x"), "ci");
        Assert.Equal(first.Id, (await store.ClaimNextAsync(Lane, NoneBusy))!.Id);

        // When claimed again while the first runs, and again after it completed
        var whileRunning = await NewStore().ClaimNextAsync(Lane, NoneBusy);
        await store.CompleteAsync(first.Id, JobState.Succeeded, 0, null, "{}");
        var afterCompletion = await NewStore().ClaimNextAsync(Lane, NoneBusy);

        // Then the lane's second job waits for the first
        Assert.Null(whileRunning);
        Assert.Equal(second.Id, afterCompletion!.Id);
    }

    [Fact]
    public async Task ClaimNextAsync_ManyQueuedInBusyLaneBeforeFreeOne_ScansPastAPage()
    {
        // Given 150 queued jobs of a busy lane followed by one of a free lane (more than one scan page)
        var store = NewStore();
        for (var i = 0; i < 150; i++)
        {
            await store.EnqueueAsync(new JobRequest(JobKind.Build, "busy"), "ci");
        }

        var free = await store.EnqueueAsync(new JobRequest(JobKind.Build, "free"), "ci");

        // When claimed with the busy lane busy
        var claimed = await store.ClaimNextAsync(Lane, new HashSet<string> { "busy/staging" });

        // Then the free lane's job is found
        Assert.Equal(free.Id, claimed!.Id);
    }

    [Fact]
    public async Task ClaimNextAsync_TwentyConcurrentClaimsFromTwoInstances_OneJobPerLaneEachClaimedOnce()
    {
        // Given 10 jobs in 5 lanes (two per lane) and two store instances on one file
        var stores = new[] { NewStore(), NewStore() };
        var ids = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            ids.Add((await stores[0].EnqueueAsync(new JobRequest(JobKind.Build, $"p{i % 5}"), "ci")).Id);
        }

        // When 20 claims run at once, alternating instances
        var claims = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => stores[i % 2].ClaimNextAsync(Lane, NoneBusy))));

        // Then exactly one job per lane was claimed, each once, and the older of each lane
        var claimed = claims.Where(job => job is not null).Select(job => job!).ToList();
        Assert.Equal(5, claimed.Count);
        Assert.Equal(5, claimed.Select(job => job.Id).Distinct().Count());
        Assert.Equal(5, claimed.Select(Lane).Distinct().Count());
        Assert.Equal(ids.Take(5).Order(), claimed.Select(job => job.Id).Order());
    }

    [Fact]
    public async Task ClaimNextAsync_WorkersOnTwoInstancesDrainQueue_EachJobClaimedExactlyOnceNeverTwoPerLane()
    {
        // Given 10 jobs in 5 lanes and 20 workers over two instances that claim, hold briefly and complete
        var stores = new[] { NewStore(), NewStore() };
        for (var i = 0; i < 10; i++)
        {
            await stores[0].EnqueueAsync(new JobRequest(JobKind.Build, $"p{i % 5}"), "ci");
        }

        var claimCounts = new ConcurrentDictionary<long, int>();
        var runningPerLane = new ConcurrentDictionary<string, int>();
        var overlaps = 0;

        async Task WorkAsync(IJobStore store)
        {
            for (var idle = 0; idle < 40;)
            {
                var job = await store.ClaimNextAsync(Lane, NoneBusy);
                if (job is null)
                {
                    idle++;
                    await Task.Delay(5);
                    continue;
                }

                claimCounts.AddOrUpdate(job.Id, 1, (_, n) => n + 1);
                if (runningPerLane.AddOrUpdate(Lane(job), 1, (_, n) => n + 1) > 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                await Task.Delay(10);
                runningPerLane.AddOrUpdate(Lane(job), 0, (_, n) => n - 1);
                Assert.True(await store.CompleteAsync(job.Id, JobState.Succeeded, 0, null, null));
            }
        }

        // When they all work at once until the queue stays empty
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => WorkAsync(stores[i % 2]))));

        // Then all 10 jobs ran exactly once, never two of a lane at the same time, and all succeeded
        Assert.Equal(10, claimCounts.Count);
        Assert.All(claimCounts.Values, count => Assert.Equal(1, count));
        Assert.Equal(0, overlaps);
        Assert.All(await stores[1].ListAsync(new JobFilter()), job => Assert.Equal((JobState.Succeeded, 1), (job.State, job.Attempt)));
    }

    [Fact]
    public async Task ClaimNextAsync_AfterEachRequeue_IncrementsAttempt()
    {
        // Given a job claimed once
        var store = NewStore();
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Run, "app"), "ci");
        Assert.Equal(1, (await store.ClaimNextAsync(Lane, NoneBusy))!.Attempt);

        // When it is interrupted and claimed again, twice
        await store.RequeueInterruptedAsync();
        var second = await store.ClaimNextAsync(Lane, NoneBusy);
        await store.RequeueInterruptedAsync();
        var third = await store.ClaimNextAsync(Lane, NoneBusy);

        // Then each claim counted an attempt
        Assert.Equal((job.Id, 2), (second!.Id, second.Attempt));
        Assert.Equal((job.Id, 3), (third!.Id, third.Attempt));
    }

    [Fact]
    public async Task CompleteAsync_Running_StoresOutcomeAndFinishedTime()
    {
        // Given a running job
        var store = NewStore();
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Validate, "app", DigestOf("d")), "ci");
        await store.ClaimNextAsync(Lane, NoneBusy);
        _clock.Now = T0.AddSeconds(90);

        // When it completes as failed
        var completed = await store.CompleteAsync(job.Id, JobState.Failed, 1, "validation failed: 1 of 3 tests", """{"passed":false}""");

        // Then the outcome is stored
        Assert.True(completed);
        var read = await store.GetAsync(job.Id);
        Assert.Equal(JobState.Failed, read!.State);
        Assert.Equal(1, read.ExitCode);
        Assert.Equal("validation failed: 1 of 3 tests", read.Error);
        Assert.Equal("""{"passed":false}""", read.ResultJson);
        Assert.Equal(T0.AddSeconds(90), read.FinishedAt);
        Assert.True(read.IsFinal);
    }

    [Fact]
    public async Task CompleteAsync_Queued_ReturnsFalseAndLeavesItQueued()
    {
        // Given a queued job
        var store = NewStore();
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "app"), "ci");

        // When completed, Then nothing changes
        Assert.False(await store.CompleteAsync(job.Id, JobState.Succeeded, 0, null, null));
        Assert.Equal(job, await store.GetAsync(job.Id));
    }

    [Fact]
    public async Task CompleteAsync_AlreadyFinal_ReturnsFalseAndKeepsFirstOutcome()
    {
        // Given a job completed as succeeded
        var store = NewStore();
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "app"), "ci");
        await store.ClaimNextAsync(Lane, NoneBusy);
        Assert.True(await store.CompleteAsync(job.Id, JobState.Succeeded, 0, null, "{}"));
        var first = await store.GetAsync(job.Id);

        // When completed again as failed
        var again = await store.CompleteAsync(job.Id, JobState.Failed, 1, "late", null);

        // Then the first outcome stays
        Assert.False(again);
        Assert.Equal(first, await store.GetAsync(job.Id));
    }

    [Fact]
    public async Task CompleteAsync_UnknownId_ReturnsFalse()
    {
        // Given an empty store, When an unknown job completes, Then false
        Assert.False(await NewStore().CompleteAsync(7, JobState.Succeeded, 0, null, null));
    }

    [Theory]
    [InlineData(JobState.Queued)]
    [InlineData(JobState.Running)]
    public async Task CompleteAsync_LiveState_ThrowsArgumentOutOfRange(JobState state)
    {
        // Given a running job, When completed with a live state, Then it is refused and stays running
        var store = NewStore();
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "app"), "ci");
        await store.ClaimNextAsync(Lane, NoneBusy);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.CompleteAsync(job.Id, state, 0, null, null));
        Assert.Equal(JobState.Running, (await store.GetAsync(job.Id))!.State);
    }

    [Fact]
    public async Task RequestCancelAsync_Queued_CancelsAtOnceAndIsNeverClaimed()
    {
        // Given a queued job
        var store = NewStore();
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "app"), "ci");
        _clock.Now = T0.AddSeconds(3);

        // When cancelled
        var cancelled = await store.RequestCancelAsync(job.Id);

        // Then it is final at once with exit code 1, logged, and never claimed
        Assert.NotNull(cancelled);
        Assert.Equal(JobState.Cancelled, cancelled.State);
        Assert.Equal(1, cancelled.ExitCode);
        Assert.Equal("cancelled before it started", cancelled.Error);
        Assert.Equal(T0.AddSeconds(3), cancelled.FinishedAt);
        Assert.Equal(cancelled, await store.GetAsync(job.Id));
        Assert.Contains(await store.GetLogAsync(job.Id), line => line.Message == "cancelled before it started");
        Assert.Null(await store.ClaimNextAsync(Lane, NoneBusy));
    }

    [Fact]
    public async Task RequestCancelAsync_Running_SetsCancelRequestedAndKeepsRunning()
    {
        // Given a running job
        var store = NewStore();
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Promote, "app", DigestOf("d"), "production"), "release");
        await store.ClaimNextAsync(Lane, NoneBusy);

        // When cancelled (twice: the second is a no-op)
        var requested = await store.RequestCancelAsync(job.Id);
        var again = await store.RequestCancelAsync(job.Id);

        // Then it still runs, flagged, until its worker completes it
        Assert.Equal(JobState.Running, requested!.State);
        Assert.True(requested.CancelRequested);
        Assert.Null(requested.FinishedAt);
        Assert.Equal(requested, again);
        Assert.Single(await store.GetLogAsync(job.Id));
        Assert.True(await store.CompleteAsync(job.Id, JobState.Cancelled, 1, "cancelled", null));
        Assert.Equal(JobState.Cancelled, (await store.GetAsync(job.Id))!.State);
    }

    [Theory]
    [InlineData(JobState.Succeeded)]
    [InlineData(JobState.Failed)]
    [InlineData(JobState.Cancelled)]
    public async Task RequestCancelAsync_Final_LeavesItUnchanged(JobState finalState)
    {
        // Given a final job
        var store = NewStore();
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "app"), "ci");
        await store.ClaimNextAsync(Lane, NoneBusy);
        await store.CompleteAsync(job.Id, finalState, finalState == JobState.Succeeded ? 0 : 1, null, null);
        var before = await store.GetAsync(job.Id);

        // When cancelled
        var after = await store.RequestCancelAsync(job.Id);

        // Then it is unchanged, with no log line added
        Assert.Equal(before, after);
        Assert.False(after!.CancelRequested);
        Assert.Empty(await store.GetLogAsync(job.Id));
    }

    [Fact]
    public async Task RequestCancelAsync_UnknownId_ReturnsNull()
    {
        // Given an empty store, When an unknown job is cancelled, Then null
        Assert.Null(await NewStore().RequestCancelAsync(99));
    }

    [Fact]
    public async Task RequeueInterruptedAsync_AfterRestart_QueuesRunningJobsAgainKeepingAttemptAndFinalOnesAlone()
    {
        // Given a "daemon" with a finished job, two running jobs and one queued, then stopped
        var before = NewStore();
        var done = await before.EnqueueAsync(new JobRequest(JobKind.Build, "a"), "ci");
        var runningB = await before.EnqueueAsync(new JobRequest(JobKind.Build, "b"), "ci");
        var runningC = await before.EnqueueAsync(new JobRequest(JobKind.Promote, "c", DigestOf("c"), "production"), "release");
        var queued = await before.EnqueueAsync(new JobRequest(JobKind.Build, "d"), "ci");
        await before.ClaimNextAsync(Lane, NoneBusy);
        await before.CompleteAsync(done.Id, JobState.Succeeded, 0, null, "{}");
        await before.ClaimNextAsync(Lane, NoneBusy);
        await before.ClaimNextAsync(Lane, NoneBusy);
        var doneBefore = await before.GetAsync(done.Id);
        await Backend.ReleaseStoresAsync();

        // When a new instance starts on the same file and requeues
        var after = NewStore();
        var count = await after.RequeueInterruptedAsync();

        // Then the two running jobs are queued again with their attempt kept and a log line; the rest is untouched
        Assert.Equal(2, count);
        foreach (var id in new[] { runningB.Id, runningC.Id })
        {
            var job = await after.GetAsync(id);
            Assert.Equal(JobState.Queued, job!.State);
            Assert.Equal(1, job.Attempt);
            Assert.Null(job.StartedAt);
            Assert.Equal("interrupted by a daemon stop; queued again", Assert.Single(await after.GetLogAsync(id)).Message);
        }

        Assert.Equal(doneBefore, await after.GetAsync(done.Id));
        Assert.Equal(queued, await after.GetAsync(queued.Id));
        Assert.Equal(0, await after.RequeueInterruptedAsync());

        // And the interrupted jobs are claimed first again (oldest first), as attempt 2
        var reclaimed = await after.ClaimNextAsync(Lane, NoneBusy);
        Assert.Equal((runningB.Id, 2), (reclaimed!.Id, reclaimed.Attempt));
    }

    [Fact]
    public async Task RequeueInterruptedAsync_RunningJobWithCancelRequested_CancelsItInsteadOfRunningAgain()
    {
        // Given a running job whose cancel was requested, then the daemon stopped
        var store = NewStore();
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "app"), "ci");
        await store.ClaimNextAsync(Lane, NoneBusy);
        await store.RequestCancelAsync(job.Id);

        // When interrupted jobs are requeued at start-up
        var count = await NewStore().RequeueInterruptedAsync();

        // Then it is not counted, is Cancelled with exit code 1, and is never claimed
        Assert.Equal(0, count);
        var read = await store.GetAsync(job.Id);
        Assert.Equal(JobState.Cancelled, read!.State);
        Assert.Equal(1, read.ExitCode);
        Assert.Contains("cancel was requested", read.Error);
        Assert.Null(await store.ClaimNextAsync(Lane, NoneBusy));
    }

    [Fact]
    public async Task AppendLogAsync_ConcurrentFromTwoInstances_SequencesFromOneWithoutGapsOrDuplicates()
    {
        // Given a job and two instances
        var stores = new[] { NewStore(), NewStore() };
        var job = await stores[0].EnqueueAsync(new JobRequest(JobKind.Build, "app"), "ci");

        // When 100 lines are appended at once through both
        var entries = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            Task.Run(() => stores[i % 2].AppendLogAsync(job.Id, "output", $"line {i}"))));

        // Then the sequences are exactly 1..100, and the log reads back in that order with the same lines
        Assert.Equal(Enumerable.Range(1, 100).Select(n => (long)n), entries.Select(e => e.Sequence).Order());
        var log = await stores[1].GetLogAsync(job.Id);
        Assert.Equal(Enumerable.Range(1, 100).Select(n => (long)n), log.Select(e => e.Sequence));
        Assert.Equal(entries.OrderBy(e => e.Sequence).Select(e => e.Message), log.Select(e => e.Message));
    }

    [Fact]
    public async Task AppendLogAsync_TwoJobs_EachHasItsOwnSequence()
    {
        // Given two jobs
        var store = NewStore();
        var a = await store.EnqueueAsync(new JobRequest(JobKind.Build, "a"), "ci");
        var b = await store.EnqueueAsync(new JobRequest(JobKind.Build, "b"), "ci");

        // When lines are appended to each
        var a1 = await store.AppendLogAsync(a.Id, "step", "a one");
        var b1 = await store.AppendLogAsync(b.Id, "step", "b one");
        var a2 = await store.AppendLogAsync(a.Id, "detail", "a two");

        // Then sequences count per job and fields round-trip
        Assert.Equal((1L, 1L, 2L), (a1.Sequence, b1.Sequence, a2.Sequence));
        Assert.Equal(new JobLogEntry(2, T0, "detail", "a two"), a2);
        Assert.Equal([a1, a2], await store.GetLogAsync(a.Id));
    }

    [Fact]
    public async Task AppendLogAsync_UnknownJob_ThrowsInputExceptionAndWritesNothing()
    {
        // Given an empty store, When a line is appended to a missing job, Then it is refused
        var store = NewStore();
        var error = await Assert.ThrowsAsync<InputException>(() => store.AppendLogAsync(5, "step", "x"));
        Assert.Contains("no job 5", error.Message);
        Assert.Equal(0L, await ScalarAsync("SELECT COUNT(*) FROM job_log;"));
    }

    [Fact]
    public async Task GetLogAsync_AfterAndLimit_ReturnsTheSliceInOrder()
    {
        // Given a job with 10 lines
        var store = NewStore();
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "app"), "ci");
        for (var i = 1; i <= 10; i++)
        {
            await store.AppendLogAsync(job.Id, "output", $"line {i}");
        }

        // When read after 4, at most 3; and after the last
        var slice = await store.GetLogAsync(job.Id, afterSequence: 4, limit: 3);
        var tail = await store.GetLogAsync(job.Id, afterSequence: 10);

        // Then lines 5..7 come back, and nothing after the end
        Assert.Equal(["line 5", "line 6", "line 7"], slice.Select(e => e.Message));
        Assert.Equal([5L, 6L, 7L], slice.Select(e => e.Sequence));
        Assert.Empty(tail);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.GetLogAsync(job.Id, limit: 0));
    }

    [Fact]
    public async Task ListAsync_Filters_MatchPipelineStageStateKindAndLimitNewestFirst()
    {
        // Given a mix of jobs
        var store = NewStore();
        var buildA = await store.EnqueueAsync(new JobRequest(JobKind.Build, "a"), "ci");
        var promoteAProd = await store.EnqueueAsync(new JobRequest(JobKind.Promote, "a", DigestOf("a"), "production"), "release");
        var runA = await store.EnqueueAsync(new JobRequest(JobKind.Run, "a", Stage: "production"), "ci");
        var validateB = await store.EnqueueAsync(new JobRequest(JobKind.Validate, "b", DigestOf("b")), "ci");
        var promoteBQa = await store.EnqueueAsync(new JobRequest(JobKind.Promote, "b", DigestOf("b"), "qa"), "release");
        var promoteBProd = await store.EnqueueAsync(new JobRequest(JobKind.Promote, "b", DigestOf("b"), "production"), "release");
        await store.ClaimNextAsync(Lane, NoneBusy); // buildA becomes Running

        // When listed with each filter
        async Task<long[]> Ids(JobFilter filter) => (await store.ListAsync(filter)).Select(j => j.Id).ToArray();

        // Then each returns the matching jobs, newest first
        Assert.Equal([promoteBProd.Id, promoteBQa.Id, validateB.Id, runA.Id, promoteAProd.Id, buildA.Id], await Ids(new JobFilter()));
        Assert.Equal([runA.Id, promoteAProd.Id, buildA.Id], await Ids(new JobFilter(Pipeline: "a")));
        Assert.Equal([promoteBProd.Id, promoteAProd.Id], await Ids(new JobFilter(Stage: "production")));
        Assert.Equal([buildA.Id], await Ids(new JobFilter(State: JobState.Running)));
        Assert.Equal([validateB.Id], await Ids(new JobFilter(Kind: JobKind.Validate)));
        Assert.Equal([promoteBProd.Id], await Ids(new JobFilter(Pipeline: "b", Stage: "production", State: JobState.Queued, Kind: JobKind.Promote)));
        Assert.Equal([promoteBProd.Id, promoteBQa.Id], await Ids(new JobFilter(Limit: 2)));
        Assert.Empty(await Ids(new JobFilter(Pipeline: "nope")));
    }

    [Fact]
    public async Task ListAsync_NonPositiveLimit_ThrowsArgumentOutOfRange()
    {
        // Given a store, When listed with limit 0, Then refused
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => NewStore().ListAsync(new JobFilter(Limit: 0)));
    }

    [Fact]
    public async Task GetAsync_RowWithUnknownState_ThrowsJobFailedNamingTheRow()
    {
        // Given a row edited outside Orchestrator
        var store = NewStore();
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "app"), "ci");
        await ExecuteAsync($"UPDATE jobs SET state = 'Paused' WHERE id = {job.Id};");

        // When read, Then the error names the job and the value
        var error = await Assert.ThrowsAsync<JobFailedException>(() => store.GetAsync(job.Id));
        Assert.Contains($"job {job.Id}", error.Message);
        Assert.Contains("'Paused'", error.Message);
    }

    protected static string Lane(Job job) => job.Lane("staging", "production");

    /// <summary>A new store instance on the test's database, as another process would open it.</summary>
    protected IJobStore NewStore() => Backend.NewJobStore(_clock);

    protected Task<object?> ScalarAsync(string sql) => Backend.ScalarAsync(sql);

    protected Task ExecuteAsync(string sql) => Backend.ExecuteAsync(sql);

    protected static Digest DigestOf(string content) => Digest.Sha256Of(System.Text.Encoding.UTF8.GetBytes(content));

    protected static BuildRecord BuildRecordOf(string subject) =>
        new(0, subject, "pipeline", "staging", ImageReference.Parse($"127.0.0.1:5001/apps/{subject}@{DigestOf(subject)}"), ["1"], "1", null, "ci", T0, TimeSpan.FromSeconds(1));
}
