using Orchestrator.Cli.Infrastructure;
using Spectre.Console;

namespace Orchestrator.Cli.Progress;

/// <summary>
/// Picks how a job's progress is shown on standard error (issue 15, item 6): live bars (<see cref="LiveProgressRenderer"/>)
/// when standard error is this process's terminal, the verb is not asked for <c>--json</c> and <c>TERM</c> is not
/// <c>dumb</c>; plain lines (<see cref="PlainProgressRenderer"/>) otherwise. <c>NO_COLOR</c> (any value) keeps the live
/// display but without colours. Standard output is never written to: it carries only the result.
/// </summary>
internal static class ProgressRenderers
{
    /// <summary>The renderer for <paramref name="console"/>'s standard error.</summary>
    public static IProgressRenderer Create(CliConsole console, bool json)
    {
        ArgumentNullException.ThrowIfNull(console);
        return UseLive(console, json, Console.IsErrorRedirected)
            ? new LiveProgressRenderer(CreateAnsiConsole(!string.IsNullOrEmpty(console.Environment.GetVariable("NO_COLOR"))))
            : new PlainProgressRenderer(console.Error);
    }

    /// <summary>The rule: live only on the process's own, unredirected standard error, without --json, and with a TERM that is not dumb.</summary>
    internal static bool UseLive(CliConsole console, bool json, bool errorRedirected) =>
        !json
        && !errorRedirected
        && ReferenceEquals(console.Error, Console.Error)
        && !string.Equals(console.Environment.GetVariable("TERM"), "dumb", StringComparison.Ordinal);

    private static IAnsiConsole CreateAnsiConsole(bool noColor)
    {
        var ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = noColor ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(Console.Error),
        });

        // A pseudo-terminal opened without a size (script(1) under a test) reports width 0.
        if (ansi.Profile.Width < 20)
        {
            ansi.Profile.Width = 100;
        }

        return ansi;
    }
}
