namespace Orchestrator.Cli.Infrastructure;

/// <summary>
/// Where the CLI writes: the result (a reference, or JSON) on <see cref="Out"/>, everything for
/// people on <see cref="Error"/>, so <c>$(orchestrator build x)</c> captures just the reference.
/// </summary>
internal sealed record CliConsole(TextWriter Out, TextWriter Error)
{
    public static CliConsole System { get; } = new(Console.Out, Console.Error);
}
