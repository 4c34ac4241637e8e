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
/// The composition root shared by the CLI and the daemon: loads the definitions and wires the real
/// engine, registries, state store, job store and debootstrap builder behind the workflows' ports.
/// Disposing releases connections and closes the stores.
/// </summary>
public sealed class ComposedServices : IAsyncDisposable
{
    private readonly List<object> _owned;

    private ComposedServices(OrchestratorServices services, IJobStore jobs, List<object> owned)
    {
        Services = services;
        Jobs = jobs;
        _owned = owned;
    }

    /// <summary>The services the workflows run on.</summary>
    public OrchestratorServices Services { get; }

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

        var services = new OrchestratorServices(
            workspace, engine, registries, copier, state, rootfs, reporter, time, new EnvironmentActorProvider(), loggerFactory);
        return new ComposedServices(services, jobs, [mountHints, jobs, state, engine, registries]);
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
