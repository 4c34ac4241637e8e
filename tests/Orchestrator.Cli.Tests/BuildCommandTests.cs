using System.Text.Json;
using Orchestrator.Cli;
using Orchestrator.Cli.Infrastructure;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// <c>build PIPELINE|--all</c> argument rules and <c>build --all</c>'s per-result lines, on a workspace whose
/// registries point at a closed port (so nothing can actually be built).
/// </summary>
public sealed class BuildCommandTests : IDisposable
{

    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Theory]
    [InlineData(new[] { "build" }, "--all")]
    [InlineData(new[] { "build", "app", "--all" }, "not both")]
    [InlineData(new[] { "build", "app", "--rebuild-bases" }, "--rebuild-bases goes with --all")]
    [InlineData(new[] { "build", "--all", "--server", "http://127.0.0.1:9" }, "in-process only")]
    public async Task Build_ArgumentsThatDoNotMakeOneBuild_ExitTwoSayingWhatToDo(string[] args, string expected)
    {
        // Given the arguments
        // When build runs
        var (exitCode, _, stderr) = await RunAsync(args);

        // Then it is a usage error naming the fix
        Assert.Equal(2, exitCode);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BuildAll_StagingUnreachable_ExitOneWithOneResultPerBaseAndPipeline()
    {
        // Given a staging registry that does not answer
        // When everything is built, as JSON
        var (exitCode, stdout, stderr) = await RunAsync("build", "--all", "--json");

        // Then the base failed, its pipeline was skipped, one document lists both, and the exit code is a failed job's
        Assert.Equal(1, exitCode);
        using var document = JsonDocument.Parse(stdout);
        Assert.False(document.RootElement.GetProperty("succeeded").GetBoolean());
        var results = document.RootElement.GetProperty("results").EnumerateArray()
            .Select(r => (r.GetProperty("kind").GetString(), r.GetProperty("subject").GetString(), r.GetProperty("outcome").GetString())).ToList();
        Assert.Equal([("base", "deb/slim", "failed"), ("pipeline", "app", "skipped")], results);
        Assert.Contains("app", stderr, StringComparison.Ordinal);
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) => _workspace.RunAsync(args);
}
