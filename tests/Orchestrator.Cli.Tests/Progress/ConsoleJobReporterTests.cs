using System.Text.Json;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Tests.Progress;

public sealed class ConsoleJobReporterTests
{
    [Fact]
    public void Write_DaemonLogWithEvents_RendersThemAsInProcessAndShowsStepAndTestLinesOnce()
    {
        // Given a daemon job's log as the daemon writes it: an event, then the older text line saying the same
        var output = new StringWriter();
        using var reporter = new ConsoleJobReporter(output, verbose: false);
        JobLogEntry[] log =
        [
            Entry(1, "step", "build app"),
            Entry(2, ProgressEvent.LogKind, Json(ProgressEvent.StepStarted(1, 1, "FROM base"))),
            Entry(3, "output", "Step 1/1 : FROM base"),
            Entry(4, ProgressEvent.LogKind, Json(ProgressEvent.StepEnded(1, 1, "FROM base", succeeded: true, TimeSpan.FromSeconds(2)))),
            Entry(5, ProgressEvent.LogKind, Json(ProgressEvent.TestEnded("command", "version", passed: true, TimeSpan.FromSeconds(1)))),
            Entry(6, "detail", "PASS command 'version'"),
            Entry(7, ProgressEvent.LogKind, "{\"kind\":\"from-a-newer-daemon\""),
        ];

        // When the follower prints it
        foreach (var entry in log)
        {
            reporter.Write(entry);
        }

        // Then the events are lines, the older duplicates are left out, and an unreadable event is skipped, not printed as JSON
        Assert.Equal(
            ["==> build app", "    step 1/1: FROM base", "    step 1/1 done in 2.0 s", "    PASS command 'version' (1.0 s)"],
            output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Progress_NoStepEvents_KeepsPrintingTheEnginesStepLines()
    {
        // Given a reporter that has seen no structured step (an older daemon, or a build path without them)
        var output = new StringWriter();
        using var reporter = new ConsoleJobReporter(output, verbose: false);

        // When the engine reports a step line
        reporter.Progress(new EngineProgress(null, null, "Step 1/2 : FROM base\n", null, null));

        // Then it is printed as before
        Assert.Equal("    Step 1/2 : FROM base" + Environment.NewLine, output.ToString());
    }

    private static JobLogEntry Entry(long sequence, string kind, string message) => new(sequence, DateTimeOffset.UnixEpoch, kind, message);

    private static string Json(ProgressEvent progress) => JsonSerializer.Serialize(progress, ProgressJsonContext.Default.ProgressEvent);
}
