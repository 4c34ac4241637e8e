namespace Orchestrator.Cli.Tests;

/// <summary>'run --all' against registries on a closed port: every pipeline fails, and none hides the others.</summary>
public sealed class RunVerbTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public RunVerbTests()
    {
        // A second pipeline beside 'app', the same definition under another name and repository.
        var second = File.ReadAllText(Path.Combine(_workspace.Root, "pipelines", "app.yaml"))
            .Replace("name: app", "name: other", StringComparison.Ordinal)
            .Replace("repository: apps/app", "repository: apps/other", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(_workspace.Root, "pipelines", "other.yaml"), second);
    }

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public async Task RunAll_EveryPipelineFails_EachIsTriedAndNamedThenExitOne()
    {
        // When every pipeline is run and the first one fails
        var (exitCode, stdout, stderr) = await _workspace.RunAsync("run", "--all");

        // Then the second was still tried, both failures are named, nothing was released, and the exit code is 1
        Assert.Equal(1, exitCode);
        Assert.Contains("orchestrator: app: ", stderr, StringComparison.Ordinal);
        Assert.Contains("orchestrator: other: ", stderr, StringComparison.Ordinal);
        Assert.Contains("2 of 2 pipeline(s) failed: app, other", stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout.Trim());
    }
}
