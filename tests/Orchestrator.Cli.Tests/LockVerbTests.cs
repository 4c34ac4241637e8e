using Orchestrator.Cli;
using Orchestrator.Cli.Infrastructure;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// Usage errors of 'lock' and 'outdated', decided before any engine or registry is contacted (the
/// registries point at a closed port), and the lock verb's loading of unpinned packages.
/// </summary>
public sealed class LockVerbTests : IDisposable
{

    private readonly CliWorkspace _workspace = new(CliWorkspace.DefaultPipeline + "\n" + """
        packages:
          apt:
            hello:
        """);

    public void Dispose() => _workspace.Dispose();

    private Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) => _workspace.RunAsync(args);

    [Theory]
    [InlineData(new string[0], "name the pipeline to lock")]
    [InlineData(new[] { "app", "--all" }, "not both")]
    [InlineData(new[] { "app", "--check", "--update" }, "pass one of them")]
    [InlineData(new[] { "nosuch" }, "no pipeline named 'nosuch'")]
    public async Task Lock_BadArguments_ExitsTwoWithTheFix(string[] arguments, string expected)
    {
        // Given a workspace whose only pipeline has an unpinned package and no lock (which 'lock' accepts)
        // When 'lock' gets bad arguments
        var (exitCode, _, stderr) = await RunAsync(["lock", .. arguments]);

        // Then it exits 2 saying what to pass, before contacting anything
        Assert.Equal(2, exitCode);
        Assert.Contains(expected, stderr);
    }

    [Fact]
    public async Task Build_UnpinnedPackageWithoutLock_IsRefusedWhileLockLoadsIt()
    {
        // Given the unpinned pipeline without a lock
        // When another verb loads the definitions, Then it refuses them naming the package
        var (buildExit, _, buildStderr) = await RunAsync("build", "app");
        Assert.Equal(2, buildExit);
        Assert.Contains("'hello' has no version", buildStderr);

        // And 'lock' gets past loading (it fails later, at the unreachable registry, with exit 1)
        var (lockExit, _, lockStderr) = await RunAsync("lock", "app");
        Assert.Equal(1, lockExit);
        Assert.DoesNotContain("has no version", lockStderr);
    }
}
