namespace Orchestrator.Cli.Tests;

/// <summary>'verify-reproducible' refusals decided before any engine or registry is contacted (the registries point at a closed port).</summary>
public sealed class VerifyReproducibleVerbTests : IDisposable
{
    private readonly CliWorkspace _workspace = new(CliWorkspace.DefaultPipeline);

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public async Task VerifyReproducible_UnknownPipeline_ExitsTwoNamingIt()
    {
        // When verifying a pipeline that does not exist
        var (exitCode, stdout, stderr) = await _workspace.RunAsync("verify-reproducible", "nosuch");

        // Then it exits 2 naming it, and prints no result
        Assert.Equal(2, exitCode);
        Assert.Contains("no pipeline named 'nosuch'", stderr);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public async Task VerifyReproducible_NoPipelineArgument_ExitsTwo()
    {
        // When the pipeline is not named
        var (exitCode, _, stderr) = await _workspace.RunAsync("verify-reproducible");

        // Then it is a usage error
        Assert.Equal(2, exitCode);
        Assert.Contains("Required argument missing", stderr, StringComparison.Ordinal);
    }
}
