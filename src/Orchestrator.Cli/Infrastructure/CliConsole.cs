namespace Orchestrator.Cli.Infrastructure;

/// <summary>
/// Where the CLI writes: the result (a reference, or JSON) on <see cref="Out"/>, everything for
/// people on <see cref="Error"/>, so <c>$(orchestrator build x)</c> captures just the reference.
/// <see cref="Environment"/> is what the process reads from around it (variables, clock, network),
/// injectable so tests need neither process-wide variables nor a real daemon.
/// </summary>
internal sealed record CliConsole(TextWriter Out, TextWriter Error)
{
    public static CliConsole System { get; } = new(Console.Out, Console.Error);

    /// <summary>Environment variables, time and the HTTP handler used to reach a daemon.</summary>
    public CliEnvironment Environment { get; init; } = CliEnvironment.System;
}

/// <summary>
/// The surroundings of one CLI invocation.
/// </summary>
/// <param name="GetVariable">Reads an environment variable (null when unset).</param>
/// <param name="Time">The clock, for durations of running jobs.</param>
/// <param name="DaemonHandler">The HTTP handler to reach a daemon with; null for a real socket.</param>
/// <param name="PollInterval">How often a followed job's log is polled. <value>The default is 500 ms.</value></param>
internal sealed record CliEnvironment(Func<string, string?> GetVariable, TimeProvider Time, HttpMessageHandler? DaemonHandler, TimeSpan PollInterval)
{
    public static CliEnvironment System { get; } = new(global::System.Environment.GetEnvironmentVariable, TimeProvider.System, null, TimeSpan.FromMilliseconds(500));
}
