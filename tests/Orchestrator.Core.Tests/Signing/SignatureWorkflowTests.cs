using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;
using Orchestrator.Core.Signing;
using Orchestrator.Core.Tests.Fakes;

namespace Orchestrator.Core.Tests.Signing;

public sealed class SignatureWorkflowTests : IDisposable
{
    private const string Repository = WorkflowHarness.PipelineRepository;

    private readonly WorkflowHarness _harness = new();
    private readonly TestKeyPair _pair = TestKeyPair.Create();
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);

    public void Dispose() => _harness.Dispose();

    private SignatureWorkflow Workflow => new(_harness.Registries, name => _environment.GetValueOrDefault(name), NullLogger<SignatureWorkflow>.Instance);

    private RegistryEndpoint Staging => _harness.Stages[0].Registry;

    [Fact]
    public async Task SignAsync_UnsignedDigest_WritesSigTagThatVerifies()
    {
        // Given an image in staging
        var digest = _harness.SeedImage();
        using var key = SigningKey.Parse(_pair.PrivatePem, "release.key");

        // When it is signed
        var signed = await Workflow.SignAsync(Staging, Repository, digest, key);

        // Then the .sig tag holds one simple-signing layer whose payload names the digest, and it verifies with the public key
        Assert.True(signed.Added);
        Assert.Equal(CosignSignatureManifest.TagFor(digest), signed.Tag);
        Assert.Equal(key.Fingerprint, signed.KeyFingerprint);
        var manifest = _harness.Staging.Find(Repository, signed.Tag)!;
        Assert.Equal(signed.Manifest, manifest.Digest);
        Assert.True(CosignSignatureManifest.TryReadLayers(manifest.Content.Span, out var layers, out _));
        var layer = Assert.Single(layers!);
        var payload = _harness.Staging.Blobs[(Repository, layer.Digest)];
        Assert.Contains(digest.ToString(), Encoding.UTF8.GetString(payload), StringComparison.Ordinal);
        Assert.Contains($"\"docker-reference\":\"{WorkflowHarness.StagingHost}/{Repository}\"", Encoding.UTF8.GetString(payload), StringComparison.Ordinal);
        var verification = await Workflow.VerifyAsync(Staging, Repository, digest, [VerificationKey.Parse(_pair.PublicPem, "release.pub")]);
        Assert.True(verification.Verified, string.Join("; ", verification.Findings));
        Assert.Null(signed.Referrer);
    }

    [Fact]
    public async Task SignAsync_AlreadySignedBySameKey_AddsNoSecondLayer()
    {
        // Given a digest signed once
        var digest = _harness.SeedImage();
        using var key = SigningKey.Parse(_pair.PrivatePem, "release.key");
        var first = await Workflow.SignAsync(Staging, Repository, digest, key);
        var puts = _harness.Staging.Puts.Count;

        // When it is signed again with the same key
        var second = await Workflow.SignAsync(Staging, Repository, digest, key);

        // Then nothing is written and the manifest is the same one
        Assert.False(second.Added);
        Assert.Equal(first.Manifest, second.Manifest);
        Assert.Equal(puts, _harness.Staging.Puts.Count);
    }

    [Fact]
    public async Task SignAsync_SecondKey_AppendsALayerKeepingTheFirst()
    {
        // Given a digest signed by one key
        var digest = _harness.SeedImage();
        using var one = SigningKey.Parse(_pair.PrivatePem, "one.key");
        var otherPair = TestKeyPair.Create();
        using var two = SigningKey.Parse(otherPair.PrivatePem, "two.key");
        await Workflow.SignAsync(Staging, Repository, digest, one);

        // When another key signs it
        var signed = await Workflow.SignAsync(Staging, Repository, digest, two);

        // Then the manifest has both layers and each key verifies
        Assert.True(signed.Added);
        Assert.True(CosignSignatureManifest.TryReadLayers(_harness.Staging.Find(Repository, signed.Tag)!.Content.Span, out var layers, out _));
        Assert.Equal(2, layers!.Count);
        Assert.True((await Workflow.VerifyAsync(Staging, Repository, digest, [VerificationKey.Parse(_pair.PublicPem, "one.pub")])).Verified);
        Assert.True((await Workflow.VerifyAsync(Staging, Repository, digest, [VerificationKey.Parse(otherPair.PublicPem, "two.pub")])).Verified);
    }

    [Fact]
    public async Task SignAsync_RegistryWithReferrersApi_AlsoPushesReferrerWithSubject()
    {
        // Given a registry with the OCI 1.1 referrers API
        _harness.Staging.HasReferrersApi = true;
        var digest = _harness.SeedImage();
        using var key = SigningKey.Parse(_pair.PrivatePem, "release.key");

        // When a digest is signed
        var signed = await Workflow.SignAsync(Staging, Repository, digest, key);

        // Then the signature is also a referrer of cosign's artifact type whose subject is the digest
        Assert.NotNull(signed.Referrer);
        var referrer = Assert.Single(await _harness.Staging.ListReferrersAsync(Repository, digest));
        Assert.Equal(signed.Referrer, referrer.Digest);
        Assert.Equal(CosignSignatureManifest.ArtifactType, referrer.ArtifactType);
        Assert.True(_harness.Staging.Blobs.ContainsKey((Repository, Orchestrator.Core.Images.ArtifactManifest.EmptyConfig.Digest)));
    }

    [Fact]
    public async Task VerifyAsync_NoSignatureTag_SaysSo()
    {
        // Given an unsigned digest
        var digest = _harness.SeedImage();

        // When it is verified
        var result = await Workflow.VerifyAsync(Staging, Repository, digest, [VerificationKey.Parse(_pair.PublicPem, "release.pub")]);

        // Then it is not verified, naming the missing tag
        Assert.False(result.Verified);
        Assert.Contains($"no signature tag {CosignSignatureManifest.TagFor(digest)}", Assert.Single(result.Findings), StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAsync_SignedByAnotherKey_SaysSignedByNoneOfTheKeys()
    {
        // Given a digest signed by a key that is not the one tried
        var digest = _harness.SeedImage();
        using var other = SigningKey.Parse(TestKeyPair.Create().PrivatePem, "other.key");
        await Workflow.SignAsync(Staging, Repository, digest, other);

        // When it is verified with the release key
        var result = await Workflow.VerifyAsync(Staging, Repository, digest, [VerificationKey.Parse(_pair.PublicPem, "release.pub")]);

        // Then it is not verified
        Assert.False(result.Verified);
        Assert.Contains("signed by none of the keys", Assert.Single(result.Findings), StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAsync_PayloadForAnotherDigest_SaysSo()
    {
        // Given digest B's signature copied under digest A's .sig tag (a replayed signature)
        var a = _harness.SeedImage("a");
        var b = _harness.SeedImage("b");
        using var key = SigningKey.Parse(_pair.PrivatePem, "release.key");
        var signed = await Workflow.SignAsync(Staging, Repository, b, key);
        var manifest = _harness.Staging.Find(Repository, signed.Tag)!;
        _harness.Staging.Store(Repository, manifest.Content.ToArray(), manifest.MediaType, CosignSignatureManifest.TagFor(a));

        // When A is verified with the right key
        var result = await Workflow.VerifyAsync(Staging, Repository, a, [VerificationKey.Parse(_pair.PublicPem, "release.pub")]);

        // Then it is not verified: the signature is valid but for another digest
        Assert.False(result.Verified);
        Assert.Contains($"payload for another digest ({b})", Assert.Single(result.Findings), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadKey_EnvUnset_NamesTheVariableNotAKey()
    {
        // When the key comes from an unset variable
        var error = Assert.Throws<InputException>(() => Workflow.LoadKey(new SigningSettings(null, "ORCHESTRATOR_SIGNING_KEY")));

        // Then the error names the variable
        Assert.Contains("$ORCHESTRATOR_SIGNING_KEY is not set", error.Message, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    [Fact]
    public void LoadKey_FromEnv_ReadsTheKey()
    {
        // Given the PEM text in a variable
        _environment["SIGNING_KEY"] = _pair.PrivatePem;

        // When the key is loaded
        using var key = Workflow.LoadKey(new SigningSettings(null, "SIGNING_KEY"));

        // Then it is the pair's private half
        Assert.Equal(VerificationKey.Parse(_pair.PublicPem, "x").Fingerprint, key.Fingerprint);
        Assert.Equal("$SIGNING_KEY", key.Source);
    }
}
