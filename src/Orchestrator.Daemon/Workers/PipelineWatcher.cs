using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Locks;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;
using Orchestrator.Daemon.Hosting;

namespace Orchestrator.Daemon.Workers;

/// <summary>
/// Every <c>daemon.watch-interval-seconds</c> (and once at start, as the baseline) fingerprints each
/// pipeline: its file, its lock (<c>NAME.lock.yaml</c> beside it, if any), every file it copies, and its
/// base variant's digest in the first stage. A changed fingerprint marks the pipeline changed and, for
/// <c>auto: build</c>, queues a build unless one is already queued or running. Every tick also checks each
/// lock with <see cref="LockWorkflow.CheckAsync"/>, the rule <c>lock --check</c> uses, and records the answer
/// as the pipeline's staleness, so the daemon and <c>lock --check</c> never disagree.
/// With several replicas on one queue (issue 14) it ticks only on the replica holding the watcher lock
/// (<see cref="IReplicaRegistry.TryLockWatcherAsync"/>); the others try to take it every third of a lease, so when the
/// holder dies another carries on, taking its own baseline first.
/// </summary>
internal sealed class PipelineWatcher(
    DaemonOptions options,
    IJobStore store,
    WorkspaceHolder workspace,
    StaleTracker stale,
    JobSignal signal,
    IReplicaRegistry replicas,
    ReplicaIdentity identity,
    ILogger<PipelineWatcher> logger) : BackgroundService
{
    private volatile bool _holdsLock;

    private readonly Dictionary<string, Fingerprint> _known = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _tick = new(1, 1);
    private bool _baselineTaken;

    /// <summary>What a pipeline's build depends on. Hashes are hex SHA-256; null means absent.</summary>
    internal sealed record Fingerprint(string Definition, string? Lock, string Files, Digest? BaseDigest, bool BaseKnown)
    {
        /// <summary>A Python pipeline's build base digest (null for others, or when it could not be read).</summary>
        public Digest? BuildBaseDigest { get; init; }

        /// <summary>False when the build base's digest could not be read this time.</summary>
        public bool BuildBaseKnown { get; init; } = true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.StartWatcher)
        {
            return;
        }

        var interval = options.WatchInterval ?? workspace.Config.Daemon.WatchInterval;
        var retry = interval < identity.HeartbeatInterval ? interval : identity.HeartbeatInterval;
        IHeldLock? held = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                held = await HoldLockAsync(held, stoppingToken).ConfigureAwait(false);
                if (held is not null)
                {
                    try
                    {
                        await CheckOnceAsync(stoppingToken).ConfigureAwait(false);
                    }
                    catch (Exception exception) when (exception is not OperationCanceledException)
                    {
                        logger.LogError(exception, "Watch tick failed; trying again in {Interval}", interval);
                    }
                }

                await Task.Delay(held is null ? retry : interval, options.Services.Time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            _holdsLock = false;
            if (held is not null)
            {
                await held.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Whether this replica holds the watcher lock now (always, alone on a SQLite store, once the watcher started).</summary>
    public bool HoldsLock => _holdsLock;

    // Keeps the lock if it is still held, else tries to take it; a lost lock drops the baseline, so a later takeover starts afresh.
    private async Task<IHeldLock?> HoldLockAsync(IHeldLock? held, CancellationToken cancellationToken)
    {
        try
        {
            if (held is not null)
            {
                if (await held.IsHeldAsync(cancellationToken).ConfigureAwait(false))
                {
                    return held;
                }

                logger.LogWarning("Replica {ReplicaId} lost the watcher lock (its database session ended); another replica may watch now", identity.Id);
                _holdsLock = false;
                await held.DisposeAsync().ConfigureAwait(false);
                _known.Clear();
                _baselineTaken = false;
            }

            var taken = await replicas.TryLockWatcherAsync(cancellationToken).ConfigureAwait(false);
            if (taken is not null)
            {
                _holdsLock = true;
                logger.LogInformation("Replica {ReplicaId} holds the watcher lock: it watches the pipelines now", identity.Id);
            }

            return taken;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogWarning("Could not take the watcher lock: {Error}; trying again later", exception.Message);
            return null;
        }
    }

    /// <summary>The watcher's ticks, its own and those run through <see cref="CheckOnceAsync"/>.</summary>
    internal PassCounter Ticks { get; } = new();

    /// <summary>One tick: reload, fingerprint, mark and queue. The first call only takes the baseline.</summary>
    public async Task CheckOnceAsync(CancellationToken cancellationToken = default)
    {
        await _tick.WaitAsync(cancellationToken).ConfigureAwait(false);
        Ticks.Begin();
        try
        {
            var current = await ReloadAsync(cancellationToken).ConfigureAwait(false);

            // The tick's own scope: every lock is checked on the definitions this tick loaded, even if a request reloads them meanwhile.
            var locks = options.Services.Create(new WorkflowScope(new FixedWorkspace(current), NullJobReporter.Instance, new EnvironmentActorProvider())).Locks;
            foreach (var pipeline in current.Pipelines.Values.OrderBy(p => p.Name, StringComparer.Ordinal))
            {
                await CheckLockAsync(locks, pipeline, cancellationToken).ConfigureAwait(false);
                Fingerprint fingerprint;
                try
                {
                    fingerprint = await ComputeAsync(current, pipeline, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    logger.LogWarning(exception, "Could not fingerprint pipeline {Pipeline}; checking again next tick", pipeline.Name);
                    continue;
                }

                if (!_known.TryGetValue(pipeline.Name, out var previous))
                {
                    _known[pipeline.Name] = fingerprint;
                    if (_baselineTaken)
                    {
                        await ChangedAsync(pipeline, "new pipeline", cancellationToken).ConfigureAwait(false);
                    }

                    continue;
                }

                // An unreachable registry gives no base digest: keep the last one rather than call it a change.
                if (!fingerprint.BaseKnown)
                {
                    fingerprint = fingerprint with { BaseDigest = previous.BaseDigest, BaseKnown = previous.BaseKnown };
                }

                _known[pipeline.Name] = fingerprint;
                if (Describe(previous, fingerprint, pipeline) is { } reason)
                {
                    await ChangedAsync(pipeline, reason, cancellationToken).ConfigureAwait(false);
                }
            }

            _baselineTaken = true;
        }
        finally
        {
            Ticks.End();
            _tick.Release();
        }
    }

    private Task<Workspace> ReloadAsync(CancellationToken cancellationToken) => workspace.RefreshAsync(cancellationToken);

    // The same call 'lock --check' makes, on the definitions as they are now: one rule, one answer. A registry that
    // does not answer leaves the last answer in place; any other refusal (the base not built) is the stale reason,
    // as 'lock --check' would print it.
    private async Task CheckLockAsync(LockWorkflow locks, PipelineDefinition pipeline, CancellationToken cancellationToken)
    {
        string? staleMessage;
        try
        {
            var status = await locks.CheckAsync(pipeline.Name, cancellationToken).ConfigureAwait(false);
            staleMessage = status.IsFresh ? null : status.Message;
        }
        catch (UnavailableException exception)
        {
            logger.LogWarning("Could not check the lock of {Pipeline}: {Error}", pipeline.Name, exception.Message);
            return;
        }
        catch (OrchestratorException exception)
        {
            staleMessage = exception.Message;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Could not check the lock of {Pipeline}: {Error}", pipeline.Name, exception.Message);
            return;
        }

        stale.SetLock(pipeline.Name, staleMessage, options.Services.Time.GetUtcNow());
    }

    private async Task ChangedAsync(PipelineDefinition pipeline, string reason, CancellationToken cancellationToken)
    {
        logger.LogInformation("Pipeline {Pipeline} changed since its last build: {Reason}", pipeline.Name, reason);
        stale.Mark(pipeline.Name, reason, options.Services.Time.GetUtcNow());
        if (pipeline.Auto != AutoMode.Build)
        {
            return;
        }

        foreach (var kind in new[] { JobKind.Build, JobKind.Run })
        {
            foreach (var state in new[] { JobState.Queued, JobState.Running })
            {
                var pending = await store.ListAsync(new JobFilter(pipeline.Name, null, state, kind, 1), cancellationToken).ConfigureAwait(false);
                if (pending.Count > 0)
                {
                    logger.LogInformation("Pipeline {Pipeline} already has {Kind} job {JobId} {State}; not queueing another", pipeline.Name, kind, pending[0].Id, state);
                    return;
                }
            }
        }

        // Pinned to the content this tick loaded, like a client's job.
        var request = new JobRequest(JobKind.Build, pipeline.Name) { Definition = workspace.HashesOf(pipeline.Name) };
        var job = await store.EnqueueAsync(request, JobWorker.WatchActor, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Job {JobId} queued: build {Pipeline} (auto: build, {Reason})", job.Id, pipeline.Name, reason);
        signal.Notify();
    }

    private static string? Describe(Fingerprint before, Fingerprint after, PipelineDefinition pipeline)
    {
        var reasons = new List<string>();
        if (before.Definition != after.Definition)
        {
            reasons.Add($"{Path.GetFileName(pipeline.SourceFile)} changed");
        }

        if (before.Lock != after.Lock)
        {
            reasons.Add(after.Lock is null ? "its lock file was removed" : before.Lock is null ? "a lock file appeared" : "its lock file changed");
        }

        if (before.Files != after.Files)
        {
            reasons.Add("a file it copies changed");
        }

        if (before.BaseKnown && after.BaseKnown && before.BaseDigest != after.BaseDigest)
        {
            reasons.Add($"base {pipeline.Base} moved from {before.BaseDigest?.ToShortString() ?? "nothing"} to {after.BaseDigest?.ToShortString() ?? "nothing"}");
        }

        if (pipeline.Python is { } python && before.BuildBaseKnown && after.BuildBaseKnown && before.BuildBaseDigest != after.BuildBaseDigest)
        {
            reasons.Add($"build base {python.BuildBase} moved from {before.BuildBaseDigest?.ToShortString() ?? "nothing"} to {after.BuildBaseDigest?.ToShortString() ?? "nothing"}");
        }

        return reasons.Count == 0 ? null : string.Join("; ", reasons);
    }

    private async Task<Fingerprint> ComputeAsync(Workspace current, PipelineDefinition pipeline, CancellationToken cancellationToken)
    {
        var definition = await HashFileAsync(pipeline.SourceFile, cancellationToken).ConfigureAwait(false) ?? "missing";
        var lockHash = await HashFileAsync(pipeline.LockFile, cancellationToken).ConfigureAwait(false);

        using var files = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in pipeline.Files)
        {
            files.AppendData(System.Text.Encoding.UTF8.GetBytes(file.Source + "\n" + (await HashFileAsync(file.Source, cancellationToken).ConfigureAwait(false) ?? "missing") + "\n"));
        }

        if (pipeline.Python is { } python)
        {
            // python: requirements, project and wheelhouse files are inputs too (their bytes, as the build sees them).
            files.AppendData(Core.Workflows.PythonBuildContext.CanonicalInputs(python));
        }

        var (baseDigest, baseKnown) = await BaseDigestAsync(current, pipeline.Base, cancellationToken).ConfigureAwait(false);
        var fingerprint = new Fingerprint(definition, lockHash, Convert.ToHexStringLower(files.GetHashAndReset()), baseDigest, baseKnown);
        if (pipeline.Python is { } withBuildBase)
        {
            var (buildBaseDigest, buildBaseKnown) = await BaseDigestAsync(current, withBuildBase.BuildBase, cancellationToken).ConfigureAwait(false);
            fingerprint = fingerprint with { BuildBaseDigest = buildBaseDigest, BuildBaseKnown = buildBaseKnown };
        }

        return fingerprint;
    }

    private async Task<(Digest? Digest, bool Known)> BaseDigestAsync(Workspace current, BaseVariantRef baseVariant, CancellationToken cancellationToken)
    {
        if (!current.Bases.TryGetValue(baseVariant.BaseName, out var definition))
        {
            return (null, true);
        }

        try
        {
            var head = await options.Services.Registries.Create(current.Config.FirstStage.Registry)
                .HeadManifestAsync(definition.Repository, baseVariant.Variant, cancellationToken).ConfigureAwait(false);
            return (head?.Digest, true);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogWarning("Could not read the digest of base {Base} in {Stage}: {Error}", baseVariant, current.Config.FirstStage.Name, exception.Message);
            return (null, false);
        }
    }

    private static async Task<string?> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }

    public override void Dispose()
    {
        _tick.Dispose();
        base.Dispose();
    }
}
