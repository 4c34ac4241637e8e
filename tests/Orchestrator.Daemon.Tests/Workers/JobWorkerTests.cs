using Orchestrator.Core.Jobs;
using Orchestrator.Daemon.Tests.Fakes;
using Orchestrator.State;

namespace Orchestrator.Daemon.Tests.Workers;

public sealed class JobWorkerTests
{
    [Fact]
    public async Task Worker_ManyJobs_RunsAtMostConcurrencyAndOnePerLane()
    {
        // Given concurrency 2 and blocking jobs: two builds of hello (one lane), a build of other, a promote of hello
        await using var daemon = new DaemonHarness(concurrency: 2);
        daemon.Runner.Block = true;
        await daemon.StartAsync();
        var hello1 = await daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        var hello2 = await daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        var other = await daemon.SubmitAsync(new { kind = "build", pipeline = "other" });
        var promote = await daemon.SubmitAsync(new { kind = "promote", pipeline = "hello", digest = DaemonHarness.DigestOf('1').ToString() });

        // When the worker picks them up
        await daemon.Runner.WaitStartedAsync(hello1.Id);
        await daemon.Runner.WaitStartedAsync(other.Id);
        await daemon.WorkerPassedAsync();

        // Then, after a whole worker pass that could have claimed them, the second hello build waits for its
        // lane, and the promote for a free slot
        Assert.False(daemon.Runner.HasStarted(hello2.Id), "two jobs ran in the lane hello/staging at once");
        Assert.False(daemon.Runner.HasStarted(promote.Id), "more than 2 jobs ran at once");
        Assert.Equal(JobState.Queued, (await daemon.Jobs.GetAsync(hello2.Id))!.State);
        Assert.Equal(JobState.Queued, (await daemon.Jobs.GetAsync(promote.Id))!.State);

        // When the first hello build ends, a slot frees: the oldest claimable job (hello2) runs next
        daemon.Runner.Release(hello1);
        await daemon.Runner.WaitStartedAsync(hello2.Id);
        await daemon.WorkerPassedAsync();
        Assert.Equal(JobState.Queued, (await daemon.Jobs.GetAsync(promote.Id))!.State);

        // When other ends, the promote (lane hello/production, free while hello/staging is busy) runs beside hello2
        daemon.Runner.Release(other);
        await daemon.Runner.WaitStartedAsync(promote.Id);
        daemon.Runner.Release(hello2);
        daemon.Runner.Release(promote);
        foreach (var job in new[] { hello1, hello2, other, promote })
        {
            var done = await daemon.WaitForJobAsync(job.Id, j => j.State == JobState.Succeeded, "succeeded");
            Assert.Equal(0, done.ExitCode);
            Assert.Contains("digest", done.ResultJson);
        }

        Assert.Equal(2, daemon.Runner.MaxConcurrent);
    }

    [Fact]
    public async Task Worker_RunJob_WaitsForEveryLaneOfItsPipelineAndBlocksThem()
    {
        // Given a running build of hello (lane hello/staging)
        await using var daemon = new DaemonHarness(concurrency: 2);
        daemon.Runner.Block = true;
        await daemon.StartAsync();
        var build = await daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await daemon.Runner.WaitStartedAsync(build.Id);

        // When a run of hello (lane hello/*) is queued, with a free slot
        var run = await daemon.SubmitAsync(new { kind = "run", pipeline = "hello" });
        await daemon.WorkerPassedAsync();

        // Then, after a whole worker pass, it still waits for the build, since a run touches every stage of its pipeline
        Assert.Equal(JobState.Queued, (await daemon.Jobs.GetAsync(run.Id))!.State);

        // When the build ends, the run starts, and a promote of hello queued meanwhile waits for the run
        daemon.Runner.Release(build);
        await daemon.Runner.WaitStartedAsync(run.Id);
        var promote = await daemon.SubmitAsync(new { kind = "promote", pipeline = "hello", digest = DaemonHarness.DigestOf('2').ToString() });
        await daemon.WorkerPassedAsync();
        Assert.Equal(JobState.Queued, (await daemon.Jobs.GetAsync(promote.Id))!.State);
        daemon.Runner.Release(run);
        await daemon.Runner.WaitStartedAsync(promote.Id);
        daemon.Runner.Release(promote);
        await daemon.WaitForJobAsync(promote.Id, j => j.IsFinal, "finished");
    }

    [Fact]
    public async Task Restart_JobLeftRunningByAStoppedHost_IsRunAgainOnTheNextStart()
    {
        // Given a daemon running a blocking build
        await using var daemon = new DaemonHarness();
        daemon.Runner.Block = true;
        await daemon.StartAsync();
        var job = await daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await daemon.Runner.WaitStartedAsync(job.Id);

        // When the host stops (as on SIGTERM) mid-job
        await daemon.StopAsync();

        // Then the job is not completed: it stays running, attempt 1
        var stopped = (await daemon.Jobs.GetAsync(job.Id))!;
        Assert.Equal(JobState.Running, stopped.State);
        Assert.Equal(1, stopped.Attempt);

        // When a new daemon starts over the same store
        daemon.Runner = new ScriptedJobs();
        await daemon.StartAsync();

        // Then it runs the job again, as attempt 2, to success
        var rerun = await daemon.WaitForJobAsync(job.Id, j => j.State == JobState.Succeeded, "succeeded after the restart");
        Assert.Equal(2, rerun.Attempt);
        Assert.Equal(2, (await daemon.Runner.WaitStartedAsync(job.Id)).Attempt);
        var log = await daemon.Jobs.GetLogAsync(job.Id);
        Assert.Contains(log, l => l.Message == SqliteJobStore.InterruptedMessage);
    }

    [Fact]
    public async Task Shutdown_JobThatFailsFromTheCancel_IsLeftRunningForTheNextStart()
    {
        // Given a running job that reports the shutdown's cancel as an engine failure
        await using var daemon = new DaemonHarness();
        daemon.Runner.Block = true;
        daemon.Runner.CancelledOutcome = new JobOutcome(JobState.Failed, 1, "the engine at unix:///var/run/docker.sock does not answer", null);
        await daemon.StartAsync();
        var job = await daemon.SubmitAsync(new { kind = "promote", pipeline = "hello", digest = DaemonHarness.DigestOf('3').ToString() });
        await daemon.Runner.WaitStartedAsync(job.Id);

        // When the host stops
        await daemon.StopAsync();

        // Then the failure is not recorded as final: the job stays running, to be run again
        var stored = (await daemon.Jobs.GetAsync(job.Id))!;
        Assert.Equal(JobState.Running, stored.State);
        Assert.Null(stored.ExitCode);
    }

    [Fact]
    public async Task Restart_FinalJob_IsNeverRunAgain()
    {
        // Given a job that succeeded
        await using var daemon = new DaemonHarness();
        await daemon.StartAsync();
        var job = await daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await daemon.WaitForJobAsync(job.Id, j => j.State == JobState.Succeeded, "succeeded");

        // When the daemon restarts
        await daemon.StopAsync();
        daemon.Runner = new ScriptedJobs();
        await daemon.StartAsync();
        await daemon.WorkerPassedAsync();

        // Then, after the new worker's requeue and a whole pass, it is not run again
        Assert.False(daemon.Runner.HasStarted(job.Id));
        Assert.Equal(JobState.Succeeded, (await daemon.Jobs.GetAsync(job.Id))!.State);
        Assert.Equal(1, (await daemon.Jobs.GetAsync(job.Id))!.Attempt);
    }

    [Fact]
    public async Task UserCancel_RunningJob_IsStoppedAndStoredCancelled()
    {
        // Given a running blocking job
        await using var daemon = new DaemonHarness();
        daemon.Runner.Block = true;
        await daemon.StartAsync();
        var job = await daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await daemon.Runner.WaitStartedAsync(job.Id);

        // When a user cancels it
        var response = await daemon.SendAsync(HttpMethod.Post, $"/api/jobs/{job.Id}/cancel", DaemonHarness.CiSecret);
        Assert.True((await DaemonHarness.JsonAsync(response)).GetProperty("cancelRequested").GetBoolean());

        // Then its token is cancelled and it is stored Cancelled with exit code 1; a restart does not rerun it
        var cancelled = await daemon.WaitForJobAsync(job.Id, j => j.State == JobState.Cancelled, "was cancelled");
        Assert.Equal(1, cancelled.ExitCode);
        await daemon.StopAsync();
        daemon.Runner = new ScriptedJobs();
        await daemon.StartAsync();
        await daemon.WorkerPassedAsync();
        Assert.False(daemon.Runner.HasStarted(job.Id));
        Assert.Equal(JobState.Cancelled, (await daemon.Jobs.GetAsync(job.Id))!.State);
    }

    [Fact]
    public async Task AutoPromote_PassingValidate_QueuesPromoteToEachAutoStage()
    {
        // Given auto-promotion to production
        await using var daemon = new DaemonHarness(autoPromote: ["production"]);
        daemon.Runner.Block = true;
        await daemon.StartAsync();
        var digest = DaemonHarness.DigestOf('7');

        // When a validate of that digest passes
        var validate = await daemon.SubmitAsync(new { kind = "validate", pipeline = "hello", digest = digest.ToString() }, DaemonHarness.CiSecret);
        await daemon.Runner.WaitStartedAsync(validate.Id);
        daemon.Runner.Release(validate);
        await daemon.WaitForJobAsync(validate.Id, j => j.State == JobState.Succeeded, "succeeded");

        // Then a promote of that digest to production is queued, requested by auto-promote
        var promote = Assert.Single(await WaitForJobsAsync(daemon, new JobFilter(Pipeline: "hello", Kind: JobKind.Promote)));
        Assert.Equal(digest, promote.Request.Digest);
        Assert.Equal("production", promote.Request.Stage);
        Assert.Equal("auto-promote", promote.RequestedBy);
        daemon.Runner.Release(promote);
    }

    [Fact]
    public async Task AutoPromote_ThreeStages_PromotesStageByStageOnlyToListedStages()
    {
        // Given stages staging, qa, production with auto-promotion to both qa and production
        await using var daemon = new DaemonHarness(autoPromote: ["qa", "production"], withQa: true);
        var digest = DaemonHarness.DigestOf('9');
        await daemon.StartAsync();

        // When a validate passes (jobs succeed at once)
        var validate = await daemon.SubmitAsync(new { kind = "validate", pipeline = "hello", digest = digest.ToString() }, DaemonHarness.CiSecret);

        // Then qa is promoted first, and production only after qa succeeded
        var promotions = await WaitForJobsAsync(daemon, new JobFilter(Kind: JobKind.Promote), count: 2);
        Assert.Equal(["production", "qa"], promotions.Select(p => p.Request.Stage));
        var qa = promotions[1];
        var production = promotions[0];
        Assert.True(qa.Id < production.Id);
        var qaDone = await daemon.WaitForJobAsync(qa.Id, j => j.State == JobState.Succeeded, "succeeded");
        Assert.True(production.CreatedAt >= qaDone.FinishedAt, "production was queued before qa had the digest");
        Assert.All(promotions, p => Assert.Equal(digest, p.Request.Digest));
        Assert.Equal(JobState.Succeeded, (await daemon.Jobs.GetAsync(validate.Id))!.State);
    }

    [Fact]
    public async Task AutoPromote_ProductionOnlyWithQaBetween_WaitsForAManualQaPromotion()
    {
        // Given auto-promotion to production only, with qa between
        await using var daemon = new DaemonHarness(autoPromote: ["production"], withQa: true);
        await daemon.StartAsync();
        var digest = DaemonHarness.DigestOf('6');

        // When a validate passes
        var validate = await daemon.SubmitAsync(new { kind = "validate", pipeline = "hello", digest = digest.ToString() }, DaemonHarness.CiSecret);
        await daemon.WaitForJobAsync(validate.Id, j => j.State == JobState.Succeeded, "succeeded");
        await daemon.JobsFinishedAsync(1);

        // Then, once the worker is done with it (where an auto-promotion would be queued), nothing is promoted
        // (qa is not automatic) until qa is promoted by hand
        Assert.Empty(await daemon.Jobs.ListAsync(new JobFilter(Kind: JobKind.Promote)));
        await daemon.Jobs.EnqueueAsync(new JobRequest(JobKind.Promote, "hello", digest, "qa"), "release");
        var promotions = await WaitForJobsAsync(daemon, new JobFilter(Kind: JobKind.Promote, Stage: "production"));
        Assert.Equal("auto-promote", Assert.Single(promotions).RequestedBy);
    }

    [Fact]
    public async Task AutoPromote_FailedValidate_QueuesNothing()
    {
        // Given auto-promotion to production and a validate that fails
        await using var daemon = new DaemonHarness(autoPromote: ["production"]);
        daemon.Runner.Block = true;
        await daemon.StartAsync();
        var validate = await daemon.SubmitAsync(new { kind = "validate", pipeline = "hello", digest = DaemonHarness.DigestOf('8').ToString() });
        await daemon.Runner.WaitStartedAsync(validate.Id);
        daemon.Runner.Release(validate, new JobOutcome(JobState.Failed, 1, "a test failed", "{\"digest\":\"" + DaemonHarness.DigestOf('8') + "\",\"passed\":false}"));
        await daemon.WaitForJobAsync(validate.Id, j => j.State == JobState.Failed, "failed");
        await daemon.JobsFinishedAsync(1);

        // Then, once the worker is done with it (where an auto-promotion would be queued), no promote is queued
        Assert.Empty(await daemon.Jobs.ListAsync(new JobFilter(Kind: JobKind.Promote)));
    }

    [Fact]
    public async Task AutoPromote_WatcherBuild_QueuesValidateThenPromote()
    {
        // Given auto-promotion to production and a build requested by the watcher
        await using var daemon = new DaemonHarness(autoPromote: ["production"]);
        await daemon.Jobs.InitializeAsync();
        var build = await daemon.Jobs.EnqueueAsync(new JobRequest(JobKind.Build, "hello"), "watch");

        // When the daemon runs it (jobs succeed at once, with ScriptedJobs.ResultDigest)
        await daemon.StartAsync();

        // Then validate (by watch) and promote (by auto-promote) of the built digest follow
        var validate = Assert.Single(await WaitForJobsAsync(daemon, new JobFilter(Kind: JobKind.Validate)));
        Assert.Equal("watch", validate.RequestedBy);
        Assert.Equal(ScriptedJobs.ResultDigest, validate.Request.Digest);
        var promote = Assert.Single(await WaitForJobsAsync(daemon, new JobFilter(Kind: JobKind.Promote)));
        Assert.Equal(ScriptedJobs.ResultDigest, promote.Request.Digest);
        Assert.Equal("auto-promote", promote.RequestedBy);
        Assert.Equal(JobState.Succeeded, (await daemon.Jobs.GetAsync(build.Id))!.State);
    }

    private static async Task<IReadOnlyList<Job>> WaitForJobsAsync(DaemonHarness daemon, JobFilter filter, int count = 1)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var jobs = await daemon.Jobs.ListAsync(filter);
            if (jobs.Count >= count)
            {
                return jobs;
            }

            await Task.Delay(50);
        }

        return [];
    }
}
