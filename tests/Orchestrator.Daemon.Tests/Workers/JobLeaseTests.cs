using Orchestrator.Core.Jobs;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Workers;

/// <summary>
/// The worker on a queue shared by replicas (a store with leases, issue 14): heartbeats while a job runs, a lost lease
/// stops the job here without storing an outcome, start-up requeues only expired leases, and GET /api/replicas.
/// </summary>
public sealed class JobLeaseTests
{
    [Fact]
    public async Task Worker_LeaseRenewedWhileRunning_HeartbeatsUntilTheJobEndsThenStops()
    {
        // Given a shared queue with a 300 ms lease and a blocking job
        await using var daemon = new DaemonHarness();
        var store = new LeasedJobStore(daemon.Jobs, TimeSpan.FromMilliseconds(300));
        daemon.Jobs = store;
        daemon.Runner.Block = true;
        await daemon.StartAsync();
        var job = await daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await daemon.Runner.WaitStartedAsync(job.Id);

        // When two renewals have gone by and the job is released
        await WaitUntilAsync(() => store.Renewed.Count(id => id == job.Id) >= 2, "two lease renewals");
        daemon.Runner.Release(job);

        // Then it is stored succeeded, its log names the replica that ran it, and no renewal follows its end
        await daemon.WaitForJobAsync(job.Id, j => j.State == JobState.Succeeded, "succeeded");
        Assert.Contains(await daemon.Jobs.GetLogAsync(job.Id), line => line.Message.StartsWith("attempt 1 runs on replica replica-under-test", StringComparison.Ordinal));
        await daemon.WorkerPassedAsync();
        var renewals = store.Renewed.Count;
        await daemon.WorkerPassedAsync();
        await daemon.WorkerPassedAsync();
        Assert.Equal(renewals, store.Renewed.Count);
    }

    [Fact]
    public async Task Worker_RenewalFindsTheLeaseGone_CancelsTheJobHereAndStoresNoOutcome()
    {
        // Given a running job on a shared queue whose next renewal will find the lease taken over
        await using var daemon = new DaemonHarness();
        var store = new LeasedJobStore(daemon.Jobs, TimeSpan.FromMilliseconds(300));
        daemon.Jobs = store;
        daemon.Runner.Block = true;
        await daemon.StartAsync();
        var job = await daemon.SubmitAsync(new { kind = "promote", pipeline = "hello", digest = ScriptedJobs.ResultDigest.ToString(), stage = "production" });
        await daemon.Runner.WaitStartedAsync(job.Id);

        // When the lease is lost
        store.Renewals[job.Id] = false;

        // Then the job's work is cancelled here, nothing is stored for it (it stays Running: the other replica owns it), and the log says why
        await WaitUntilAsync(() => daemon.Logs.All.Contains($"Job {job.Id} lost its lease", StringComparison.Ordinal), "the lost lease to be noticed");
        await WaitUntilAsync(() => daemon.Logs.All.Contains($"Job {job.Id} stopped here after losing its lease", StringComparison.Ordinal), "the job to stop");
        var stored = await daemon.Jobs.GetAsync(job.Id);
        Assert.Equal(JobState.Running, stored!.State);
        Assert.Null(stored.FinishedAt);
    }

    [Fact]
    public async Task Worker_SharedQueueAtStart_SweepsExpiredLeasesAndNeverRequeuesEveryRunningJob()
    {
        // Given a shared queue
        await using var daemon = new DaemonHarness();
        var store = new LeasedJobStore(daemon.Jobs, TimeSpan.FromMilliseconds(300));
        daemon.Jobs = store;

        // When the daemon starts and works a few passes
        await daemon.StartAsync();
        await WaitUntilAsync(() => store.ExpiredSweeps >= 2, "two expired-lease sweeps");

        // Then it swept expired leases, and never requeued Running jobs wholesale (another live replica may run them)
        Assert.Equal(0, store.InterruptedRequeues);
    }

    [Fact]
    public async Task Replicas_SqliteDaemon_ShowsItselfAliveAsTheWatcherWithItsRunningJob()
    {
        // Given a daemon alone on its SQLite store with the watcher on, running one blocking job
        await using var daemon = new DaemonHarness { StartWatcher = true };
        daemon.Runner.Block = true;
        await daemon.StartAsync();
        var job = await daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await daemon.Runner.WaitStartedAsync(job.Id);

        // When GET /api/replicas is read (with the read role) once the replica has beaten as the watcher
        System.Text.Json.JsonElement document = default;
        await WaitUntilAsync(
            () =>
            {
                var response = daemon.SendAsync(HttpMethod.Get, "/api/replicas", DaemonHarness.CiSecret).GetAwaiter().GetResult();
                document = DaemonHarness.JsonAsync(response).GetAwaiter().GetResult();
                return document.TryGetProperty("watcher", out _);
            },
            "the replica to report the watcher");

        // Then it lists this one replica, alive, holding the watcher and leasing the running job
        Assert.Equal("sqlite", document.GetProperty("store").GetString());
        var replica = Assert.Single(document.GetProperty("replicas").EnumerateArray());
        Assert.Equal("alive", replica.GetProperty("state").GetString());
        Assert.True(replica.GetProperty("watcher").GetBoolean());
        Assert.Equal(Environment.ProcessId, replica.GetProperty("pid").GetInt32());
        Assert.Equal(job.Id, Assert.Single(replica.GetProperty("leases").EnumerateArray()).GetProperty("job").GetInt64());
        Assert.Equal(replica.GetProperty("id").GetString(), document.GetProperty("watcher").GetString());

        // And without the read role it is refused
        var refused = await daemon.SendAsync(HttpMethod.Get, "/api/replicas", DaemonHarness.BuilderSecret);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);
        daemon.Runner.Release(job);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited 15 s for {what}");
            await Task.Delay(20);
        }
    }
}
