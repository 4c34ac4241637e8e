using System.Text;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ProcessWitness;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Signatures end to end against the real engine and registries: a digest signed after validation, promoted to
/// production with its signature, and the signature checked by an independent witness (skopeo for the manifest,
/// plain HTTP for the payload blob, openssl for the ECDSA signature, keys made by openssl); a stage requiring
/// signatures refuses an unsigned digest and one signed by another key with nothing copied.
/// </summary>
[Collection(RealPartsCollection.Name)]
[Trait("Category", "Integration")]
public sealed class SignatureTests(RealPartsFixture fixture)
{
    private const string Staging = TestWorkspace.Staging;
    private const string Production = TestWorkspace.Production;

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task ValidateThenPromote_SigningOn_ProductionSignatureVerifiesWithOpenssl()
    {
        // Given an openssl key pair and a config that signs with it and requires it for production
        var keys = await MakeKeyPairsAsync("release");
        var config = WriteConfig("signed", signingKey: keys["release"].Private, requireKey: keys["release"].Public);
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync($"hello-signed-{Guid.NewGuid().ToString("N")[..6]}");
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);
        var build = await CliRunner.RunAsync(config, "build", name, "--json");
        Assert.True(build.ExitCode == 0, build.ToString());
        var digest = build.Json.GetProperty("digest").GetString()!;

        // When it is validated (which signs it) and promoted to production
        var validate = await CliRunner.RunAsync(config, "validate", name, "--digest", digest, "--json");
        Assert.True(validate.ExitCode == 0, validate.ToString());
        var signature = validate.Json.GetProperty("signature");
        var tag = $"sha256-{digest["sha256:".Length..]}.sig";
        Assert.Equal(tag, signature.GetProperty("tag").GetString());
        Assert.True(signature.GetProperty("added").GetBoolean());
        var promote = await CliRunner.RunAsync(config, "promote", name, "--digest", digest, "--to", "production", "--json");
        Assert.True(promote.ExitCode == 0, promote.ToString());

        // Then production has the signature manifest under the .sig tag (skopeo), its simple-signing payload (plain HTTP)
        // names the digest, and openssl verifies the annotation's signature over the payload with the public key
        using var manifest = JsonDocument.Parse(await SkopeoRawAsync($"{Production}/{repository}:{tag}"));
        var layer = Assert.Single(manifest.RootElement.GetProperty("layers").EnumerateArray());
        Assert.Equal("application/vnd.dev.cosign.simplesigning.v1+json", layer.GetProperty("mediaType").GetString());
        var payload = await Http.GetByteArrayAsync($"http://{Production}/v2/{repository}/blobs/{layer.GetProperty("digest").GetString()}");
        using (var claim = JsonDocument.Parse(payload))
        {
            Assert.Equal(digest, claim.RootElement.GetProperty("critical").GetProperty("image").GetProperty("docker-manifest-digest").GetString());
            Assert.Equal("cosign container image signature", claim.RootElement.GetProperty("critical").GetProperty("type").GetString());
        }

        var folder = Path.GetDirectoryName(keys["release"].Public)!;
        await File.WriteAllBytesAsync(Path.Combine(folder, "payload"), payload);
        await File.WriteAllBytesAsync(Path.Combine(folder, "sig.der"),
            Convert.FromBase64String(layer.GetProperty("annotations").GetProperty("dev.cosignproject.cosign/signature").GetString()!));
        var openssl = await RunAsync("openssl", "dgst", "-sha256", "-verify", keys["release"].Public, "-signature", Path.Combine(folder, "sig.der"), Path.Combine(folder, "payload"));
        Assert.True(openssl.ExitCode == 0 && openssl.Stdout.Contains("Verified OK", StringComparison.Ordinal), $"openssl: {openssl.Stdout}{openssl.Stderr}");

        // And 'orchestrator verify' passes on what production serves, naming the key
        var verify = await CliRunner.RunAsync(config, "verify", name, "--stage", "production", "--json");
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.True(verify.Json.GetProperty("verified").GetBoolean());
        Assert.Equal(digest, verify.Json.GetProperty("digest").GetString());
        Assert.EndsWith("release.pub", verify.Json.GetProperty("verifiedBy").GetProperty("path").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promote_RequireSignature_UnsignedAndOtherKeyRefusedNothingCopied()
    {
        // Given production requiring the release key, and a digest validated without signing
        var keys = await MakeKeyPairsAsync("release", "other");
        var gated = WriteConfig("gated", signingKey: null, requireKey: keys["release"].Public);
        var otherSigner = WriteConfig("other-signer", signingKey: keys["other"].Private, requireKey: null);
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync($"hello-unsigned-{Guid.NewGuid().ToString("N")[..6]}");
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);
        var build = await CliRunner.RunAsync(gated, "build", name, "--json");
        Assert.True(build.ExitCode == 0, build.ToString());
        var digest = build.Json.GetProperty("digest").GetString()!;
        var validate = await CliRunner.RunAsync(gated, "validate", name, "--digest", digest, "--json");
        Assert.True(validate.ExitCode == 0, validate.ToString());
        Assert.False(validate.Json.TryGetProperty("signature", out _));

        // When it is verified and promoted (dry run and real)
        var verify = await CliRunner.RunAsync(gated, "verify", name, "--stage", "staging", "--key", keys["release"].Public);
        var dryRun = await CliRunner.RunAsync(gated, "promote", name, "--digest", digest, "--to", "production", "--dry-run");
        var unsigned = await CliRunner.RunAsync(gated, "promote", name, "--digest", digest, "--to", "production");

        // Then verify fails and both promotions are refused, naming the digest, the key and that no signature exists
        Assert.Equal(1, verify.ExitCode);
        Assert.Contains("no signature tag", verify.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, dryRun.ExitCode);
        Assert.Equal(1, unsigned.ExitCode);
        Assert.Contains(digest, unsigned.Stderr, StringComparison.Ordinal);
        Assert.Contains("release.pub (sha256:", unsigned.Stderr, StringComparison.Ordinal);
        Assert.Contains("no signature tag", unsigned.Stderr, StringComparison.Ordinal);

        // When the digest is signed by another key (validated again under a config signing with it) and promoted
        var resign = await CliRunner.RunAsync(otherSigner, "validate", name, "--digest", digest, "--json");
        Assert.True(resign.ExitCode == 0, resign.ToString());
        var otherKey = await CliRunner.RunAsync(gated, "promote", name, "--digest", digest, "--to", "production");

        // Then it is refused as signed by none of the keys, and production has neither the manifest nor any tag (skopeo)
        Assert.Equal(1, otherKey.ExitCode);
        Assert.Contains("signed by none of the keys", otherKey.Stderr, StringComparison.Ordinal);
        Assert.False(await SkopeoExistsAsync($"{Production}/{repository}@{digest}"));
        Assert.False(await SkopeoExistsAsync($"{Production}/{repository}:1.0.0"));
        Assert.False(await SkopeoExistsAsync($"{Production}/{repository}:sha256-{digest["sha256:".Length..]}.sig"));
        Assert.True(await SkopeoExistsAsync($"{Staging}/{repository}:sha256-{digest["sha256:".Length..]}.sig"));
    }

    // ECDSA P-256 key pairs made by openssl (not by Orchestrator): NAME.key (SEC1 with curve parameters, as ecparam writes) and NAME.pub.
    private async Task<Dictionary<string, (string Private, string Public)>> MakeKeyPairsAsync(params string[] names)
    {
        var folder = Path.Combine(fixture.Workspace.Root, $"keys-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(folder);
        var pairs = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var (privateKey, publicKey) = (Path.Combine(folder, $"{name}.key"), Path.Combine(folder, $"{name}.pub"));
            var made = await RunAsync("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-out", privateKey);
            Assert.True(made.ExitCode == 0, made.Stderr);
            var exported = await RunAsync("openssl", "ec", "-in", privateKey, "-pubout", "-out", publicKey);
            Assert.True(exported.ExitCode == 0, exported.Stderr);
            pairs[name] = (privateKey, publicKey);
        }

        return pairs;
    }

    // A second config beside the fixture's (same state, bases and pipelines), with signing and a production gate.
    private string WriteConfig(string name, string? signingKey, string? requireKey)
    {
        var path = Path.Combine(fixture.Workspace.Root, $"{name}-{Guid.NewGuid().ToString("N")[..6]}.yaml");
        var text = new StringBuilder()
            .AppendLine("engine: { endpoint: unix:///var/run/docker.sock }")
            .AppendLine("stages: [staging, production]")
            .AppendLine("registries:")
            .AppendLine($"  staging: {{ url: http://{Staging} }}")
            .AppendLine(requireKey is null
                ? $"  production: {{ url: http://{Production} }}"
                : $"  production: {{ url: http://{Production}, require-signature: [{Path.GetRelativePath(fixture.Workspace.Root, requireKey)}] }}")
            .AppendLine("state: { path: state/state.db }")
            .AppendLine("paths: { work: work }");
        if (signingKey is not null)
        {
            text.AppendLine($"signing: {{ key-file: {Path.GetRelativePath(fixture.Workspace.Root, signingKey)} }}");
        }

        File.WriteAllText(path, text.ToString());
        return path;
    }

    private static async Task<string> SkopeoRawAsync(string reference)
    {
        var result = await RunAsync("skopeo", "inspect", "--tls-verify=false", "--raw", $"docker://{reference}");
        Assert.True(result.ExitCode == 0, $"skopeo inspect --raw {reference} failed: {result.Stderr}");
        return result.Stdout;
    }
}
