using Orchestrator.Core.Jobs;
using Orchestrator.State.Postgres;
using Orchestrator.State.Tests.Contracts;

namespace Orchestrator.State.Tests;

/// <summary>
/// The job queue's contract on PostgreSQL, plus what several processes on one queue need: claims with
/// <c>FOR UPDATE SKIP LOCKED</c> from many connections at once, lanes held by the database, leases and their expiry.
/// </summary>
[Trait("Category", "Postgres")]
public sealed class PostgresJobStoreTests : JobStoreContract
{
    private PostgresBackend Postgres => (PostgresBackend)Backend;

    protected override async Task<StoreBackend> CreateBackendAsync() => await PostgresBackend.CreateAsync();

    [Fact]
    public async Task ClaimNextAsync_EightConnectionsRaceOverManyLanes_NoJobClaimedTwiceAndOneRunningPerLane()
    {
        // Given 40 queued jobs over 10 lanes (4 per lane) and 8 stores, each with its own pool (8 processes)
        var setup = NewStore();
        for (var i = 0; i < 40; i++)
        {
            await setup.EnqueueAsync(new JobRequest(JobKind.Build, $"p{i % 10}"), "ci");
        }

        var stores = Enumerable.Range(0, 8).Select(i => Postgres.NewPostgresJobStore(_clock, leaseOwner: $"replica-{i}")).ToArray();
        await Task.WhenAll(stores.Select(store => store.InitializeAsync()));

        // When all of them claim at once, repeatedly, never completing anything
        var claims = await Task.WhenAll(stores.Select(async store =>
        {
            var mine = new List<Job>();
            for (var round = 0; round < 5; round++)
            {
                if (await store.ClaimNextAsync(Lane, NoneBusy) is { } job)
                {
                    mine.Add(job);
                }
            }

            return mine;
        }));

        // Then exactly one job per lane is running (the oldest of each lane), none was handed out twice,
        // and each claim carries the lease of the store that made it
        var all = claims.SelectMany(c => c).ToList();
        Assert.Equal(10, all.Count);
        Assert.Equal(10, all.Select(job => job.Id).Distinct().Count());
        Assert.Equal(10, all.Select(Lane).Distinct().Count());
        Assert.All(all, job => Assert.True(job.Id <= 10, $"job {job.Id} is not the oldest of its lane"));
        Assert.Equal(10L, await ScalarAsync("SELECT count(*) FROM jobs WHERE state = 'Running';"));
        for (var i = 0; i < stores.Length; i++)
        {
            foreach (var job in claims[i])
            {
                Assert.Equal($"replica-{i}", await ScalarAsync($"SELECT lease_owner FROM jobs WHERE id = {job.Id};"));
            }
        }
    }

    [Fact]
    public async Task ClaimNextAsync_RowLockedByAnotherTransaction_SkipsItInsteadOfWaiting()
    {
        // Given two queued jobs in different lanes, the older one locked by another session's open transaction
        var store = NewStore();
        var locked = await store.EnqueueAsync(new JobRequest(JobKind.Build, "a"), "ci");
        var free = await store.EnqueueAsync(new JobRequest(JobKind.Build, "b"), "ci");
        await using var other = new Npgsql.NpgsqlConnection(Postgres.ConnectionString + ";Pooling=false");
        await other.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await using (var lockRow = new Npgsql.NpgsqlCommand($"SELECT id FROM jobs WHERE id = {locked.Id} FOR UPDATE;", other, transaction))
        {
            await lockRow.ExecuteScalarAsync();
        }

        // When a store claims (with a deadline far below any lock wait)
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var claimed = await NewStore().ClaimNextAsync(Lane, NoneBusy, deadline.Token);

        // Then it skipped the locked row and took the next one, without waiting for the lock
        Assert.Equal(free.Id, claimed!.Id);
        await transaction.RollbackAsync();
        Assert.Equal(locked.Id, (await NewStore().ClaimNextAsync(Lane, NoneBusy))!.Id);
    }

    [Fact]
    public async Task RequeueExpiredLeasesAsync_LeaseNotRenewed_QueuesTheJobAgainForAnotherReplica()
    {
        // Given a job claimed by replica A with a 30 s lease, and one claimed by replica B that keeps renewing
        var a = Postgres.NewPostgresJobStore(_clock, leaseOwner: "a", leaseDuration: TimeSpan.FromSeconds(30));
        var b = Postgres.NewPostgresJobStore(_clock, leaseOwner: "b", leaseDuration: TimeSpan.FromSeconds(30));
        var lost = await a.EnqueueAsync(new JobRequest(JobKind.Build, "x"), "ci");
        var kept = await a.EnqueueAsync(new JobRequest(JobKind.Build, "y"), "ci");
        Assert.Equal(lost.Id, (await a.ClaimNextAsync(Lane, NoneBusy))!.Id);
        Assert.Equal(kept.Id, (await b.ClaimNextAsync(Lane, NoneBusy))!.Id);

        // When 20 s pass (nothing expired yet), B renews, 20 s more pass (A's lease is 10 s past), and B requeues expired leases
        _clock.Now = T0.AddSeconds(20);
        Assert.Equal(0, await b.RequeueExpiredLeasesAsync());
        Assert.True(await b.RenewLeaseAsync(kept.Id));
        _clock.Now = T0.AddSeconds(40);
        var requeued = await b.RequeueExpiredLeasesAsync();

        // Then only A's job is queued again, with its attempt kept and a log line saying why; B's job runs on
        Assert.Equal(1, requeued);
        var again = await b.GetAsync(lost.Id);
        Assert.Equal((JobState.Queued, 1), (again!.State, again.Attempt));
        Assert.Null(again.StartedAt);
        Assert.Equal(PostgresJobStore.LeaseExpiredMessage, Assert.Single(await b.GetLogAsync(lost.Id)).Message);
        Assert.Equal(JobState.Running, (await b.GetAsync(kept.Id))!.State);
        Assert.Equal(DBNull.Value, await ScalarAsync($"SELECT lease_owner FROM jobs WHERE id = {lost.Id};"));

        // And A, waking up, cannot renew the job it lost, while B takes it over as attempt 2
        Assert.False(await a.RenewLeaseAsync(lost.Id));
        var takenOver = await b.ClaimNextAsync(Lane, NoneBusy);
        Assert.Equal((lost.Id, 2), (takenOver!.Id, takenOver.Attempt));
        Assert.Equal("b", await ScalarAsync($"SELECT lease_owner FROM jobs WHERE id = {lost.Id};"));
    }

    [Fact]
    public async Task RequeueExpiredLeasesAsync_ExpiredJobWithCancelRequested_CancelsItInsteadOfRunningAgain()
    {
        // Given a running job whose cancel was requested, then whose lease ran out
        var store = Postgres.NewPostgresJobStore(_clock, leaseDuration: TimeSpan.FromSeconds(5));
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "x"), "ci");
        await store.ClaimNextAsync(Lane, NoneBusy);
        await store.RequestCancelAsync(job.Id);
        _clock.Now = T0.AddSeconds(6);

        // When expired leases are requeued
        var requeued = await store.RequeueExpiredLeasesAsync();

        // Then it is Cancelled, not queued again
        Assert.Equal(0, requeued);
        var now = await store.GetAsync(job.Id);
        Assert.Equal(JobState.Cancelled, now!.State);
        Assert.Equal(PostgresJobStore.CancelledByStop, now.Error);
    }

    [Fact]
    public async Task CompleteAsync_RunningJob_ClearsItsLease()
    {
        // Given a claimed job
        var store = Postgres.NewPostgresJobStore(_clock, leaseOwner: "me");
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "x"), "ci");
        await store.ClaimNextAsync(Lane, NoneBusy);
        Assert.Equal("2025-05-20T10:31:15.1230000Z", await ScalarAsync($"SELECT lease_expires_at FROM jobs WHERE id = {job.Id};"));

        // When it completes, Then the lease is gone and a heartbeat says so
        Assert.True(await store.CompleteAsync(job.Id, JobState.Succeeded, 0, null, null));
        Assert.Equal(DBNull.Value, await ScalarAsync($"SELECT lease_owner FROM jobs WHERE id = {job.Id};"));
        Assert.False(await store.RenewLeaseAsync(job.Id));
    }

    [Fact]
    public async Task GetChangeTokenAsync_WriteFromAnotherProcessMovesIt_ReadsDoNot()
    {
        // Given two stores with their own pools and a job
        var reader = NewStore();
        var writer = NewStore();
        var job = await writer.EnqueueAsync(new JobRequest(JobKind.Build, "x"), "ci");
        var first = await reader.GetChangeTokenAsync();

        // When only reads happen, Then the token stays; When the other store claims and completes, Then it moves each time
        await reader.ListAsync(new JobFilter());
        await reader.GetAsync(job.Id);
        Assert.Equal(first, await reader.GetChangeTokenAsync());
        await writer.ClaimNextAsync(Lane, NoneBusy);
        var afterClaim = await reader.GetChangeTokenAsync();
        Assert.NotEqual(first, afterClaim);
        await writer.CompleteAsync(job.Id, JobState.Succeeded, 0, null, null);
        Assert.NotEqual(afterClaim, await reader.GetChangeTokenAsync());
        Assert.NotNull(first);
    }

    [Fact]
    public async Task InitializeAsync_EmptyDatabase_MigratesToTheSqliteSchemaVersionAndRerunsAsNoOp()
    {
        // Given an empty database
        var store = NewStore();

        // When the schema is migrated, then migrated again by this and by a new instance
        await store.InitializeAsync();
        var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "x"), "ci");
        await store.InitializeAsync();
        await NewStore().InitializeAsync();

        // Then it is at the same version number as the SQLite store, every table is there once, and nothing was lost
        Assert.Equal(SqliteStateStore.SchemaVersion, PostgresStateDatabase.SchemaVersion);
        Assert.Equal(PostgresStateDatabase.SchemaVersion, await ScalarAsync("SELECT version FROM schema_version;"));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM schema_version;"));
        Assert.Equal(
            9L,
            await ScalarAsync(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN " +
                "('builds', 'validations', 'validation_results', 'promotions', 'jobs', 'job_log', 'job_changes', 'mount_hints', 'schema_version');"));
        Assert.NotNull(await NewStore().GetAsync(job.Id));
    }

    [Fact]
    public async Task InitializeAsync_SixProcessesStartAtOnce_MigrateOnceWithoutError()
    {
        // Given six stores with their own pools on an empty database
        var stores = Enumerable.Range(0, 6).Select(_ => NewStore()).ToArray();

        // When they all initialise at the same moment
        await Task.WhenAll(stores.Select(store => store.InitializeAsync()));

        // Then the advisory lock let one migrate and the others see the result
        Assert.Equal(PostgresStateDatabase.SchemaVersion, await ScalarAsync("SELECT version FROM schema_version;"));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM job_changes;"));
    }

    [Fact]
    public async Task InitializeAsync_DatabaseFromNewerVersion_ThrowsJobFailedSayingToUpgrade()
    {
        // Given a database whose schema version is ahead of this code
        await NewStore().InitializeAsync();
        await ExecuteAsync($"UPDATE schema_version SET version = {PostgresStateDatabase.SchemaVersion + 1};");

        // When a new instance initialises, Then it refuses, saying what to do
        var error = await Assert.ThrowsAsync<Orchestrator.Core.Errors.JobFailedException>(() => NewStore().InitializeAsync());
        Assert.Contains("upgrade Orchestrator", error.Message);
    }

    [Fact]
    public async Task TryLockDaemonAsync_SecondDaemon_GetsNullUntilTheFirstReleases()
    {
        // Given one daemon holding the lock
        await using var first = Postgres.NewDatabase();
        await using var second = Postgres.NewDatabase();
        var held = await first.TryLockDaemonAsync();
        Assert.NotNull(held);

        // When a second daemon tries, Then it is refused; after the first releases, it gets it
        Assert.Null(await second.TryLockDaemonAsync());
        await held.DisposeAsync();
        var next = await second.TryLockDaemonAsync();
        Assert.NotNull(next);
        await next.DisposeAsync();
    }
}
