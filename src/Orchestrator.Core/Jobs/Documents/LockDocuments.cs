namespace Orchestrator.Core.Jobs.Documents;

/// <summary><c>lock --json</c>: one entry per pipeline.</summary>
public sealed record LocksDocument(IReadOnlyList<LockDocument> Locks);

/// <summary>
/// A pipeline's lock: with --check its state (fresh, stale, missing) with <c>reasons</c> and <c>message</c>;
/// otherwise <c>fresh</c> (not written) or <c>written</c> with the base digest and every package.
/// </summary>
public sealed record LockDocument(string Pipeline, string State)
{
    public IReadOnlyList<string>? Reasons { get; init; }

    public string? Message { get; init; }

    public bool? Written { get; init; }

    public string? LockFile { get; init; }

    public string? BaseDigest { get; init; }

    public IReadOnlyList<LockedPackageDocument>? Packages { get; init; }
}

/// <summary>A locked package at its exact version, with its .deb's SHA-256.</summary>
public sealed record LockedPackageDocument(string Name, string Version, string Architecture, string Sha256, bool Direct);

/// <summary><c>outdated --json</c>: per pipeline, a newer base digest and packages with newer candidates.</summary>
public sealed record OutdatedDocument(IReadOnlyList<OutdatedPipelineDocument> Pipelines);

/// <summary>One pipeline's lock against what the base and mirror serve now.</summary>
public sealed record OutdatedPipelineDocument(
    string Pipeline, string Base, string LockedBaseDigest, string CurrentBaseDigest, bool BaseOutdated, IReadOnlyList<OutdatedPackageDocument> Packages);

/// <summary>A locked package with a newer candidate; <c>security</c> when it comes from the security suite.</summary>
public sealed record OutdatedPackageDocument(string Name, string Locked, string Candidate, bool Security, bool Direct);

/// <summary><c>verify-reproducible --json</c>: the digest in the registry, the rebuilt one, and the first difference.</summary>
public sealed record ReproducibilityDocument(string Pipeline, bool Reproducible, string Expected, string Rebuilt, ImageDifferenceDocument? Difference);

/// <summary>Where two images first differ: the layer (absent for the config), the path and what differs.</summary>
public sealed record ImageDifferenceDocument(int? Layer, string Path, string Detail);
