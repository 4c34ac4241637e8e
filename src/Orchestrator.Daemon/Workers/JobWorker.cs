using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;
using Orchestrator.Daemon.Hosting;

namespace Orchestrator.Daemon.Workers;

/// <summary>
/// Runs queued jobs: at most <c>daemon.concurrency</c> at once and one per lane (pipeline and stage).
/// At start it requeues jobs a previous daemon left running. A user's cancel stops a job and stores it
/// Cancelled; the daemon stopping also stops running jobs but leaves them Running in the store, so the
/// next start runs them again (a promotion tags only after verifying, and a rerun copy is idempotent).
/// Every container a job creates carries this daemon's owner and the job's id; at start and after each job
/// the worker removes the containers of its own that no running job owns (<see cref="LeftoverJanitor"/>),
/// which is what a daemon killed mid-validation leaves behind.
/// On a queue shared by several replicas (a store with <see cref="IJobLeases"/>, issue 14) each claim is a lease:
/// the worker renews it every third of the lease while the job runs and cancels the job here if a renewal finds the
/// lease gone (another replica took the job over); at start and every third of a lease it queues again the jobs whose
/// lease expired (their replica died), instead of every Running job, which may be another live replica's.
/// </summary>
/// <remarks>Over 400 lines because claiming, lease heartbeats and sweeps, engine placement and per-engine janitors all
/// act on the one running job; the lease loop is the part to move into its own worker next.</remarks>
internal sealed class JobWorker(
    DaemonOptions options,
    IJobStore store,
    WorkspaceHolder workspace,
    JobSignal signal,
    StaleTracker stale,
    IEnginePool engines,
    ReplicaIdentity replica,
    ILogger<JobWorker> logger) : BackgroundService
{
    /// <summary>Who auto-promotion jobs are recorded as requested by.</summary>
    public const string AutoPromoteActor = "auto-promote";

    /// <summary>Who the watcher's jobs are recorded as requested by.</summary>
    public const string WatchActor = "watch";

    private readonly Dictionary<long, RunningJob> _running = [];
    private readonly Func<Job, JobContext, CancellationToken, Task<JobOutcome>> _execute =
        options.ExecuteJob ?? new JobRunner(store, options.Services, options.LoggerFactory.CreateLogger<JobRunner>()).RunAsync;

    // One janitor per engine of the pool: a job's containers live on the engine it was placed on. The first is also the
    // engine of jobs that take no slot (promotions). A replica's owner label is its own, so one replica's sweep never
    // removes another's running containers.
    private readonly Dictionary<string, LeftoverJanitor> _janitors = engines.Names.ToDictionary(
        name => name,
        name => new LeftoverJanitor(
            engines[name], options.ContainerOwner ?? ContainerOwnership.DaemonOwner(workspace.Config.StatePath), options.LoggerFactory.CreateLogger<LeftoverJanitor>()),
        StringComparer.Ordinal);

    private LeftoverJanitor FirstJanitor => _janitors[engines.Names[0]];

    private readonly IJobLeases? _leases = store as IJobLeases;
    private DateTimeOffset _nextSweep = DateTimeOffset.MinValue;

    private TimeProvider Time => options.Services.Time;

    /// <summary>
    /// The worker's passes (reap, claim every job a free slot and lane allow, look for cancel requests): a whole
    /// pass after a change is the point where the worker would have started a job it may start.
    /// </summary>
    internal PassCounter Passes { get; } = new();

    /// <summary>Jobs run to their end here: outcome stored (or left Running on shutdown) and follow-up jobs queued.</summary>
    internal PassCounter JobsFinished { get; } = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (_leases is null)
            {
                var requeued = await store.RequeueInterruptedAsync(stoppingToken).ConfigureAwait(false);
                if (requeued > 0)
                {
                    logger.LogWarning("Requeued {Count} job(s) a previous daemon left running; they run again now", requeued);
                }
            }

            // Before any job is claimed no job of this daemon runs: every container it owns is a leftover.
            await RemoveLeftoversAsync(new HashSet<long>(), stoppingToken).ConfigureAwait(false);

            while (!stoppingToken.IsCancellationRequested)
            {
                Passes.Begin();
                try
                {
                    await ReapAsync(stoppingToken).ConfigureAwait(false);
                    await SweepExpiredLeasesAsync(stoppingToken).ConfigureAwait(false);
                    await ClaimAsync(stoppingToken).ConfigureAwait(false);
                    await PollCancelsAsync(stoppingToken).ConfigureAwait(false);
                }
                finally
                {
                    Passes.End();
                }

                await signal.WaitAsync(options.PollInterval, Time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception exception)
        {
            // A store that fails must not kill the host silently; the loop is restarted by nobody, so say so.
            logger.LogCritical(exception, "The job worker stopped: no more jobs will run until the daemon is restarted");
            throw;
        }
        finally
        {
            await StopRunningAsync().ConfigureAwait(false);
        }
    }

    /// <summary>On a shared queue: every third of a lease, queue again the jobs of replicas that stopped renewing.</summary>
    private async Task SweepExpiredLeasesAsync(CancellationToken stoppingToken)
    {
        if (_leases is null || Time.GetUtcNow() < _nextSweep)
        {
            return;
        }

        _nextSweep = Time.GetUtcNow() + _leases.LeaseDuration / 3;
        var requeued = await _leases.RequeueExpiredLeasesAsync(stoppingToken).ConfigureAwait(false);
        if (requeued > 0)
        {
            logger.LogWarning("Requeued {Count} job(s) whose replica stopped renewing the lease; they run again now", requeued);
        }
    }

    /// <summary>
    /// Renews <paramref name="running"/>'s lease every third of the lease until the job ends. A renewal that finds the
    /// lease gone cancels the job here; one that fails (database unreachable) is retried at the next beat, and if the
    /// lease runs out meanwhile the next renewal finds it gone.
    /// </summary>
    private async Task RenewLeaseAsync(IJobLeases leases, RunningJob running, CancellationToken token)
    {
        try
        {
            while (!token.IsCancellationRequested)
            {
                await Task.Delay(leases.LeaseDuration / 3, Time, token).ConfigureAwait(false);
                bool held;
                try
                {
                    held = await leases.RenewLeaseAsync(running.Job.Id, token).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    logger.LogWarning("Could not renew the lease of job {JobId}: {Error}; trying again at the next beat", running.Job.Id, exception.Message);
                    continue;
                }

                if (!held)
                {
                    logger.LogWarning("Job {JobId} lost its lease (another replica queued it again); stopping it here", running.Job.Id);
                    running.LeaseLost = true;
                    await running.Cancel.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The job ended or was cancelled.
        }
    }

    private async Task ClaimAsync(CancellationToken stoppingToken)
    {
        var concurrency = Math.Max(1, workspace.Config.Daemon.Concurrency);
        while (_running.Count < concurrency && !stoppingToken.IsCancellationRequested)
        {
            var busy = BusyLanes(_running.Values.Select(r => r.Lane));
            var job = await store.ClaimNextAsync(workspace.LaneOf, busy, stoppingToken).ConfigureAwait(false);
            if (job is null)
            {
                return;
            }

            if (_leases is not null)
            {
                // Which replica ran which attempt stays in the job's log after the lease is cleared.
                try
                {
                    await store.AppendLogAsync(job.Id, "step", $"attempt {job.Attempt} runs on replica {replica.Id} ({replica.Registration.Urls})", stoppingToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    logger.LogWarning("Could not log which replica runs job {JobId}: {Error}", job.Id, exception.Message);
                }
            }

            var running = new RunningJob(job, workspace.LaneOf(job), CancellationTokenSource.CreateLinkedTokenSource(stoppingToken));
            _running[job.Id] = running;
            logger.LogInformation("Job {JobId} started: {Kind} {Pipeline} (attempt {Attempt}, lane {Lane})", job.Id, job.Request.Kind, job.Request.Pipeline, job.Attempt, running.Lane);
            running.Task = Task.Run(() => RunAsync(running, stoppingToken), CancellationToken.None);
        }
    }

    /// <summary>
    /// The lanes a new job may not take. Lanes are compared as strings by the store, but a run's lane
    /// (<c>P/*</c>) covers every stage of P: a running run blocks P's stage lanes, and a job in any stage
    /// lane of P blocks a run of P.
    /// </summary>
    internal IReadOnlySet<string> BusyLanes(IEnumerable<string> runningLanes)
    {
        var busy = new HashSet<string>(StringComparer.Ordinal);
        foreach (var lane in runningLanes)
        {
            busy.Add(lane);
            var pipeline = lane[..lane.LastIndexOf('/')];
            if (lane.EndsWith("/*", StringComparison.Ordinal))
            {
                busy.UnionWith(workspace.Config.Stages.Select(s => $"{pipeline}/{s.Name}"));
            }
            else
            {
                busy.Add($"{pipeline}/*");
            }
        }

        return busy;
    }

    private async Task RunAsync(RunningJob running, CancellationToken stoppingToken)
    {
        var job = running.Job;
        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(running.Cancel.Token);
        var heartbeat = _leases is { } leases ? RenewLeaseAsync(leases, running, heartbeatStop.Token) : Task.CompletedTask;
        try
        {
            JobOutcome outcome;
            try
            {
                // The job runs the content it was submitted with (issue 11, item 9); the definitions are reloaded
                // when they moved on since, and a file edited again after submission fails the job rather than run other content.
                if (await ContentMismatchAsync(job, running.Cancel.Token).ConfigureAwait(false) is { } mismatch)
                {
                    outcome = new JobOutcome(JobState.Failed, ExitCodes.JobFailed, mismatch, null);
                }
                else
                {
                    // Its containers carry this daemon's owner and the job id, so the janitor can tell them from leftovers.
                    // Builds, validations and runs take a slot on an engine of the pool; the runner wraps it the same way.
                    var first = FirstJanitor;
                    var context = new JobContext(workspace.Current, new OwnedDockerEngine(engines[engines.Names[0]], first.Owner, job.Id, first.RecordBrokenBuild, Time))
                    {
                        Engines = engines,
                        OwnEngine = (name, engine) => new OwnedDockerEngine(engine, _janitors[name].Owner, job.Id, _janitors[name].RecordBrokenBuild, Time),
                    };
                    outcome = await _execute(job, context, running.Cancel.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (running.Cancel.IsCancellationRequested)
            {
                outcome = new JobOutcome(JobState.Cancelled, ExitCodes.JobFailed, "cancelled", null);
            }
            catch (Exception exception)
            {
                logger.LogError(exception, "Job {JobId} failed unexpectedly", job.Id);
                outcome = new JobOutcome(JobState.Failed, ExitCodes.JobFailed, $"unexpected {exception.GetType().Name}: {exception.Message}", null);
            }

            // Renewals stop before the outcome is stored, so none can run against a job that already ended.
            await heartbeatStop.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
            if (running.LeaseLost)
            {
                // Another replica owns the job now: its outcome is that replica's to store.
                logger.LogWarning("Job {JobId} stopped here after losing its lease; its outcome is left to the replica running it now", job.Id);
                return;
            }

            if (outcome.State != JobState.Succeeded && stoppingToken.IsCancellationRequested && !running.UserCancelled)
            {
                // Interrupted by the daemon stopping, not by a user: left Running, requeued at the next start.
                // Not only Cancelled: a cancel can surface as an engine or registry failure, which must not be final.
                logger.LogWarning("Job {JobId} interrupted by shutdown; it stays running in the store and runs again at the next start", job.Id);
                return;
            }

            await store.CompleteAsync(job.Id, outcome.State, outcome.ExitCode, outcome.Error, outcome.ResultJson, CancellationToken.None).ConfigureAwait(false);
            logger.LogInformation("Job {JobId} {State} (exit {ExitCode})", job.Id, outcome.State, outcome.ExitCode);
            if (outcome.State == JobState.Succeeded)
            {
                await AfterSuccessAsync(job, outcome).ConfigureAwait(false);
            }
        }
        catch (Exception exception)
        {
            logger.LogError(exception, "Could not store the outcome of job {JobId}; it stays running and runs again at the next start", job.Id);
        }
        finally
        {
            await heartbeatStop.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
            JobsFinished.End();
            signal.Notify();
        }
    }

    /// <summary>Null when the held definitions are the ones <paramref name="job"/> was submitted with (after one reload if needed), else why not.</summary>
    private async Task<string?> ContentMismatchAsync(Job job, CancellationToken cancellationToken)
    {
        if (job.Request.Definition is not { } wanted
            || await workspace.MatchAsync(job.Request.Pipeline, wanted, cancellationToken).ConfigureAwait(false) is not { } differs)
        {
            return null;
        }

        var file = workspace.Current.Pipelines.TryGetValue(job.Request.Pipeline, out var definition) ? definition.SourceFile : job.Request.Pipeline;
        return $"pipeline '{job.Request.Pipeline}' changed after job {job.Id} was submitted ({differs} of {file} is not the content the job was submitted with); " +
            "nothing was run: submit the job again to run the current content";
    }

    /// <summary>
    /// Clears stale after a build or run, and chains auto-promotion: a watcher's build is validated; a
    /// passing validation is promoted to the stage after the first when that stage is listed in
    /// <c>daemon.auto-promote</c>; a promotion to a stage is followed by one to the next stage when that is
    /// listed. Stage by stage, because a promotion copies from the stage before its target.
    /// </summary>
    private async Task AfterSuccessAsync(Job job, JobOutcome outcome)
    {
        var request = job.Request;
        if (request.Kind is JobKind.Build or JobKind.Run)
        {
            stale.Clear(request.Pipeline);
        }

        var config = workspace.Config;
        var auto = config.Daemon.AutoPromoteStages.ToHashSet(StringComparer.Ordinal);
        if (auto.Count == 0 || ReadDigest(outcome.ResultJson) is not { } digest)
        {
            return;
        }

        StageDefinition? next = request.Kind switch
        {
            JobKind.Validate => config.NextStage(config.FirstStage),
            JobKind.Promote when !request.DryRun && config.FindStage(request.Stage ?? workspace.DefaultPromotionStage) is { } reached => config.NextStage(reached),
            _ => null,
        };

        if (request.Kind == JobKind.Build && job.RequestedBy == WatchActor)
        {
            var validate = await store.EnqueueAsync(new JobRequest(JobKind.Validate, request.Pipeline, digest), WatchActor).ConfigureAwait(false);
            logger.LogInformation("Job {JobId} queued to validate {Digest} of {Pipeline} built by the watcher", validate.Id, digest, request.Pipeline);
        }
        else if (next is not null && auto.Contains(next.Name))
        {
            var promote = await store.EnqueueAsync(new JobRequest(JobKind.Promote, request.Pipeline, digest, next.Name), AutoPromoteActor).ConfigureAwait(false);
            logger.LogInformation("Job {JobId} queued to auto-promote {Digest} of {Pipeline} to {Stage}", promote.Id, digest, request.Pipeline, next.Name);
        }
    }

    private static Digest? ReadDigest(string? resultJson)
    {
        if (string.IsNullOrEmpty(resultJson))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(resultJson);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("digest", out var value)
                && Digest.TryParse(value.GetString(), out var digest, out _) ? digest : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async Task ReapAsync(CancellationToken stoppingToken)
    {
        var reaped = 0;
        foreach (var done in _running.Values.Where(r => r.Task?.IsCompleted == true).ToList())
        {
            await done.Task!.ConfigureAwait(false);
            done.Cancel.Dispose();
            _running.Remove(done.Job.Id);
            reaped++;
        }

        // After each job: what a job could not remove itself (an engine that failed mid-cleanup) goes now.
        // Claims happen on this loop only, so no job can start creating containers during the pass.
        // And while a build broke on an engine that went away, until a pass reaches it again.
        if (reaped > 0 || _janitors.Values.Any(j => j.HasBrokenBuilds))
        {
            await RemoveLeftoversAsync(_running.Keys.ToHashSet(), stoppingToken).ConfigureAwait(false);
        }
    }

    // Every engine, down or not: a janitor that cannot reach its engine logs it and keeps what it recorded for the next pass.
    private async Task RemoveLeftoversAsync(IReadOnlySet<long> runningJobs, CancellationToken stoppingToken)
    {
        foreach (var janitor in _janitors.Values)
        {
            await janitor.RemoveLeftoversAsync(runningJobs, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task PollCancelsAsync(CancellationToken stoppingToken)
    {
        foreach (var running in _running.Values.Where(r => !r.UserCancelled).ToList())
        {
            var current = await store.GetAsync(running.Job.Id, stoppingToken).ConfigureAwait(false);
            if (current is { CancelRequested: true })
            {
                logger.LogInformation("Cancelling job {JobId} as requested", running.Job.Id);
                running.UserCancelled = true;
                await running.Cancel.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task StopRunningAsync()
    {
        foreach (var running in _running.Values)
        {
            await running.Cancel.CancelAsync().ConfigureAwait(false);
        }

        // Wait for each job to notice, so nothing writes to the stores after the host has disposed them.
        await Task.WhenAll(_running.Values.Select(r => r.Task ?? Task.CompletedTask)).ConfigureAwait(false);
        foreach (var running in _running.Values)
        {
            running.Cancel.Dispose();
        }

        _running.Clear();
    }

    private sealed class RunningJob(Job job, string lane, CancellationTokenSource cancel)
    {
        public Job Job { get; } = job;

        public string Lane { get; } = lane;

        public CancellationTokenSource Cancel { get; } = cancel;

        public Task? Task { get; set; }

        public volatile bool UserCancelled;

        /// <summary>Set when a lease renewal found the lease gone: the job is another replica's now.</summary>
        public volatile bool LeaseLost;
    }
}
