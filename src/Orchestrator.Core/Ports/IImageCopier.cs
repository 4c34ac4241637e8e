using System.Text.Json.Serialization;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Ports;

/// <summary>
/// The digest-preserving copy engine (Orchestrator.Registry): copies a manifest or image index and
/// every blob it references from one registry to another through the distribution API, byte for byte.
/// A copy is planned first, as sets, before anything is written; the same plan drives a dry run and
/// the real copy.
/// </summary>
public interface IImageCopier
{
    /// <summary>
    /// Reads the source manifest (and children of an index), verifies it hashes to the digest,
    /// and asks the target what it already has and what each tag points at.
    /// </summary>
    /// <exception cref="Errors.RegistryException">The source does not have the digest.</exception>
    /// <exception cref="Errors.DigestMismatchException">The source served bytes that do not hash to the digest.</exception>
    Task<CopyPlan> PlanAsync(CopyRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Executes a plan: blobs (skipping present ones, mounting within one registry, verifying each
    /// digest and size while streaming), then manifests by digest (children first, each verified via
    /// <c>Docker-Content-Digest</c>), then, only when all of that holds, the tags.
    /// </summary>
    /// <exception cref="Errors.JobRefusedException">The plan has tag conflicts, or a tag moved since planning; nothing was tagged. The message is <see cref="CopyRequest.TagPolicy"/>'s.</exception>
    /// <exception cref="Errors.DigestMismatchException">Content did not hash to its digest on the way through or on arrival.</exception>
    Task<CopyResult> CopyAsync(CopyPlan plan, IProgress<CopyProgress>? progress = null, CancellationToken cancellationToken = default);
}

/// <summary>Copy <see cref="Digest"/> from <see cref="SourceRepository"/> on <see cref="Source"/> to <see cref="TargetRepository"/> on <see cref="Target"/>, then set <see cref="Tags"/>.</summary>
public sealed record CopyRequest(
    RegistryEndpoint Source,
    string SourceRepository,
    Digest Digest,
    RegistryEndpoint Target,
    string TargetRepository,
    IReadOnlyList<string> Tags)
{
    /// <summary>
    /// Tags among <see cref="Tags"/> that may be moved from another digest (e.g. <c>latest</c>); any
    /// other tag already pointing elsewhere is a conflict. <value>The default is none.</value>
    /// </summary>
    public IReadOnlyList<string> FloatingTags { get; init; } = [];

    /// <summary>
    /// Decides which existing tags may move and words the refusal; the copy engine holds no tag policy of
    /// its own. <value>The default is <see cref="KeepExistingTags"/>: only <see cref="FloatingTags"/> move.</value>
    /// </summary>
    [JsonIgnore]
    public ITagPolicy TagPolicy { get; init; } = KeepExistingTags.Instance;
}

/// <summary>
/// A copy computed before anything is written.
/// </summary>
/// <param name="Request">What was asked.</param>
/// <param name="MediaType">The root manifest's media type.</param>
/// <param name="Manifests">Every manifest to put, children before the index that names them; root last.</param>
/// <param name="BlobsToCopy">Blobs the target lacks (deduplicated by digest).</param>
/// <param name="BlobsPresent">Blobs the target already has.</param>
/// <param name="Tags">Tags to set and what each points at in the target now.</param>
/// <param name="Conflicts">Tags that already point at another digest in the target and that <see cref="CopyRequest.TagPolicy"/> does not let move: the copy is refused.</param>
public sealed record CopyPlan(
    CopyRequest Request,
    string MediaType,
    IReadOnlyList<PlannedManifest> Manifests,
    IReadOnlyList<PlannedBlob> BlobsToCopy,
    IReadOnlyList<PlannedBlob> BlobsPresent,
    IReadOnlyList<PlannedTag> Tags,
    IReadOnlyList<TagConflict> Conflicts)
{
    public bool HasConflicts => Conflicts.Count > 0;

    /// <summary>
    /// Referrers of the digest in the source (SBOMs, signatures, attestations: OCI 1.1 referrers API or
    /// the <c>sha256-HEX</c> fallback tag), copied after the digest's own manifests and before the tags.
    /// <value>The default is none.</value>
    /// </summary>
    public IReadOnlyList<PlannedReferrer> Referrers { get; init; } = [];

    /// <summary>Bytes the copy will transfer (blobs to copy, the referrers' included, not counting mounts).</summary>
    public long BytesToCopy =>
        BlobsToCopy.Where(b => !b.CanMount).Sum(b => b.Size)
        + Referrers.SelectMany(r => r.BlobsToCopy).DistinctBy(b => b.Digest).Where(b => !b.CanMount && !BlobsToCopy.Any(o => o.Digest == b.Digest)).Sum(b => b.Size);
}

/// <summary>
/// A referrer in a plan: what the source lists, its manifests (children first, its own last) and blobs,
/// and whether the target already has it and already lists it for the digest.
/// </summary>
/// <param name="Referrer">The referrer as the source lists it (descriptor, artifact type, annotations).</param>
/// <param name="PresentInTarget">The target already has the referrer's manifest.</param>
/// <param name="ListedInTarget">The target already lists it among the digest's referrers (API or fallback index).</param>
/// <param name="Manifests">The referrer's manifests, children first, its own last.</param>
/// <param name="BlobsToCopy">Its blobs the target lacks.</param>
/// <param name="BlobsPresent">Its blobs the target has.</param>
public sealed record PlannedReferrer(
    Referrer Referrer,
    bool PresentInTarget,
    bool ListedInTarget,
    IReadOnlyList<PlannedManifest> Manifests,
    IReadOnlyList<PlannedBlob> BlobsToCopy,
    IReadOnlyList<PlannedBlob> BlobsPresent)
{
    public Digest Digest => Referrer.Digest;
}

/// <summary>A manifest in a plan, and whether the target already has it.</summary>
public sealed record PlannedManifest(Digest Digest, string MediaType, long Size, bool PresentInTarget);

/// <summary>
/// A blob in a plan. <see cref="CanMount"/> is true when the target registry can mount it instead of
/// receiving its bytes (distribution spec "Mounting a blob from another repository"): from the source
/// repository when source and target are the same registry, else from <see cref="MountFrom"/>.
/// </summary>
public sealed record PlannedBlob(Digest Digest, long Size, string MediaType, bool CanMount)
{
    /// <summary>
    /// Another repository of the target registry that an earlier copy put this blob in, to mount it
    /// from; null to mount from the source repository (same registry) or not at all. A mount the
    /// registry declines falls back to streaming the blob. <value>The default is null.</value>
    /// </summary>
    public string? MountFrom { get; init; }
}

/// <summary>A tag to set; <see cref="CurrentDigest"/> is what it points at in the target now, or null.</summary>
public sealed record PlannedTag(string Tag, Digest? CurrentDigest);

/// <summary>A tag that points at <see cref="CurrentDigest"/> in the target, not at the digest being copied.</summary>
public sealed record TagConflict(string Tag, Digest CurrentDigest);

/// <summary>What a copy did. <see cref="TargetDigest"/> is the digest the target confirmed for the root manifest.</summary>
public sealed record CopyResult(
    Digest TargetDigest,
    long BytesCopied,
    int BlobsCopied,
    int BlobsMounted,
    int BlobsSkipped,
    IReadOnlyList<string> TagsApplied)
{
    /// <summary>Referrer manifests of the digest put to the target (those it already had are not counted). <value>The default is 0.</value></summary>
    public int ReferrersCopied { get; init; }
}

/// <summary>Progress of a copy: one blob's bytes so far.</summary>
public sealed record CopyProgress(Digest Blob, long BytesDone, long Size);
