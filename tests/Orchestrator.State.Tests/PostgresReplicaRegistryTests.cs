using Orchestrator.Core.Jobs;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.State.Postgres;
using Orchestrator.State.Tests.Contracts;

namespace Orchestrator.State.Tests;

/// <summary>
/// Several daemon replicas on one PostgreSQL queue (issue 14): the <c>replicas</c> table, the watcher's advisory lock, and
/// the rule that only a job's lease holder stores its outcome. Each test on a <c>replicas_*</c> database of its own.
/// </summary>
[Trait("Category", "Postgres")]
public sealed class PostgresReplicaRegistryTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 18, 0, 0, TimeSpan.Zero);
    private static readonly IReadOnlySet<string> NoneBusy = new HashSet<string>();
    private readonly ManualClock _clock = new(T0);
    private PostgresBackend _backend = null!;

    public async Task InitializeAsync() => _backend = await PostgresBackend.CreateAsync("replicas_");

    public async Task DisposeAsync() => await _backend.DisposeAsync();

    [Fact]
    public async Task ListAsync_TwoReplicasOneLeasingAJob_ShowsEachWithItsLeasesAndTheDeadOneDown()
    {
        // Given replicas a and b registered with 30 s leases, b claiming a promotion, and a heartbeat from each
        var registry = new PostgresReplicaRegistry(_backend.NewDatabase(), _clock);
        var jobsOfB = _backend.NewPostgresJobStore(_clock, leaseOwner: "b", leaseDuration: TimeSpan.FromSeconds(30));
        await registry.RegisterAsync(new ReplicaRegistration("a", "host-a", 11, "http://127.0.0.1:5180", "1.0.0"));
        _clock.Now = T0.AddSeconds(1);
        await registry.RegisterAsync(new ReplicaRegistration("b", "host-b", 22, "http://127.0.0.1:5181", "1.0.0"));
        var job = await jobsOfB.EnqueueAsync(new JobRequest(JobKind.Promote, "replicas-p", null, "production"), "ci");
        await jobsOfB.ClaimNextAsync(j => j.Request.Pipeline, NoneBusy);
        Assert.True(await registry.HeartbeatAsync("a", holdsWatcher: true, TimeSpan.FromSeconds(30)));
        Assert.True(await registry.HeartbeatAsync("b", holdsWatcher: false, TimeSpan.FromSeconds(30)));

        // When 20 s pass and only b beats again, then 15 s more pass (a's row is 5 s past its expiry)
        _clock.Now = T0.AddSeconds(21);
        Assert.True(await registry.HeartbeatAsync("b", holdsWatcher: false, TimeSpan.FromSeconds(30)));
        _clock.Now = T0.AddSeconds(36);
        var records = await registry.ListAsync();
        var document = ReplicasDocument.From("postgres", records, _clock.GetUtcNow());

        // Then b is alive with its lease, a is down and, being down, is not shown as the watcher
        Assert.Equal(["b", "a"], document.Replicas.Select(r => r.Id));
        var b = document.Replicas[0];
        Assert.Equal(("alive", 22, "http://127.0.0.1:5181"), (b.State, b.Pid, b.Urls));
        var lease = Assert.Single(b.Leases);
        Assert.Equal((job.Id, "promote", "replicas-p", "production"), (lease.Job, lease.Kind, lease.Pipeline, lease.Stage));
        Assert.Equal(T0.AddSeconds(31), lease.ExpiresAt);
        var a = document.Replicas[1];
        Assert.Equal("down", a.State);
        Assert.Equal(T0.AddSeconds(1), a.LastHeartbeatAt);
        Assert.False(a.Watcher);
        Assert.Null(document.Watcher);
        Assert.Empty(a.Leases);
    }

    [Fact]
    public async Task HeartbeatAsync_UnknownReplica_ReturnsFalseAndMarkStoppedShowsItDownAtOnce()
    {
        // Given one registered replica
        var registry = new PostgresReplicaRegistry(_backend.NewDatabase(), _clock);
        await registry.RegisterAsync(new ReplicaRegistration("a", "h", 1, "http://127.0.0.1:5180", "v"));
        Assert.True(await registry.HeartbeatAsync("a", true, TimeSpan.FromSeconds(30)));

        // When another id beats, Then it is told to register; When a stops cleanly, Then it is down at once and not the watcher
        Assert.False(await registry.HeartbeatAsync("nobody", false, TimeSpan.FromSeconds(30)));
        Assert.Equal("a", ReplicasDocument.From("postgres", await registry.ListAsync(), _clock.GetUtcNow()).Watcher);
        await registry.MarkStoppedAsync("a");
        var replica = Assert.Single(ReplicasDocument.From("postgres", await registry.ListAsync(), _clock.GetUtcNow()).Replicas);
        Assert.Equal("down", replica.State);
        Assert.False(replica.Watcher);
    }

    [Fact]
    public async Task TryLockWatcherAsync_TwoReplicas_OneHoldsItUntilItsSessionEndsThenTheOtherTakesIt()
    {
        // Given two replicas, each with its own pool (two processes)
        var first = new PostgresReplicaRegistry(_backend.NewDatabase(), _clock);
        var second = new PostgresReplicaRegistry(_backend.NewDatabase(), _clock);

        // When the first takes the watcher lock, Then the second cannot, and the first's handle says it still holds it
        var held = await first.TryLockWatcherAsync();
        Assert.NotNull(held);
        Assert.True(await held.IsHeldAsync());
        Assert.Null(await second.TryLockWatcherAsync());

        // When the first's session is ended by the server (as when its process dies), Then its handle says so and the second takes over
        await _backend.ExecuteAsync(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 3 AND objsubid = 2 AND pid <> pg_backend_pid() " +
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database());");
        Assert.False(await held.IsHeldAsync());
        await held.DisposeAsync();
        var next = await second.TryLockWatcherAsync();
        Assert.NotNull(next);
        Assert.True(await next.IsHeldAsync());
        await next.DisposeAsync();
    }

    [Fact]
    public async Task CompleteAsync_JobTakenOverByAnotherReplica_TheFormerHolderCannotStoreItsOutcome()
    {
        // Given a job claimed by a with a 10 s lease that a stops renewing, requeued after expiry and claimed by b
        var a = _backend.NewPostgresJobStore(_clock, leaseOwner: "a", leaseDuration: TimeSpan.FromSeconds(10));
        var b = _backend.NewPostgresJobStore(_clock, leaseOwner: "b", leaseDuration: TimeSpan.FromSeconds(10));
        var job = await a.EnqueueAsync(new JobRequest(JobKind.Build, "replicas-p"), "ci");
        await a.ClaimNextAsync(j => j.Request.Pipeline, NoneBusy);
        _clock.Now = T0.AddSeconds(11);
        Assert.Equal(1, await b.RequeueExpiredLeasesAsync());
        Assert.Equal(job.Id, (await b.ClaimNextAsync(j => j.Request.Pipeline, NoneBusy))?.Id);

        // When a, still running its copy, tries to store a failure, Then it is refused, and b's outcome is the one stored
        Assert.False(await a.CompleteAsync(job.Id, JobState.Failed, 1, "stale", null));
        Assert.False(await a.RenewLeaseAsync(job.Id));
        Assert.True(await b.CompleteAsync(job.Id, JobState.Succeeded, 0, null, "{}"));
        var stored = await b.GetAsync(job.Id);
        Assert.Equal((JobState.Succeeded, 2), (stored!.State, stored.Attempt));
    }
}
