namespace Orchestrator.Cli.Tests;

/// <summary>Issue 11 #7: one broken pipeline file does not block verbs on another; 'check' still refuses it.</summary>
public sealed class DefinitionScopeTests
{
    private const string BrokenOther = "name: other\nversion: 1.0.0\nbase: deb/slim\nrepository: apps/other\nbogus: 1\n";

    [Fact]
    public async Task History_OtherPipelineBroken_WarnsAtItsPositionAndSucceeds()
    {
        // Given a good pipeline 'app' and a broken 'other'
        using var ws = new CliWorkspace();
        File.WriteAllText(Path.Combine(ws.Root, "pipelines", "other.yaml"), BrokenOther);

        // When 'history app' runs
        var (exitCode, _, stderr) = await ws.RunAsync("history", "app");

        // Then it succeeds, and other's problem is a warning at its file:line:column
        Assert.True(exitCode == 0, stderr);
        Assert.Contains("orchestrator: warning: ", stderr, StringComparison.Ordinal);
        Assert.Contains("other.yaml:5:1: unknown key 'bogus'", stderr, StringComparison.Ordinal);
        Assert.Contains("'orchestrator check' reports them as errors", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PromoteDryRun_OtherPipelineBroken_GoesOnPastTheDefinitions()
    {
        // Given a good pipeline 'app', a broken 'other', and registries on a closed port
        using var ws = new CliWorkspace();
        File.WriteAllText(Path.Combine(ws.Root, "pipelines", "other.yaml"), BrokenOther);

        // When 'promote app --dry-run' runs
        var (exitCode, _, stderr) = await ws.RunAsync("promote", "app", "--digest", "sha256:" + new string('a', 64), "--dry-run");

        // Then the definitions do not stop it: it reaches the promotion policy, which refuses an unvalidated digest (exit 1)
        Assert.True(exitCode == 1, $"exit {exitCode}: {stderr}");
        Assert.Contains("has no passing validation", stderr, StringComparison.Ordinal);
        Assert.Contains("warning: ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("problems in the definitions", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_OtherPipelineBroken_RefusesWithExitTwo()
    {
        // Given a good pipeline 'app' and a broken 'other'
        using var ws = new CliWorkspace();
        File.WriteAllText(Path.Combine(ws.Root, "pipelines", "other.yaml"), BrokenOther);

        // When 'check' runs
        var (exitCode, _, stderr) = await ws.RunAsync("check");

        // Then other's problem is an error
        Assert.Equal(2, exitCode);
        Assert.Contains("other.yaml:5:1: unknown key 'bogus'", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("warning", stderr, StringComparison.Ordinal);
    }
}
