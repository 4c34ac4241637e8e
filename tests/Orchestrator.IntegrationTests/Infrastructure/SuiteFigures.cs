using System.Text.Json;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>How one try of a reliability suite (faults, kills, bad input) ended.</summary>
public enum SuiteOutcome
{
    /// <summary>The operation completed and its result is right (e.g. the target serves the source's digest).</summary>
    Success,

    /// <summary>The operation failed with a clear cause, left nothing half-written, and a rerun completes it.</summary>
    CleanFailure,

    /// <summary>Anything else: a wrong result, a half-written state, a stack trace. Must stay 0.</summary>
    Inconsistent,
}

/// <summary>
/// Records each try of a reliability suite as one JSON line in <c>FIGURES_DIR/SUITE.jsonl</c>, so that
/// <c>scripts/test</c> can print, after the run, how many tries each suite made and how they ended.
/// FIGURES_DIR is <c>$ORCHESTRATOR_SUITE_FIGURES</c> (set by scripts/test to the run's results folder),
/// else <c>.orchestrator/test-results/figures</c> under the current directory. Appends are one short
/// write each, so concurrent tests do not interleave lines.
/// </summary>
/// <remarks>Linked into the other test projects that run a suite (<c>&lt;Compile Include&gt;</c>), so there is one writer.</remarks>
public static class SuiteFigures
{
    private static readonly object Gate = new();

    /// <summary>The folder the figures go to.</summary>
    public static string Directory =>
        Environment.GetEnvironmentVariable("ORCHESTRATOR_SUITE_FIGURES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(System.IO.Directory.GetCurrentDirectory(), ".orchestrator", "test-results", "figures");

    /// <summary>Records one try of <paramref name="suite"/>: <paramref name="tryName"/> ended with <paramref name="outcome"/>.</summary>
    /// <param name="suite">Short suite name, e.g. <c>faults</c>, <c>kills</c>, <c>bad-input</c>.</param>
    /// <param name="tryName">What was tried, e.g. <c>reset at 20 %</c>.</param>
    /// <param name="outcome">How it ended.</param>
    /// <param name="detail">One line people can read: the exit code and message, the digest found.</param>
    public static void Record(string suite, string tryName, SuiteOutcome outcome, string detail = "")
    {
        var line = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["suite"] = suite,
            ["try"] = tryName,
            ["outcome"] = outcome switch
            {
                SuiteOutcome.Success => "success",
                SuiteOutcome.CleanFailure => "clean-failure",
                _ => "inconsistent",
            },
            ["detail"] = detail.ReplaceLineEndings(" "),
        }) + "\n";
        lock (Gate)
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.AppendAllText(Path.Combine(Directory, suite + ".jsonl"), line);
        }
    }
}
