using Microsoft.Extensions.Logging;
using Orchestrator.Core.Locks;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Sbom;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// The one place the workflows are wired to each other and to the ports, by hand (no container, nothing
/// resolved by reflection, so it stays AOT-clean). The composition root (Orchestrator.Composition) makes one
/// over the real edges; unit tests make one over fakes, so they run the wiring production runs.
/// </summary>
/// <remarks>
/// Wiring does no I/O and allocates a few objects, so each scope gets its own <see cref="WorkflowSet"/>:
/// a CLI call, a daemon job (its log as reporter, its submitter as actor, an engine that labels its
/// containers), the daemon's long-lived queries (the reloaded workspace). The ports are shared by all.
/// </remarks>
public sealed class WorkflowGraph(
    IDockerEngine engine,
    IRegistryClientFactory registries,
    IImageCopier copier,
    IStateStore state,
    IRootfsBuilder rootfs,
    TimeProvider time,
    ILoggerFactory loggers)
{
    /// <summary>The engine every scope uses unless it brings its own (<see cref="WorkflowScope.Engine"/>).</summary>
    public IDockerEngine Engine { get; } = engine ?? throw new ArgumentNullException(nameof(engine));

    /// <summary>The registry clients, per registry endpoint.</summary>
    public IRegistryClientFactory Registries { get; } = registries ?? throw new ArgumentNullException(nameof(registries));

    /// <summary>The state store the workflows record to.</summary>
    public IStateStore State { get; } = state ?? throw new ArgumentNullException(nameof(state));

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; } = time ?? throw new ArgumentNullException(nameof(time));

    /// <summary>Reads an environment variable (the signing key's <c>key-env</c>). <value>The default is the process environment; tests set their own.</value></summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>
    /// What the engine pulls from a stage's registry with (X-Registry-Auth). <value>The default reads only the variables a
    /// registry names (<see cref="EnvironmentEngineCredentials"/>); the composition root gives the registry client's chain.</value>
    /// </summary>
    public IEngineCredentialSource EngineCredentials { get; init; } = new EnvironmentEngineCredentials();

    /// <summary>
    /// Makes the package cache a scope's builds and locks take their packages from, given the scope's workspace and engine.
    /// <value>The default is the content-addressed cache in the state folder (<see cref="Packages.PackageCache"/>), downloading with
    /// <see cref="PackageDownloader"/>; unit tests give a fake.</value>
    /// </summary>
    public Func<IWorkspaceAccessor, IDockerEngine, IPackageCache>? PackageCaches { get; init; }

    /// <summary>What the default package cache downloads with. <value>The default is one shared <see cref="Packages.HttpPackageDownloader"/>.</value></summary>
    public IPackageDownloader PackageDownloader { get; init; } = SharedDownloader.Value;

    private static readonly Lazy<Packages.HttpPackageDownloader> SharedDownloader = new(() => new Packages.HttpPackageDownloader());

    /// <summary>Wires every workflow for <paramref name="scope"/>.</summary>
    public WorkflowSet Create(WorkflowScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var workspace = scope.Workspace;
        var reporter = scope.Reporter;
        var actor = scope.Actor;
        var docker = scope.Engine ?? Engine;

        var packages = PackageCaches?.Invoke(workspace, docker) ?? new Packages.PackageCache(workspace, docker, EngineCredentials, PackageDownloader, Time);
        var bases = new BaseImageWorkflow(workspace, Registries, copier, State, rootfs, reporter, Time, actor, loggers.CreateLogger<BaseImageWorkflow>());
        var cache = new BuildCache(workspace, Registries, State, reporter, Time, actor, loggers.CreateLogger<BuildCache>());
        var builds = new PipelineBuildWorkflow(
            workspace, docker, EngineCredentials, Registries, State, reporter, Time, actor, bases, cache,
            new EngineImageNormalizer(workspace, docker, Registries),
            new SbomWorkflow(docker, EngineCredentials, Registries, reporter, loggers.CreateLogger<SbomWorkflow>()),
            loggers.CreateLogger<PipelineBuildWorkflow>(),
            packages);
        var signatures = new Signing.SignatureWorkflow(Registries, Environment, loggers.CreateLogger<Signing.SignatureWorkflow>());
        var validations = new ValidationWorkflow(
            workspace, docker, EngineCredentials, Registries, State, reporter, Time, actor, new InstalledPackagesTest(docker), signatures, loggers.CreateLogger<ValidationWorkflow>());
        var promotions = new PromotionWorkflow(
            workspace, Registries, copier, State, reporter, Time, actor, new Signing.PromotionSignatures(signatures, copier, Registries), loggers.CreateLogger<PromotionWorkflow>());
        return new WorkflowSet(
            bases,
            builds,
            new BuildAllWorkflow(workspace, bases, builds, loggers.CreateLogger<BuildAllWorkflow>()),
            validations,
            promotions,
            new RunWorkflow(workspace, bases, builds, validations, promotions),
            new ReleaseWorkflow(workspace, Registries, State),
            new ReproducibilityWorkflow(workspace, Registries, reporter, builds, cache, loggers.CreateLogger<ReproducibilityWorkflow>()),
            new LockWorkflow(workspace, docker, EngineCredentials, reporter, Time, bases, new PythonLockResolver(workspace, docker, EngineCredentials, reporter), loggers.CreateLogger<LockWorkflow>(), packages),
            signatures);
    }
}

/// <summary>What one scope of workflows has to itself.</summary>
/// <param name="Workspace">The definitions it reads: fixed for a CLI call or a job, the reloading holder for the daemon's queries.</param>
/// <param name="Reporter">Where its steps go: standard error for the CLI, the job's log for a job.</param>
/// <param name="Actor">Who its records name.</param>
/// <param name="Engine">The engine it uses, or null for the graph's (a daemon job's labels its containers with the job).</param>
public sealed record WorkflowScope(IWorkspaceAccessor Workspace, IJobReporter Reporter, IActorProvider Actor, IDockerEngine? Engine = null);

/// <summary>The workflows of one scope, wired to each other by <see cref="WorkflowGraph"/>.</summary>
public sealed record WorkflowSet(
    BaseImageWorkflow Bases,
    PipelineBuildWorkflow Builds,
    BuildAllWorkflow BuildAll,
    ValidationWorkflow Validations,
    PromotionWorkflow Promotions,
    RunWorkflow Runs,
    ReleaseWorkflow Releases,
    ReproducibilityWorkflow Reproducibility,
    LockWorkflow Locks,
    Signing.SignatureWorkflow Signatures);
