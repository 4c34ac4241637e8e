using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Workflows;
using Orchestrator.Daemon.Api;

namespace Orchestrator.Daemon.Hosting;

/// <summary>
/// What the daemon runs on. The caller composes the services (the <c>daemon</c> verb through
/// ComposedServices, tests from fakes); the init-only members are seams with production defaults.
/// </summary>
/// <param name="Workspace">The definitions at start; the watcher reloads them through <see cref="ReloadWorkspace"/>.</param>
/// <param name="Services">The workflows wired over the engine, registries, copier and state the jobs run on.</param>
/// <param name="Jobs">The persisted job queue.</param>
/// <param name="LoggerFactory">Where logs go (the verb passes a Serilog factory).</param>
/// <param name="Urls">Where to listen (<c>;</c>-separated); null for <c>daemon.urls</c> of orchestrator.yaml.</param>
public sealed record DaemonOptions(Workspace Workspace, WorkflowGraph Services, IJobStore Jobs, ILoggerFactory LoggerFactory, string? Urls = null)
{
    /// <summary>Reads token secrets; <see cref="Environment.GetEnvironmentVariable(string)"/> by default.</summary>
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>
    /// Takes the lock that makes this the one daemon on the store (null when another holds it); null for the SQLite
    /// file's <c>state.db.daemon.lock</c>. For <c>state: postgres</c> it is a PostgreSQL advisory lock.
    /// </summary>
    public Func<CancellationToken, Task<IAsyncDisposable?>>? LockStore { get; init; }

    /// <summary>Reloads the definitions on each watch tick; null keeps <see cref="Workspace"/> for good.</summary>
    public Func<CancellationToken, Task<Workspace>>? ReloadWorkspace { get; init; }

    /// <summary>Runs one claimed job; null for <see cref="JobRunner.RunAsync"/>. Must not throw for the job's own failure.</summary>
    public Func<Job, JobContext, CancellationToken, Task<JobOutcome>>? ExecuteJob { get; init; }

    /// <summary>Status, history and releases; null for the one backed by ReleaseWorkflow.</summary>
    public IReleaseQueries? Releases { get; init; }

    /// <summary>
    /// The engines builds, validations and runs are placed on (<c>engines:</c>, issue 14 item 3); null for a pool of one over
    /// <see cref="WorkflowGraph.Engine"/> with <c>daemon.concurrency</c> slots. Fixed at start: a changed <c>engines:</c> needs a restart.
    /// </summary>
    public IEnginePool? Engines { get; init; }

    /// <summary>How often the worker looks for queued jobs and cancel requests when nothing wakes it. <value>1 s.</value></summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long <c>/healthz</c> waits for the engine and each registry. <value>3 s.</value></summary>
    public TimeSpan HealthTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Overrides <c>daemon.watch-interval-seconds</c> (tests).</summary>
    public TimeSpan? WatchInterval { get; init; }

    /// <summary>False to run without the pipeline watcher (tests that drive it by hand still get it as a service).</summary>
    public bool StartWatcher { get; init; } = true;

    /// <summary>
    /// The replicas on the job queue (issue 14): for <c>state: postgres</c>, the database's <c>replicas</c> table and watcher
    /// lock; null for a daemon alone on its store (SQLite), which reports itself from memory and always runs the watcher.
    /// </summary>
    public IReplicaRegistry? Replicas { get; init; }

    /// <summary>
    /// The <c>io.orchestrator.owner</c> value of this daemon's containers; null for <see cref="ContainerOwnership.DaemonOwner"/>
    /// of the state path. Replicas sharing a PostgreSQL queue each need their own (see <see cref="ContainerOwnership.ReplicaOwner"/>),
    /// or one replica's janitor would remove another's running containers.
    /// </summary>
    public string? ContainerOwner { get; init; }

    /// <summary>The settings in effect.</summary>
    public DaemonSettings Settings => Workspace.Config.Daemon;

    /// <summary>Where the daemon listens.</summary>
    public string EffectiveUrls => string.IsNullOrWhiteSpace(Urls) ? Settings.Urls : Urls;
}
