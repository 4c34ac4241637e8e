using Orchestrator.Cli.Infrastructure;
using Orchestrator.Cli.Progress;
using Orchestrator.Core.Workflows;
using Spectre.Console;

namespace Orchestrator.Cli.Tests.Progress;

public sealed class LiveProgressRendererTests
{
    private const string Blob = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    [Fact]
    public void Render_BlobStepAndTests_DrawsBarsWithBytesAndLeavesEachLastFrameWithMarks()
    {
        // Given a live renderer on an ANSI, interactive console writing to a string
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.Standard,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 120;
        console.Profile.Capabilities.Unicode = true;
        using (var renderer = new LiveProgressRenderer(console))
        {
            // When a blob is copied, a line is written while it runs, a step runs, and two tests end
            renderer.Render(ProgressEvent.BlobStarted(Blob, "copy", 8 * 1024 * 1024));
            renderer.Render(ProgressEvent.BlobBytes(Blob, "copy", 2 * 1024 * 1024, 8 * 1024 * 1024));
            renderer.WriteLine("==> a line between frames");
            renderer.Render(ProgressEvent.BlobDone(Blob, "copy", 8 * 1024 * 1024, TimeSpan.FromSeconds(1)));
            renderer.Render(ProgressEvent.StepStarted(1, 2, "FROM 127.0.0.1:5001/base@sha256:abc"));
            renderer.Render(ProgressEvent.StepEnded(1, 2, "FROM 127.0.0.1:5001/base@sha256:abc", succeeded: true, TimeSpan.FromSeconds(1)));
            renderer.Render(ProgressEvent.TestStarted("command", "version"));
            renderer.Render(ProgressEvent.TestEnded("command", "version", passed: true, TimeSpan.FromMilliseconds(300)));
            renderer.Render(ProgressEvent.TestEnded("file", "no [docs]", passed: false, TimeSpan.FromMilliseconds(20), "found /usr/share/doc"));
        }

        // Then the output is ANSI, with the blob's bar and size, the step, the tests marked ✓ and ✗ (markup escaped), and the line
        var text = output.ToString();
        Has(text, "\u001b[");
        Has(text, "copy sha256:fedcba987654");
        Has(text, "8.0 MiB");
        Has(text, "━");
        Has(text, "step 1/2 FROM 127.0.0.1:5001/base@sha256:abc");
        Has(text, "✓");
        Has(text, "command version");
        Has(text, "✗");
        Has(text, "file no [docs]");
        Has(text, "found /usr/share/doc");
        Has(text, "==> a line between frames");
    }

    private static void Has(string text, string part) => Assert.True(text.Contains(part, StringComparison.Ordinal), $"'{part}' is not in:{Environment.NewLine}{text}");

    [Fact]
    public void Dispose_TasksStillRunning_EndsTheDisplayWithoutHanging()
    {
        // Given a live renderer with a blob that never finishes
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.Yes, Interactive = InteractionSupport.Yes, Out = new AnsiConsoleOutput(output) });
        var renderer = new LiveProgressRenderer(console);
        renderer.Render(ProgressEvent.BlobStarted(Blob, "copy", 100));

        // When it is disposed (the verb failed), twice
        renderer.Dispose();
        renderer.Dispose();

        // Then its frame was drawn and a new display can start on the same console
        Assert.Contains("copy sha256:fedcba987654", output.ToString(), StringComparison.Ordinal);
        using var again = new LiveProgressRenderer(console);
        again.Render(ProgressEvent.TestStarted("command", "x"));
    }

    [Theory]
    [InlineData(false, false, "xterm-256color", true)]
    [InlineData(true, false, "xterm-256color", false)]
    [InlineData(false, true, "xterm-256color", false)]
    [InlineData(false, false, "dumb", false)]
    public void UseLive_ProcessStandardError_LiveOnlyOnATerminalWithoutJsonAndNotDumb(bool json, bool redirected, string term, bool live)
    {
        // Given the process's own standard error and a TERM
        var console = new CliConsole(Console.Out, Console.Error)
        {
            Environment = CliEnvironment.System with { GetVariable = name => name == "TERM" ? term : null },
        };

        // When the renderer is chosen, Then it is live only on an unredirected terminal, without --json, with TERM not dumb
        Assert.Equal(live, ProgressRenderers.UseLive(console, json, redirected));
    }

    [Fact]
    public void Create_StandardErrorIsAWriter_PlainLines()
    {
        // Given a console whose standard error is a string (as in tests, or a verb's output captured in-process)
        var console = new CliConsole(new StringWriter(), new StringWriter());

        // When a renderer is chosen, Then it writes plain lines
        using var renderer = ProgressRenderers.Create(console, json: false);
        Assert.IsType<PlainProgressRenderer>(renderer);
    }
}
