using System.Diagnostics;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// The bad-input suite: every case under BadInput/ runs through the CLI's entry point and must end with its
/// exit code and message, no exception or stack trace text, no file written or changed, and none of its
/// secrets in the output. Each run is recorded as a try of the <c>bad-input</c> suite.
/// </summary>
public sealed class BadInputCorpusTests
{
    private const string Suite = "bad-input";

    public static TheoryData<string> Cases() => new(BadInput.Names());

    public static TheoryData<string> ProcessCases() => new(BadInput.Names().Where(n => BadInput.Load(n).Process));

    [Fact]
    public void Corpus_HasAtLeastSeventyCasesEachWithAnExpectedMessage()
    {
        // Given the corpus folder
        var names = BadInput.Names();

        // When every case is read
        var cases = names.Select(BadInput.Load).ToList();

        // Then there are at least 70, each expecting a message fragment and a failing exit code
        Assert.True(cases.Count >= 70, $"only {cases.Count} cases");
        Assert.All(cases, c => Assert.True(c.Says.Count > 0 && c.Exit != 0, $"{c.Name} expects no message or exit 0"));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task RunAsync_BadInputCase_ExitsWithItsCodeAndMessageWritingNothing(string name)
    {
        // Given the case's workspace
        var badCase = BadInput.Load(name);
        var root = badCase.CreateWorkspace();
        try
        {
            var before = BadInputCase.Snapshot(root);

            // When the CLI runs it in-process, through the entry point Program uses, with no environment
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var exitCode = await CliApplication.RunAsync(badCase.ArgumentsFor(root), new CliConsole(stdout, stderr) { Environment = CliWorkspace.Hermetic });
            var output = stdout + "\n" + stderr;

            // Then the exit code and message are the expected ones, with no stack trace, no secret and no file written
            var problems = badCase.Problems(exitCode, output, before, BadInputCase.Snapshot(root));
            SuiteFigures.Record(Suite, name, problems.Count == 0 ? SuiteOutcome.Success : SuiteOutcome.Inconsistent,
                problems.Count == 0 ? $"exit {exitCode}" : string.Join("; ", problems));
            Assert.True(problems.Count == 0, $"{name}: {string.Join("; ", problems)}\n--- output ---\n{output}");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(ProcessCases))]
    public async Task BuiltCli_BadInputCase_ExitsWithItsCodeAndMessageWritingNothing(string name)
    {
        // Given the case's workspace and the CLI as users run it ($ORCHESTRATOR_BINARY, else the build next to this assembly)
        var badCase = BadInput.Load(name);
        var root = badCase.CreateWorkspace();
        try
        {
            var before = BadInputCase.Snapshot(root);

            // When it runs as its own process, in the workspace, with no ORCHESTRATOR_* variable
            var start = CliBinary.StartInfo(badCase.ArgumentsFor(root));
            start.WorkingDirectory = root;

            foreach (var variable in start.Environment.Keys.Where(k => k.StartsWith("ORCHESTRATOR_", StringComparison.Ordinal)).ToList())
            {
                start.Environment.Remove(variable);
            }

            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            var output = await stdout + "\n" + await stderr;

            // Then the process ends as the in-process run does
            var problems = badCase.Problems(process.ExitCode, output, before, BadInputCase.Snapshot(root));
            SuiteFigures.Record(Suite, name + " (process)", problems.Count == 0 ? SuiteOutcome.Success : SuiteOutcome.Inconsistent,
                problems.Count == 0 ? $"exit {process.ExitCode}" : string.Join("; ", problems));
            Assert.True(problems.Count == 0, $"{name}: {string.Join("; ", problems)}\n--- output ---\n{output}");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}

/// <summary>Short names for the corpus, so the theories read.</summary>
internal static class BadInput
{
    public static IReadOnlyList<string> Names() => BadInputCase.Names();

    public static BadInputCase Load(string name) => BadInputCase.Load(name);
}
