using Microsoft.Extensions.Logging;
using Orchestrator.BaseOs;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Workflows;
using Orchestrator.Definitions;
using Orchestrator.Docker;
using Orchestrator.Registry;
using Orchestrator.Registry.Auth;
using Orchestrator.State;
using Orchestrator.State.Postgres;

namespace Orchestrator.Composition;

/// <summary>
/// The composition root shared by the CLI and the daemon: loads the definitions, makes the real engine,
/// registries, state store, job store and debootstrap builder, and wires the workflows over them once
/// (<see cref="WorkflowGraph"/>). Disposing releases connections and closes the stores.
/// </summary>
public sealed class ComposedServices : IAsyncDisposable
{
    private readonly List<object> _owned;
    private readonly PostgresStateDatabase? _postgres;

    private ComposedServices(
        Workspace workspace, WorkflowGraph graph, IJobReporter reporter, ILoggerFactory loggerFactory, IJobStore jobs, PostgresStateDatabase? postgres, List<object> owned)
    {
        _postgres = postgres;
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
        var (state, jobs, mountHints, postgres) = await CreateStoresAsync(config, time, loggerFactory, cancellationToken).ConfigureAwait(false);
        var engine = DockerEngineClient.Create(config.Engine.Endpoint, loggerFactory.CreateLogger<DockerEngineClient>(), time);
        var (engines, poolClients) = CreateEnginePool(config, engine, time, loggerFactory);
        // One credential chain for both the registry clients and the engine's pulls: the same credential everywhere.
        var credentials = new RegistryCredentialChain();
        var registries = new RegistryClientFactory(loggerFactory, time, credentials: credentials);
        var copier = new ImageCopier(registries, loggerFactory.CreateLogger<ImageCopier>(), mountHints: mountHints);
        var rootfs = new DebootstrapRootfsBuilder(loggerFactory.CreateLogger<DebootstrapRootfsBuilder>(), time);

        var graph = new WorkflowGraph(engine, registries, copier, state, rootfs, time, loggerFactory)
        {
            EngineCredentials = new EngineCredentialSource(credentials),
        };
        List<object> owned = [mountHints, jobs, state, engine, registries, .. poolClients];
        if (postgres is not null)
        {
            // Disposed last (the list is disposed in reverse): the stores above only borrow its connections.
            owned.Insert(0, postgres);
        }

        return new ComposedServices(workspace, graph, reporter, loggerFactory, jobs, postgres, owned) { Engines = engines };
    }

    /// <summary>
    /// The engines builds and validations are placed on (the daemon's jobs; the CLI runs on <see cref="WorkflowGraph.Engine"/>,
    /// the first of them): <c>engines:</c> of orchestrator.yaml, or the one engine as a pool of one.
    /// </summary>
    public Core.Engines.EnginePool Engines { get; private init; } = null!;

    // With 'engines:' the graph's engine (the CLI's, DOCKER_HOST aside) is the first; every pool member gets its own exact client.
    private static (Core.Engines.EnginePool Pool, List<object> Clients) CreateEnginePool(OrchestratorConfig config, DockerEngineClient single, TimeProvider time, ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger<Core.Engines.EnginePool>();
        if (config.Engines.Count == 0)
        {
            return (new Core.Engines.EnginePool([(config.EnginePool[0], single)], time: time, logger: logger), []);
        }

        var clients = new List<object>();
        var members = new List<(EngineDefinition, IDockerEngine)>();
        foreach (var definition in config.Engines)
        {
            var client = DockerEngineClient.CreateExact(definition.Endpoint, definition.CertPath, loggerFactory.CreateLogger<DockerEngineClient>(), time);
            clients.Add(client);
            members.Add((definition, client));
        }

        return (new Core.Engines.EnginePool(members, time: time, logger: logger), clients);
    }

    /// <summary>
    /// Where the state lives, in words for messages: the SQLite file's path, or <c>PostgreSQL host:port/database</c>
    /// (never a password or connection string).
    /// </summary>
    public string StateDescription => _postgres?.Description ?? Config.StatePath;

    /// <summary>
    /// For <c>state: postgres</c>: takes the advisory lock that lets one daemon at a time requeue the jobs left Running
    /// (see <see cref="PostgresStateDatabase.TryLockDaemonAsync"/>); null when another daemon holds it. For the SQLite
    /// file this is null, and the daemon locks <c>state.db.daemon.lock</c> itself.
    /// </summary>
    public Func<CancellationToken, Task<IAsyncDisposable?>>? DaemonLock => _postgres is { } database ? database.TryLockDaemonAsync : null;

    /// <summary>
    /// For <c>state: postgres</c>: the replicas sharing the job queue (issue 14), this process registering under the job
    /// store's lease owner; null for the SQLite file, whose one daemon reports itself from memory.
    /// </summary>
    public IReplicaRegistry? Replicas => _postgres is { } database ? new PostgresReplicaRegistry(database, Graph.Time) : null;

    // The stores of state: postgres (one database, its pool shared by the three stores) or the SQLite file (the default).
    // Mount hints live with the state, so a promotion in a new process mounts what an earlier one copied.
    private static async Task<(IStateStore State, IJobStore Jobs, IMountHintStore MountHints, PostgresStateDatabase? Postgres)> CreateStoresAsync(
        OrchestratorConfig config, TimeProvider time, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        if (config.Postgres is { } settings)
        {
            var database = PostgresStateDatabase.Create(settings, loggerFactory.CreateLogger<PostgresStateDatabase>());
            try
            {
                await database.InitializeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await database.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            return (
                new PostgresStateStore(database, time),
                new PostgresJobStore(database, time, loggerFactory.CreateLogger<PostgresJobStore>(), leaseDuration: config.Daemon.LeaseDuration),
                new PostgresMountHintStore(database, time, loggerFactory.CreateLogger<PostgresMountHintStore>()),
                database);
        }

        var state = new SqliteStateStore(config.StatePath, time);
        await state.InitializeAsync(cancellationToken).ConfigureAwait(false);
        var jobs = new SqliteJobStore(config.StatePath, time, loggerFactory.CreateLogger<SqliteJobStore>());
        await jobs.InitializeAsync(cancellationToken).ConfigureAwait(false);
        return (state, jobs, new SqliteMountHintStore(config.StatePath, time, loggerFactory.CreateLogger<SqliteMountHintStore>()), null);
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
