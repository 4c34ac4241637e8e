using Orchestrator.Cli;
using Orchestrator.Cli.Infrastructure;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// Usage errors of 'lock' and 'outdated', decided before any engine or registry is contacted (the
/// registries point at a closed port), and the lock verb's loading of unpinned packages.
/// </summary>
public sealed class LockVerbTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-cli-lock-").FullName;

    public LockVerbTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "base-images"));
        Directory.CreateDirectory(Path.Combine(_root, "pipelines"));
        File.WriteAllText(Path.Combine(_root, "orchestrator.yaml"), """
            stages: [staging, production]
            registries:
              staging: { url: http://127.0.0.1:9 }
              production: { url: http://127.0.0.1:9 }
            state:
              path: state/state.db
            """);
        File.WriteAllText(Path.Combine(_root, "base-images", "deb.yaml"), """
            repository: base/deb
            default-variant: slim
            suite: bookworm
            variants:
              slim: { debootstrap-variant: minbase, slim: true }
            """);
        File.WriteAllText(Path.Combine(_root, "pipelines", "app.yaml"), """
            name: app
            version: 1.0.0
            base: deb/slim
            repository: apps/app
            packages:
              apt:
                hello:
            """);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var console = new CliConsole(stdout, stderr) { Environment = CliEnvironment.System with { GetVariable = _ => null } };
        var exitCode = await CliApplication.RunAsync([.. args, "--config", Path.Combine(_root, "orchestrator.yaml")], console);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

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
