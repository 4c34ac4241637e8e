using Orchestrator.Cli;
using Orchestrator.Cli.Infrastructure;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C cancels an in-process job cleanly (no tag is set after it), or stops following a daemon's
    // job (which keeps running there: 'orchestrator job ID --cancel' cancels it); a second one ends the process.
    e.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
};

return await CliApplication.RunAsync(args, CliConsole.System, cancellation.Token);
