using System.CommandLine;
using Microsoft.Extensions.Logging;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Workflows;
using Orchestrator.Daemon.Hosting;

namespace Orchestrator.Cli.Verbs;

/// <summary>
/// <c>orchestrator daemon [--urls URL]</c>: serves the job API until SIGTERM or Ctrl+C. Jobs run in this
/// process on the real parts; jobs interrupted by a stop run again at the next start.
/// </summary>
internal sealed class DaemonCommand : Command
{
    private static readonly Option<string?> Urls = new("--urls")
    {
        Description = "Where to listen, e.g. http://127.0.0.1:5080 (default: daemon.urls in orchestrator.yaml)",
    };

    private readonly CliConsole _console;

    public DaemonCommand(CliConsole console)
        : base("daemon", "Run the orchestrator service: the job API, a worker that runs queued jobs, and the pipeline watcher")
    {
        _console = console;
        Options.Add(Urls);
        SetAction(InvokeAsync);
    }

    private async Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        try
        {
            var configPath = ComposedServices.ResolveConfigPath(parseResult.GetValue(CliOptions.Config)?.FullName);
            var workspace = await ComposedServices.LoadWorkspaceAsync(configPath, cancellationToken).ConfigureAwait(false);
            var logDirectory = Path.Combine(Path.GetDirectoryName(workspace.Config.StatePath)!, "logs");
            using var loggerFactory = DaemonLogging.CreateLoggerFactory(logDirectory, parseResult.GetValue(CliOptions.Verbose));
            await using var composed = await ComposedServices.CreateAsync(workspace, NullJobReporter.Instance, loggerFactory, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            var options = new DaemonOptions(workspace, composed.Graph, composed.Jobs, loggerFactory, parseResult.GetValue(Urls))
            {
                // Each watch tick rereads the definitions, so edits are seen without a restart.
                ReloadWorkspace = token => ComposedServices.LoadWorkspaceAsync(configPath, token),
                Engines = composed.Engines,

                // PostgreSQL: replicas share the queue (leases, a replica registry, one watcher); SQLite: one daemon, file-locked.
                Replicas = composed.Replicas,
                ContainerOwner = composed.Replicas is null ? null : ContainerOwnership.ReplicaOwner(composed.StateDescription, parseResult.GetValue(Urls) ?? workspace.Config.Daemon.Urls),
            };
            try
            {
                return await DaemonHost.RunAsync(options, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OrchestratorException and not OperationCanceledException)
            {
                loggerFactory.CreateLogger<DaemonCommand>().LogCritical(exception, "The daemon failed");
                throw;
            }
        }
        catch (OrchestratorException exception)
        {
            await _console.Error.WriteLineAsync($"orchestrator: {exception.Message}").ConfigureAwait(false);
            return exception.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Success;
        }
        catch (Exception exception)
        {
            await _console.Error.WriteLineAsync($"orchestrator: the daemon failed: {exception.GetType().Name}: {exception.Message} (details in the log under .orchestrator/logs)").ConfigureAwait(false);
            return ExitCodes.JobFailed;
        }
    }
}
