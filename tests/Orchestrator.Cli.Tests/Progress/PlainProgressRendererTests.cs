using Orchestrator.Cli.Progress;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Tests.Progress;

public sealed class PlainProgressRendererTests
{
    private const string Blob = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Fact]
    public void Render_BlobStartedBytesDone_OneLineAtStartAndOneAtTheEndWithSizeTimeAndRate()
    {
        // Given a plain renderer on a string writer
        var output = new StringWriter();
        using var renderer = new PlainProgressRenderer(output);

        // When a 4 MiB blob starts, moves, and ends after 2 s
        renderer.Render(ProgressEvent.BlobStarted(Blob, "copy", 4 * 1024 * 1024));
        renderer.Render(ProgressEvent.BlobBytes(Blob, "copy", 1024 * 1024, 4 * 1024 * 1024));
        renderer.Render(ProgressEvent.BlobDone(Blob, "copy", 4 * 1024 * 1024, TimeSpan.FromSeconds(2)));

        // Then there are two lines, the byte event left out
        Assert.Equal(
            [
                "    copy sha256:0123456789ab started (4.0 MiB)",
                "    copy sha256:0123456789ab done: 4.0 MiB in 2.0 s (2.0 MiB/s)",
            ],
            Lines(output));
    }

    [Fact]
    public void Render_StepsAndTests_LinesSayNumberInstructionElapsedAndOutcome()
    {
        // Given a plain renderer
        var output = new StringWriter();
        using var renderer = new PlainProgressRenderer(output);

        // When a step runs and two tests end, one failing
        renderer.Render(ProgressEvent.StepStarted(2, 5, "RUN apt-get install -y hello=2.10-3"));
        renderer.Render(ProgressEvent.StepEnded(2, 5, "RUN apt-get install -y hello=2.10-3", succeeded: true, TimeSpan.FromSeconds(3.4)));
        renderer.Render(ProgressEvent.TestStarted("command", "version"));
        renderer.Render(ProgressEvent.TestEnded("command", "version", passed: true, TimeSpan.FromMilliseconds(250)));
        renderer.Render(ProgressEvent.TestEnded("file", "no docs", passed: false, TimeSpan.FromSeconds(1.2), "/usr/share/doc exists"));

        // Then each is one line
        Assert.Equal(
            [
                "    step 2/5: RUN apt-get install -y hello=2.10-3",
                "    step 2/5 done in 3.4 s",
                "    test command 'version' started",
                "    PASS command 'version' (250 ms)",
                "    FAIL file 'no docs' (1.2 s): /usr/share/doc exists",
            ],
            Lines(output));
    }

    [Fact]
    public void Render_NameWithControlCharacters_WritesNoEscapeAndNoCarriageReturn()
    {
        // Given a test whose name holds an escape sequence and a carriage return
        var output = new StringWriter();
        using var renderer = new PlainProgressRenderer(output);

        // When it is rendered
        renderer.Render(ProgressEvent.TestStarted("command", "evil\u001b[2J\rname"));

        // Then the line holds neither
        var text = output.ToString();
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain('\r', text.Replace(Environment.NewLine, "\n", StringComparison.Ordinal));
        Assert.Contains("evil [2J name", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_BlobFailed_SaysWhereItStopped()
    {
        var output = new StringWriter();
        using var renderer = new PlainProgressRenderer(output);

        renderer.Render(ProgressEvent.BlobFailed(Blob, "push", 1024, 4096, TimeSpan.FromSeconds(1)));

        Assert.Equal(["    push sha256:0123456789ab stopped at 1.0 KiB of 4.0 KiB after 1.0 s"], Lines(output));
    }

    private static string[] Lines(StringWriter output) =>
        output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
}
