using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>A base variant in the first stage: <c>127.0.0.1:5001/base/debian-bookworm@sha256:…</c> and its tag.</summary>
/// <param name="Base"><c>NAME/VARIANT</c>.</param>
/// <param name="Reference">The digest-pinned reference.</param>
/// <param name="Tag">The variant tag.</param>
/// <param name="Built">False when it was already in the stage and nothing was built.</param>
public sealed record BaseBuildResult(string Base, ImageReference Reference, string Tag, bool Built)
{
    public Digest Digest => Reference.Digest!;

    /// <summary><c>HOST/REPOSITORY:TAG@sha256:…</c>: what <c>base build</c> prints, the tag and the digest together.</summary>
    public string TaggedReference => $"{Reference.Name}:{Tag}@{Digest}";
}

/// <summary>A pipeline image pushed to the first stage.</summary>
public sealed record BuildResult(string Pipeline, ImageReference Reference, IReadOnlyList<string> Tags, ImageReference BaseReference, long BuildId)
{
    public Digest Digest => Reference.Digest!;

    /// <summary>True when nothing was built: an earlier build with the same cache key was reused. <value>The default is false.</value></summary>
    public bool CacheHit { get; init; }

    /// <summary>The build cache key of its inputs, or null when it was not computed. <value>The default is null.</value></summary>
    public Digest? CacheKey { get; init; }

    /// <summary>The digest of the SBOM artifact attached to <see cref="Digest"/> as a referrer, or null when none was attached.</summary>
    public Digest? SbomDigest { get; init; }

    /// <summary>The pushed image's size by layer and in total (compressed, from its manifest; a cache hit reads it from the stage), or null when not read. <value>The default is null.</value></summary>
    public ImageSize? Size { get; init; }

    /// <summary>The image's uncompressed size in bytes as the engine reports it, or null when not read (a cache hit makes no engine call). <value>The default is null.</value></summary>
    public long? UncompressedBytes { get; init; }
}

/// <summary>A validation of one digest; <see cref="Passed"/> when every test passed.</summary>
public sealed record ValidationResult(string Pipeline, ImageReference Reference, bool Passed, IReadOnlyList<TestResult> Results, long ValidationId)
{
    public Digest Digest => Reference.Digest!;

    /// <summary>The signing of the passed digest (<c>signing:</c> in orchestrator.yaml), or null when not signed. <value>The default is null.</value></summary>
    public Signing.SigningResult? Signature { get; init; }
}

/// <summary>A promotion (or its dry-run plan) from one stage to the next.</summary>
/// <param name="Pipeline">The pipeline.</param>
/// <param name="FromStage">Where the digest came from.</param>
/// <param name="ToStage">Where it went.</param>
/// <param name="Source">The digest-pinned source reference.</param>
/// <param name="Target">The digest-pinned target reference.</param>
/// <param name="Plan">The plan computed before anything was written.</param>
/// <param name="Copy">What the copy did, or null for a dry run.</param>
/// <param name="PromotionId">The record's id, or 0 for a dry run.</param>
public sealed record PromotionResult(
    string Pipeline,
    string FromStage,
    string ToStage,
    ImageReference Source,
    ImageReference Target,
    CopyPlan Plan,
    CopyResult? Copy,
    long PromotionId)
{
    public bool DryRun => Copy is null;

    /// <summary>The key whose signature let the digest into a stage with <c>require-signature</c>, or null when none is required. <value>The default is null.</value></summary>
    public Signing.VerificationKey? VerifiedBy { get; init; }

    /// <summary>The signature manifest copied to the target under <c>sha256-HEX.sig</c>, or null when the source has none (or a dry run). <value>The default is null.</value></summary>
    public Digest? SignatureCopied { get; init; }
}

/// <summary>A whole run: base, build, validation, and every promotion.</summary>
public sealed record RunResult(
    string Pipeline,
    BaseBuildResult Base,
    BuildResult Build,
    ValidationResult Validation,
    IReadOnlyList<PromotionResult> Promotions)
{
    /// <summary>The digest-pinned reference in the last stage reached.</summary>
    public ImageReference Final => Promotions.Count > 0 ? Promotions[^1].Target : Build.Reference;
}
