namespace Orchestrator.Core.Jobs.Documents;

/// <summary><c>base build --json</c>, and the <c>base</c> of a run: a base variant in the first stage.</summary>
/// <param name="Base">NAME/VARIANT.</param>
/// <param name="Reference">Digest-pinned reference.</param>
/// <param name="Digest">sha256:… of the manifest.</param>
/// <param name="Tag">The variant tag.</param>
/// <param name="TaggedReference">REPOSITORY:TAG@DIGEST.</param>
/// <param name="Built">False when the stage already had it.</param>
public sealed record BaseBuildDocument(string Base, string Reference, string Digest, string Tag, string TaggedReference, bool Built);

/// <summary>
/// <c>build --json</c>, a build job's result, and the <c>build</c> of a run. <c>cacheKey</c> and <c>sbom</c> are
/// digests; <c>size</c> is absent when the build did not measure it.
/// </summary>
public sealed record BuildDocument(
    string Pipeline,
    string Reference,
    string Digest,
    IReadOnlyList<string> Tags,
    string BaseReference,
    long BuildId,
    bool CacheHit,
    string? CacheKey,
    string? Sbom,
    BuildSizeDocument? Size);

/// <summary>An image's sizes in bytes: compressed total, uncompressed layers, config, each layer as the manifest lists it.</summary>
public sealed record BuildSizeDocument(long TotalBytes, long? UncompressedBytes, long ConfigBytes, IReadOnlyList<LayerSizeDocument> Layers);

/// <summary>One layer: its blob digest and compressed size in bytes.</summary>
public sealed record LayerSizeDocument(string Digest, long SizeBytes);

/// <summary><c>build --all --json</c>: every base and pipeline, bases first.</summary>
public sealed record BuildAllDocument(bool Succeeded, IReadOnlyList<BuildAllEntryDocument> Results);

/// <summary>One base or pipeline of <c>build --all</c>; <c>outcome</c> is built, present, cache-hit, failed or skipped.</summary>
public sealed record BuildAllEntryDocument(string Subject, string Kind, string Outcome, string? Reference, string? Digest, string? Error);
