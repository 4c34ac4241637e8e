using Microsoft.Extensions.Logging;
using Orchestrator.BaseOs;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Workflows;
using Orchestrator.Definitions;
using Orchestrator.Docker;
using Orchestrator.Registry;
using Orchestrator.State;
using Serilog;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Formatting.Json;

namespace Orchestrator.Cli.Infrastructure;

/// <summary>
/// The composition root of one CLI invocation: loads the definitions and wires the real engine,
/// registries, state store and debootstrap builder behind the workflows' ports.
/// </summary>
internal sealed class CliServices : IAsyncDisposable
{
    private readonly List<object> _owned = [];

    private CliServices(OrchestratorServices services) => Services = services;

    public OrchestratorServices Services { get; private set; }

    /// <summary>Finds the config: --config, then $ORCHESTRATOR_CONFIG, then orchestrator.yaml here or in the nearest parent.</summary>
    public static string ResolveConfigPath(FileInfo? option)
    {
        if (option is not null)
        {
            return option.FullName;
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

    /// <summary>Loads the definitions only (no engine, registries or state).</summary>
    public static Task<Workspace> LoadWorkspaceAsync(FileInfo? configOption, CancellationToken cancellationToken) =>
        new WorkspaceLoader().LoadAsync(ResolveConfigPath(configOption), cancellationToken);

    /// <summary>Loads the definitions and composes every service; the caller disposes the result.</summary>
    public static async Task<CliServices> CreateAsync(FileInfo? configOption, CliConsole console, bool verbose, CancellationToken cancellationToken)
    {
        var workspace = await LoadWorkspaceAsync(configOption, cancellationToken).ConfigureAwait(false);
        var config = workspace.Config;

        var logFolder = Path.Combine(Path.GetDirectoryName(config.StatePath)!, "logs");
        Directory.CreateDirectory(logFolder);
        var serilog = new LoggerConfiguration()
            .MinimumLevel.Is(verbose ? LogEventLevel.Debug : LogEventLevel.Information)
            .Enrich.FromLogContext()
            .WriteTo.File(new JsonFormatter(renderMessage: true), Path.Combine(logFolder, "orchestrator-.json"), rollingInterval: RollingInterval.Day, retainedFileCountLimit: 14, shared: true)
            .WriteTo.Console(restrictedToMinimumLevel: verbose ? LogEventLevel.Debug : LogEventLevel.Warning, standardErrorFromLevel: LogEventLevel.Verbose, outputTemplate: "{Level:u3} {Message:lj}{NewLine}{Exception}")
            .CreateLogger();
        var loggerFactory = new SerilogLoggerFactory(serilog, dispose: true);

        var time = TimeProvider.System;
        var state = new SqliteStateStore(config.StatePath, time);
        await state.InitializeAsync(cancellationToken).ConfigureAwait(false);
        var engine = DockerEngineClient.Create(config.Engine.Endpoint, loggerFactory.CreateLogger<DockerEngineClient>());
        var registries = new RegistryClientFactory(loggerFactory, time);
        var copier = new ImageCopier(registries, loggerFactory.CreateLogger<ImageCopier>());
        var rootfs = new DebootstrapRootfsBuilder(loggerFactory.CreateLogger<DebootstrapRootfsBuilder>(), time);

        var services = new OrchestratorServices(
            workspace, engine, registries, copier, state, rootfs, new ConsoleJobReporter(console.Error, verbose), time, new EnvironmentActorProvider(), loggerFactory);
        var result = new CliServices(services);
        result._owned.AddRange([state, engine, registries, loggerFactory]);
        return result;
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
