using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;
using Orchestrator.Core.Signing;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Tests.Signing;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

/// <summary>Signing after validation, the require-signature gate of promotion, and signatures following the image.</summary>
public sealed class SignedPromotionTests : IDisposable
{
    private readonly WorkflowHarness _harness = new();
    private readonly TestKeyPair _release = TestKeyPair.Create();
    private readonly string _keyFile;
    private readonly string _publicFile;

    public SignedPromotionTests()
    {
        (_keyFile, _publicFile) = _release.Write(Path.Combine(_harness.Root, "keys"), "release");
    }

    public void Dispose() => _harness.Dispose();

    private VerificationKey ReleasePublic => VerificationKey.Parse(_release.PublicPem, "keys/release.pub");

    [Fact]
    public async Task ValidateAsync_SigningSet_SignsThePassedDigestAndSaysSo()
    {
        // Given signing configured and a digest in staging
        _harness.Signing = new SigningSettings(_keyFile, null);
        var digest = _harness.SeedImage();

        // When it is validated (and passes)
        var result = await _harness.Workflows.Validations.ValidateAsync("hello", digest);

        // Then it is signed in staging and the result names the tag and the key's fingerprint
        Assert.True(result.Passed);
        Assert.NotNull(result.Signature);
        Assert.Equal(CosignSignatureManifest.TagFor(digest), result.Signature.Tag);
        Assert.Equal(ReleasePublic.Fingerprint, result.Signature.KeyFingerprint);
        Assert.True(_harness.Staging.Has(WorkflowHarness.PipelineRepository, result.Signature.Tag));
        var document = Orchestrator.Core.Jobs.ResultDocuments.Validation(result);
        Assert.Equal(ReleasePublic.Fingerprint, document.Signature!.KeyFingerprint);
    }

    [Fact]
    public async Task ValidateAsync_SigningKeyMissing_FailsClearlyAndTheValidationStaysRecorded()
    {
        // Given signing from a variable that is not set
        _harness.Signing = new SigningSettings(null, "ORCHESTRATOR_SIGNING_KEY");
        var digest = _harness.SeedImage();

        // When the digest is validated
        var error = await Assert.ThrowsAsync<JobFailedException>(() => _harness.Workflows.Validations.ValidateAsync("hello", digest));

        // Then the job fails naming the variable, and the passed validation is recorded as it was
        Assert.Contains("passed validation (recorded as validation", error.Message, StringComparison.Ordinal);
        Assert.Contains("$ORCHESTRATOR_SIGNING_KEY is not set", error.Message, StringComparison.Ordinal);
        Assert.True(Assert.Single(_harness.State.Validations).Passed);
    }

    [Fact]
    public async Task PromoteAsync_RequiredSignatureMissing_RefusedNamingDigestAndKeyNothingCopied()
    {
        // Given production requiring the release key and a validated but unsigned digest
        RequireRelease();
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);

        // When it is promoted (for real, and as a dry run)
        var error = await Assert.ThrowsAsync<JobRefusedException>(() => _harness.Workflows.Promotions.PromoteAsync("hello", digest, "production"));
        var dryRun = await Assert.ThrowsAsync<JobRefusedException>(() => _harness.Workflows.Promotions.PromoteAsync("hello", digest, "production", dryRun: true));

        // Then both are refused naming the digest, the key tried and what was found, before anything was planned or copied
        Assert.Contains(digest.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains($"keys/release.pub ({ReleasePublic.Fingerprint[..19]}", error.Message, StringComparison.Ordinal);
        Assert.Contains("no signature tag", error.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was copied", error.Message, StringComparison.Ordinal);
        Assert.Equal(error.Message, dryRun.Message);
        Assert.Empty(_harness.Copier.Planned);
        Assert.Empty(_harness.Production.Puts);
        Assert.Empty(_harness.State.Promotions);
    }

    [Fact]
    public async Task PromoteAsync_SignedByAnotherKey_Refused()
    {
        // Given production requiring the release key and a digest signed by another key
        RequireRelease();
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);
        using var other = SigningKey.Parse(TestKeyPair.Create().PrivatePem, "other.key");
        await _harness.Workflows.Signatures.SignAsync(_harness.Stages[0].Registry, WorkflowHarness.PipelineRepository, digest, other);

        // When it is promoted
        var error = await Assert.ThrowsAsync<JobRefusedException>(() => _harness.Workflows.Promotions.PromoteAsync("hello", digest, "production"));

        // Then it is refused as signed by none of the keys, with nothing copied
        Assert.Contains("signed by none of the keys", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Copier.Planned);
    }

    [Fact]
    public async Task PromoteAsync_Signed_PromotedWithSignaturesCopiedUnderTheSigTag()
    {
        // Given production requiring the release key and a digest validated with signing on
        RequireRelease();
        _harness.Signing = new SigningSettings(_keyFile, null);
        var digest = _harness.SeedImage();
        var validation = await _harness.Workflows.Validations.ValidateAsync("hello", digest);

        // When it is promoted
        var result = await _harness.Workflows.Promotions.PromoteAsync("hello", digest, "production");

        // Then the gate names the key, and production has the same signature manifest under the same tag
        Assert.Equal(ReleasePublic.Fingerprint, result.VerifiedBy!.Fingerprint);
        Assert.Equal(validation.Signature!.Manifest, result.SignatureCopied);
        Assert.Equal(validation.Signature.Manifest, _harness.Production.Find(WorkflowHarness.PipelineRepository, CosignSignatureManifest.TagFor(digest))!.Digest);
        var copy = _harness.Copier.Planned.Last();
        Assert.Equal([CosignSignatureManifest.TagFor(digest)], copy.Tags);
        Assert.IsType<SignatureTagPolicy>(copy.TagPolicy);
        Assert.NotNull(Orchestrator.Core.Jobs.ResultDocuments.Promotion(result).Signature);
    }

    [Fact]
    public async Task PromoteAsync_TargetSigTagPointsElsewhere_SigTagMoves()
    {
        // Given a signed, validated digest whose .sig tag in production names an older signature manifest
        _harness.Signing = new SigningSettings(_keyFile, null);
        var digest = _harness.SeedImage();
        var validation = await _harness.Workflows.Validations.ValidateAsync("hello", digest);
        _harness.Production.AddManifest(WorkflowHarness.PipelineRepository, "older signatures", CosignSignatureManifest.TagFor(digest));

        // When it is promoted
        var result = await _harness.Workflows.Promotions.PromoteAsync("hello", digest, "production");

        // Then the signature tag moved to the source's signature manifest
        Assert.Equal(validation.Signature!.Manifest, _harness.Production.Find(WorkflowHarness.PipelineRepository, CosignSignatureManifest.TagFor(digest))!.Digest);
        Assert.Null(result.VerifiedBy);
    }

    private void RequireRelease() =>
        _harness.Stages[1] = _harness.Stages[1] with { RequiredSignatureKeys = [ReleasePublic] };
}
