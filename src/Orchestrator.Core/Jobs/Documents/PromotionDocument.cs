namespace Orchestrator.Core.Jobs.Documents;

/// <summary>
/// <c>promote --json</c>, a promote job's result, and each of a run's <c>promotions</c>. <c>promotionId</c> is
/// absent for a dry run, <c>copy</c> too; <c>statement</c> names the in-toto referrer when asked to attest.
/// </summary>
public sealed record PromotionDocument(
    string Pipeline,
    string From,
    string To,
    string Source,
    string Reference,
    string Digest,
    bool DryRun,
    long? PromotionId,
    CopyPlanDocument Plan,
    CopyDocument? Copy)
{
    /// <summary>The attached statement's reference, with <c>--attest</c>; null (absent) otherwise.</summary>
    public string? Statement { get; init; }

    /// <summary>The signature checked by <c>require-signature</c> and the signatures copied; null (absent) when neither.</summary>
    public PromotionSignatureDocument? Signature { get; init; }
}

/// <summary>The copy plan, computed before anything was written (sizes in bytes).</summary>
public sealed record CopyPlanDocument(
    string MediaType,
    IReadOnlyList<PlannedManifestDocument> Manifests,
    IReadOnlyList<PlannedBlobDocument> BlobsToCopy,
    IReadOnlyList<PresentBlobDocument> BlobsPresent,
    IReadOnlyList<PlannedTagDocument> Tags,
    IReadOnlyList<TagConflictDocument> Conflicts,
    IReadOnlyList<PlannedReferrerDocument> Referrers);

/// <summary>A manifest of the plan and whether the target has it.</summary>
public sealed record PlannedManifestDocument(string Digest, string MediaType, long Size, bool Present);

/// <summary>A blob the target lacks; <c>mount</c> when the registry can mount it instead of receiving its bytes.</summary>
public sealed record PlannedBlobDocument(string Digest, long Size, bool Mount);

/// <summary>A blob the target has.</summary>
public sealed record PresentBlobDocument(string Digest, long Size);

/// <summary>A tag to set and the digest it names in the target now (absent when unset).</summary>
public sealed record PlannedTagDocument(string Tag, string? Current);

/// <summary>A tag that names another digest in the target: the copy is refused.</summary>
public sealed record TagConflictDocument(string Tag, string Current);

/// <summary>A referrer of the digest (SBOM, signature, attestation) and whether the target has and lists it.</summary>
public sealed record PlannedReferrerDocument(string Digest, string? ArtifactType, long Size, bool Present, bool Listed);

/// <summary>What the copy did (bytes and counts).</summary>
public sealed record CopyDocument(long BytesCopied, int BlobsCopied, int BlobsMounted, int BlobsSkipped, IReadOnlyList<string> TagsApplied, int ReferrersCopied);
