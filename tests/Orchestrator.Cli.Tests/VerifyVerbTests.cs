using System.Security.Cryptography;

namespace Orchestrator.Cli.Tests;

/// <summary>'verify' refusals decided before any registry is contacted (the registries point at a closed port).</summary>
public sealed class VerifyVerbTests : IDisposable
{
    private readonly CliWorkspace _workspace = new(CliWorkspace.DefaultPipeline);

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public async Task Verify_NoKeyAndNoRequireSignature_ExitsTwoSayingHowToGiveOne()
    {
        // When a stage without require-signature is verified without --key
        var (exitCode, stdout, stderr) = await _workspace.RunAsync("verify", "app", "--stage", "production");

        // Then it is bad input naming both ways to give a key
        Assert.Equal(2, exitCode);
        Assert.Contains("no key to verify with: pass --key KEY.pub", stderr, StringComparison.Ordinal);
        Assert.Contains("require-signature", stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public async Task Verify_PrivateKeyGivenAsKey_ExitsTwoWithoutEchoingIt()
    {
        // Given a private key where the public one belongs
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = key.ExportPkcs8PrivateKeyPem();
        var path = Path.Combine(_workspace.Root, "release.key");
        await File.WriteAllTextAsync(path, pem);

        // When it is passed as --key
        var (exitCode, stdout, stderr) = await _workspace.RunAsync("verify", "app", "--stage", "production", "--key", path, "--json");

        // Then it is refused as a private key, and no line of the key reaches the output
        Assert.Equal(2, exitCode);
        Assert.Contains("is a private key ('PRIVATE KEY') where a public key is expected", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(pem.Split('\n')[1], stderr + stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_UnknownStage_ExitsTwoListingTheStages()
    {
        // When a stage that does not exist is named
        var (exitCode, _, stderr) = await _workspace.RunAsync("verify", "app", "--stage", "prod");

        // Then the stages are listed
        Assert.Equal(2, exitCode);
        Assert.Contains("no stage named 'prod'", stderr, StringComparison.Ordinal);
    }
}
