using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Infrastructure;

/// <summary>Writes a job's steps to standard error; engine output only with --verbose, build steps always.</summary>
internal sealed class ConsoleJobReporter(TextWriter error, bool verbose) : IJobReporter
{
    private readonly Lock _gate = new();

    public void Step(string message) => Write($"==> {message}");

    public void Detail(string message) => Write($"    {message}");

    public void Output(string line)
    {
        if (verbose)
        {
            Write($"    {line}");
        }
    }

    public void Progress(EngineProgress progress)
    {
        var line = progress.Stream?.TrimEnd('\n', '\r');
        if (!string.IsNullOrWhiteSpace(line) && (verbose || line.StartsWith("Step ", StringComparison.Ordinal)))
        {
            Write($"    {line}");
        }
        else if (verbose && progress.Status is { } status && progress.Current is null)
        {
            Write($"    {(progress.Id is null ? string.Empty : progress.Id + ": ")}{status}");
        }
    }

    /// <summary>
    /// Prints a line of a daemon job's log by the same rules as a job run here: steps and details always,
    /// engine output only with --verbose (build steps always), progress (layer pull/push status) always,
    /// since the daemon already thinned it to status changes.
    /// </summary>
    public void Write(JobLogEntry entry)
    {
        switch (entry.Kind)
        {
            case "step":
                Step(entry.Message);
                break;
            case "output":
                if (verbose || entry.Message.StartsWith("Step ", StringComparison.Ordinal))
                {
                    Write($"    {entry.Message}");
                }

                break;
            default:
                Detail(entry.Message);
                break;
        }
    }

    private void Write(string line)
    {
        lock (_gate)
        {
            error.WriteLine(line);
        }
    }
}
