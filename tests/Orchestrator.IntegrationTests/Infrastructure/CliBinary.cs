using System.Diagnostics;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// Starts the CLI as its own process the way users run it: the published Native AOT binary named by
/// <c>$ORCHESTRATOR_BINARY</c> (scripts/test publishes it once and exports the path), else — for a run from
/// an IDE, which publishes nothing — <c>dotnet orchestrator.dll</c> from the build output next to the tests.
/// </summary>
/// <remarks>Linked into the other test projects that start the CLI (<c>&lt;Compile Include&gt;</c>), so there is one rule.</remarks>
public static class CliBinary
{
    /// <summary>The environment variable naming the published binary.</summary>
    public const string Variable = "ORCHESTRATOR_BINARY";

    /// <summary>The published binary's path, or null when the tests run on the build output.</summary>
    public static string? Published =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } path ? Path.GetFullPath(path) : null;

    /// <summary>
    /// A start of the CLI with <paramref name="arguments"/>, standard output and error redirected.
    /// </summary>
    /// <exception cref="FileNotFoundException">$ORCHESTRATOR_BINARY names no file: a run must not quietly test another build.</exception>
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        ProcessStartInfo start;
        if (Published is { } binary)
        {
            if (!File.Exists(binary))
            {
                throw new FileNotFoundException($"${Variable} names {binary}, which does not exist; publish it (./orchestrator --version) or unset the variable", binary);
            }

            start = new ProcessStartInfo(binary);
        }
        else
        {
            start = new ProcessStartInfo("dotnet");
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "orchestrator.dll"));
        }

        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }
}
