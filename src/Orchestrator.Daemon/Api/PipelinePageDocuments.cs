using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Core.Sbom;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Daemon.Api;

/// <summary>
/// <c>GET /api/pipelines/{name}/diff?from=STAGE&amp;to=STAGE</c>: what promoting <c>from</c>'s digest to <c>to</c> would
/// change there. <c>fromImage</c>/<c>toImage</c> are null when the stage holds nothing. Package lists go from what
/// <c>to</c> has now to what it would have: <c>added</c> are packages only <c>from</c>'s image has. <c>apt</c> and
/// <c>python</c> are null when an SBOM could not be read (each image's <c>sbomProblem</c> says why). Sizes in bytes
/// (compressed), <c>sizeChangePercent</c> of the size in <c>to</c>, one decimal.
/// </summary>
internal sealed record StageDiffDocument(
    string Pipeline,
    string From,
    string To,
    StageImageDocument? FromImage,
    StageImageDocument? ToImage,
    bool SameDigest,
    PackageDiffDocument? Apt,
    PackageDiffDocument? Python,
    long? SizeChangeBytes,
    double? SizeChangePercent,
    bool BaseChanged)
{
    public static StageDiffDocument Of(StageDiff diff) => new(
        diff.Pipeline,
        diff.From,
        diff.To,
        StageImageDocument.Of(diff.FromImage),
        StageImageDocument.Of(diff.ToImage),
        diff.SameDigest,
        PackageDiffDocument.Of(diff.Apt),
        PackageDiffDocument.Of(diff.Python),
        diff.SizeChangeBytes,
        diff.SizeChangePercent,
        diff.BaseChanged);
}

/// <summary>One stage's image: reference, digest, compressed size, base labels, package counts from its SBOM, signature tag.</summary>
internal sealed record StageImageDocument(
    string Stage,
    string Reference,
    string Digest,
    long? Size,
    string? BaseName,
    string? BaseDigest,
    int? AptPackages,
    int? PythonPackages,
    string? SbomProblem,
    bool Signed)
{
    public static StageImageDocument? Of(StageImage? image) => image is null ? null : new(
        image.Stage,
        image.Reference.ToString(),
        image.Digest.ToString(),
        image.SizeBytes,
        image.BaseName,
        image.BaseDigest?.ToString(),
        image.Packages?.Apt.Count,
        image.Packages?.Python.Count,
        image.SbomProblem,
        image.Signed);
}

/// <summary>Packages added, removed, upgraded and downgraded, each sorted by name.</summary>
internal sealed record PackageDiffDocument(
    IReadOnlyList<PackageChangeDocument> Added,
    IReadOnlyList<PackageChangeDocument> Removed,
    IReadOnlyList<PackageChangeDocument> Upgraded,
    IReadOnlyList<PackageChangeDocument> Downgraded)
{
    public static PackageDiffDocument? Of(PackageDiff? diff) => diff is null ? null : new(
        [.. diff.Added.Select(PackageChangeDocument.Of)],
        [.. diff.Removed.Select(PackageChangeDocument.Of)],
        [.. diff.Upgraded.Select(PackageChangeDocument.Of)],
        [.. diff.Downgraded.Select(PackageChangeDocument.Of)]);
}

/// <summary>One package: <c>fromVersion</c> is what <c>to</c> has now (null when added), <c>toVersion</c> what it would have (null when removed).</summary>
internal sealed record PackageChangeDocument(string Name, string? Architecture, string? FromVersion, string? ToVersion)
{
    public static PackageChangeDocument Of(PackageChange change) => new(change.Name, change.Architecture, change.OldVersion, change.NewVersion);
}

/// <summary>
/// <c>GET /api/pipelines/{name}/lock</c>: the pipeline's lock as the daemon loaded it. <c>locked</c> is false when the
/// pipeline has no lock file; <c>stale</c> is the reason the lock no longer describes the pipeline, or null.
/// <c>requirements</c> are the pinned Python requirements (<c>name==version</c>) the definition names.
/// </summary>
internal sealed record LockViewDocument(
    string Pipeline,
    bool Locked,
    string? Stale,
    string? BaseName,
    string? BaseDigest,
    IReadOnlyList<LockedPackageDocument> Packages,
    IReadOnlyList<LockedPythonDocument> PythonPackages,
    IReadOnlyList<string> Requirements);

/// <summary>One apt package of the lock's closure; <c>direct</c> when the pipeline names it.</summary>
internal sealed record LockedPackageDocument(string Name, string Version, string Architecture, bool Direct);

/// <summary>One Python package pip resolved for the lock.</summary>
internal sealed record LockedPythonDocument(string Name, string Version);

/// <summary>
/// The pipeline page's documents, by source generation (Native AOT): camelCase, nulls kept so the page sees every field.
/// Default (HTML-safe) escaping: the values end up in a browser page.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(StageDiffDocument))]
[JsonSerializable(typeof(LockViewDocument))]
internal sealed partial class PipelinePageJsonContext : JsonSerializerContext;
