using Orchestrator.Composition;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Workflows;
using Orchestrator.Definitions;
using Serilog;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Formatting.Json;

namespace Orchestrator.Cli.Infrastructure;

/// <summary>
/// One in-process CLI invocation's services: configures Serilog (a rolling JSON file next to the state,
/// warnings on the console) and composes the real parts through <see cref="ComposedServices"/>, the same
/// composition the daemon uses.
/// </summary>
internal sealed class CliServices : IAsyncDisposable
{
    private readonly ComposedServices _composed;
    private readonly SerilogLoggerFactory _loggerFactory;
    private readonly ConsoleJobReporter? _reporter;

    private CliServices(ComposedServices composed, SerilogLoggerFactory loggerFactory, ConsoleJobReporter? reporter = null)
    {
        _composed = composed;
        _loggerFactory = loggerFactory;
        _reporter = reporter;
    }

    public ComposedServices Services => _composed;

    /// <summary>Finds the config: --config, then $ORCHESTRATOR_CONFIG, then orchestrator.yaml here or in the nearest parent.</summary>
    public static string ResolveConfigPath(FileInfo? option) => ComposedServices.ResolveConfigPath(option?.FullName);

    /// <summary>Loads the definitions only (no engine, registries or state).</summary>
    public static Task<Workspace> LoadWorkspaceAsync(FileInfo? configOption, CancellationToken cancellationToken) =>
        ComposedServices.LoadWorkspaceAsync(ResolveConfigPath(configOption), cancellationToken);

    /// <summary>Loads the definitions; problems outside <paramref name="scope"/> become <see cref="Workspace.Warnings"/>.</summary>
    public static Task<Workspace> LoadWorkspaceAsync(FileInfo? configOption, WorkspaceScope scope, CancellationToken cancellationToken) =>
        new WorkspaceLoader { Scope = scope }.LoadAsync(ResolveConfigPath(configOption), cancellationToken);

    /// <summary>
    /// Loads the definitions and composes every service; the caller disposes the result. Progress goes to standard error
    /// live on a terminal, as plain lines otherwise or with <paramref name="json"/> (<see cref="Progress.ProgressRenderers"/>).
    /// </summary>
    public static async Task<CliServices> CreateAsync(FileInfo? configOption, CliConsole console, bool verbose, WorkspaceScope scope, CancellationToken cancellationToken, bool json = false)
    {
        var workspace = await LoadWorkspaceAsync(configOption, scope, cancellationToken).ConfigureAwait(false);

        // An unknown name is bad input: refuse it before the state store and the log folder are created.
        foreach (var pipeline in scope.Pipelines ?? new HashSet<string>())
        {
            _ = workspace.GetPipeline(pipeline);
        }

        foreach (var baseName in scope.Bases)
        {
            _ = workspace.GetBaseVariant(baseName);
        }

        var logFolder = Path.Combine(Path.GetDirectoryName(workspace.Config.StatePath)!, "logs");
        Directory.CreateDirectory(logFolder);
        var serilog = new LoggerConfiguration()
            .MinimumLevel.Is(verbose ? LogEventLevel.Debug : LogEventLevel.Information)
            .Enrich.FromLogContext()
            .WriteTo.File(new JsonFormatter(renderMessage: true), Path.Combine(logFolder, "orchestrator-.json"), rollingInterval: RollingInterval.Day, retainedFileCountLimit: 14, shared: true)
            .WriteTo.Console(restrictedToMinimumLevel: verbose ? LogEventLevel.Debug : LogEventLevel.Warning, standardErrorFromLevel: LogEventLevel.Verbose, outputTemplate: "{Level:u3} {Message:lj}{NewLine}{Exception}")
            .CreateLogger();
        var loggerFactory = new SerilogLoggerFactory(serilog, dispose: true);
        var reporter = new ConsoleJobReporter(Progress.ProgressRenderers.Create(console, json), verbose);
        try
        {
            var composed = await ComposedServices.CreateAsync(
                workspace, reporter, loggerFactory, console.Environment.Time, cancellationToken).ConfigureAwait(false);
            return new CliServices(composed, loggerFactory, reporter);
        }
        catch
        {
            reporter.Dispose();
            loggerFactory.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // A live display ends (leaving its last frame) before anything else writes to standard error.
        _reporter?.Dispose();
        await _composed.DisposeAsync().ConfigureAwait(false);
        _loggerFactory.Dispose();
    }
}
