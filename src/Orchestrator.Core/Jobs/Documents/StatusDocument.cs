namespace Orchestrator.Core.Jobs.Documents;

/// <summary>
/// <c>status --json</c> and <c>GET /api/pipelines</c>: each pipeline in each stage; <c>bases</c> gives the base
/// variants' sizes in the first stage (compressed bytes, null for a variant not built) and is absent where not measured.
/// </summary>
public sealed record StatusDocument(IReadOnlyList<PipelineStatusDocument> Pipelines, IReadOnlyList<BaseSizesDocument>? Bases = null);

/// <summary>A pipeline across its stages, in promotion order.</summary>
public sealed record PipelineStatusDocument(string Pipeline, string Version, string Base, IReadOnlyList<StageStatusDocument> Stages);

/// <summary>
/// What a stage holds; <c>recorded</c> is false when only the registry knows it. <c>size</c> (compressed bytes: manifest
/// layers plus config) and <c>signed</c> (cosign's <c>sha256-HEX.sig</c> tag exists there) are read from the stage's
/// registry, so only a status that asks the registries carries them (<c>GET /api/pipelines?registries=true</c>).
/// </summary>
public sealed record StageStatusDocument(
    string Stage,
    string? Reference,
    string? Digest,
    IReadOnlyList<string> Tags,
    bool Validated,
    DateTimeOffset? ValidatedAt,
    DateTimeOffset? At,
    string? By,
    bool Recorded,
    long? Size = null,
    bool? Signed = null);

/// <summary>One base's variants and their sizes in bytes (null: not built).</summary>
public sealed record BaseSizesDocument(string Base, IReadOnlyDictionary<string, long?> Variants);
