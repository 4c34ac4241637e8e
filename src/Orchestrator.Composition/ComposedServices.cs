using Microsoft.Extensions.Logging;
using Orchestrator.BaseOs;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Workflows;
using Orchestrator.Definitions;
using Orchestrator.Docker;
using Orchestrator.Registry;
using Orchestrator.State;

namespace Orchestrator.Composition;

/// <summary>
/// The composition root shared by the CLI and the daemon: loads the definitions, makes the real engine,
/// registries, state store, job store and debootstrap builder, and wires the workflows over them once
/// (<see cref="WorkflowGraph"/>). Disposing releases connections and closes the stores.
/// </summary>
public sealed class ComposedServices : IAsyncDisposable
{
    private readonly List<object> _owned;

    private ComposedServices(Workspace workspace, WorkflowGraph graph, IJobReporter reporter, ILoggerFactory loggerFactory, IJobStore jobs, List<object> owned)
    {
        Workspace = workspace;
        Graph = graph;
        Reporter = reporter;
        LoggerFactory = loggerFactory;
        Jobs = jobs;
        _owned = owned;

        // One call of the CLI is one scope: the definitions as loaded, its reporter, the actor from the environment.
        Workflows = graph.Create(new WorkflowScope(new FixedWorkspace(workspace), reporter, new EnvironmentActorProvider()));
    }

    /// <summary>The definitions as loaded.</summary>
    public Workspace Workspace { get; }

    /// <summary>The settings of orchestrator.yaml.</summary>
    public OrchestratorConfig Config => Workspace.Config;

    /// <summary>The workflows wired over the real ports; the daemon makes a scope of it per job.</summary>
    public WorkflowGraph Graph { get; }

    /// <summary>The workflows of this composition's own scope: <see cref="Workspace"/>, <see cref="Reporter"/>, the environment's actor.</summary>
    public WorkflowSet Workflows { get; }

    /// <summary>Where this scope's steps go.</summary>
    public IJobReporter Reporter { get; }

    /// <summary>Where logs go.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The persisted job queue, in the same database as the state store.</summary>
    public IJobStore Jobs { get; }

    /// <summary>
    /// Finds the config: <paramref name="explicitPath"/>, then <c>$ORCHESTRATOR_CONFIG</c>, then
    /// orchestrator.yaml in the current folder or the nearest parent (like git finds its folder).
    /// </summary>
    public static string ResolveConfigPath(string? explicitPath)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return Path.GetFullPath(explicitPath);
        }

        if (Environment.GetEnvironmentVariable("ORCHESTRATOR_CONFIG") is { Length: > 0 } fromEnvironment)
        {
            return Path.GetFullPath(fromEnvironment);
        }

        for (var folder = new DirectoryInfo(Environment.CurrentDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, "orchestrator.yaml");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Path.Combine(Environment.CurrentDirectory, "orchestrator.yaml");
    }

    /// <summary>Loads the definitions only.</summary>
    /// <exception cref="Core.Errors.DefinitionException">Any definition is malformed; every problem with file:line:column.</exception>
    public static Task<Workspace> LoadWorkspaceAsync(string configPath, CancellationToken cancellationToken = default) =>
        new WorkspaceLoader().LoadAsync(configPath, cancellationToken);

    /// <summary>Composes every service over <paramref name="workspace"/>.</summary>
    public static async Task<ComposedServices> CreateAsync(
        Workspace workspace, IJobReporter reporter, ILoggerFactory loggerFactory, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        var config = workspace.Config;
        var time = timeProvider ?? TimeProvider.System;
        var state = new SqliteStateStore(config.StatePath, time);
        await state.InitializeAsync(cancellationToken).ConfigureAwait(false);
        var jobs = new SqliteJobStore(config.StatePath, time, loggerFactory.CreateLogger<SqliteJobStore>());
        await jobs.InitializeAsync(cancellationToken).ConfigureAwait(false);
        var engine = DockerEngineClient.Create(config.Engine.Endpoint, loggerFactory.CreateLogger<DockerEngineClient>(), time);
        var registries = new RegistryClientFactory(loggerFactory, time);
        // Mount hints live in the state file, so a promotion in a new process mounts what an earlier one copied.
        var mountHints = new SqliteMountHintStore(config.StatePath, time, loggerFactory.CreateLogger<SqliteMountHintStore>());
        var copier = new ImageCopier(registries, loggerFactory.CreateLogger<ImageCopier>(), mountHints: mountHints);
        var rootfs = new DebootstrapRootfsBuilder(loggerFactory.CreateLogger<DebootstrapRootfsBuilder>(), time);

        var graph = new WorkflowGraph(engine, registries, copier, state, rootfs, time, loggerFactory);
        return new ComposedServices(workspace, graph, reporter, loggerFactory, jobs, [mountHints, jobs, state, engine, registries]);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            switch (owned)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }
    }
}
