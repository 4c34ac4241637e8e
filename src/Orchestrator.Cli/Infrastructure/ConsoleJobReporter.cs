using System.Text.Json;
using Orchestrator.Cli.Progress;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Infrastructure;

/// <summary>
/// Writes a job's steps to standard error through an <see cref="IProgressRenderer"/> (live on a terminal, plain lines
/// otherwise); engine output only with --verbose, build steps and test outcomes always. Once a job reports build steps or
/// tests as structured <see cref="ProgressEvent"/>s, the older text lines saying the same (<c>Step n/N</c> engine output,
/// <c>PASS</c>/<c>FAIL</c> details) are left out, so each shows once. Disposing ends a live display.
/// </summary>
internal sealed class ConsoleJobReporter(IProgressRenderer renderer, bool verbose) : IJobReporter, IDisposable
{
    private volatile bool _stepEvents;
    private volatile bool _testEvents;

    /// <summary>Plain lines on <paramref name="error"/>, as before live progress existed.</summary>
    public ConsoleJobReporter(TextWriter error, bool verbose)
        : this(new PlainProgressRenderer(error), verbose)
    {
    }

    public void Step(string message) => renderer.WriteLine($"==> {message}");

    public void Detail(string message)
    {
        if (_testEvents && (message.StartsWith("PASS ", StringComparison.Ordinal) || message.StartsWith("FAIL ", StringComparison.Ordinal)))
        {
            return;
        }

        renderer.WriteLine($"    {message}");
    }

    public void Output(string line)
    {
        if (verbose)
        {
            renderer.WriteLine($"    {line}");
        }
    }

    public void Progress(EngineProgress progress)
    {
        var line = progress.Stream?.TrimEnd('\n', '\r');
        if (!string.IsNullOrWhiteSpace(line) && (verbose || (!_stepEvents && line.StartsWith("Step ", StringComparison.Ordinal))))
        {
            renderer.WriteLine($"    {line}");
        }
        else if (verbose && progress.Status is { } status && progress.Current is null)
        {
            renderer.WriteLine($"    {(progress.Id is null ? string.Empty : progress.Id + ": ")}{status}");
        }
    }

    public void Event(ProgressEvent progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (progress.Kind.StartsWith("step-", StringComparison.Ordinal))
        {
            _stepEvents = true;
        }
        else if (progress.Kind.StartsWith("test-", StringComparison.Ordinal))
        {
            _testEvents = true;
        }

        renderer.Render(progress);
    }

    /// <summary>
    /// Prints a line of a daemon job's log by the same rules as a job run here: steps and details always,
    /// engine output only with --verbose (build steps always), progress (layer pull/push status) always,
    /// since the daemon already thinned it to status changes; structured events (kind <see cref="ProgressEvent.LogKind"/>)
    /// through the same renderer as in-process.
    /// </summary>
    public void Write(JobLogEntry entry)
    {
        switch (entry.Kind)
        {
            case "step":
                Step(entry.Message);
                break;
            case "output":
                if (verbose || (!_stepEvents && entry.Message.StartsWith("Step ", StringComparison.Ordinal)))
                {
                    renderer.WriteLine($"    {entry.Message}");
                }

                break;
            case ProgressEvent.LogKind:
                if (TryRead(entry.Message) is { } progress)
                {
                    Event(progress);
                }

                break;
            default:
                Detail(entry.Message);
                break;
        }
    }

    public void Dispose() => renderer.Dispose();

    // A line this CLI cannot read (a newer daemon's event) is skipped rather than shown as JSON.
    private static ProgressEvent? TryRead(string json)
    {
        try
        {
            var progress = JsonSerializer.Deserialize(json, ProgressJsonContext.Default.ProgressEvent);
            return progress is { Kind: not null, Name: not null } ? progress : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
