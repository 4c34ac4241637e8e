using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Jobs;

/// <summary>
/// The JSON documents of results: what the CLI prints with --json and what a daemon job stores as its
/// result, one shape for both. camelCase; digests and references as strings; stable across releases.
/// </summary>
public static class ResultDocuments
{
    private static readonly JsonSerializerOptions Compact = CreateOptions(indented: false);
    private static readonly JsonSerializerOptions Indented = CreateOptions(indented: true);

    /// <summary>Serializes a document (camelCase, nulls omitted).</summary>
    public static string Serialize(object document, bool indented = false) =>
        JsonSerializer.Serialize(document, indented ? Indented : Compact);

    private static JsonSerializerOptions CreateOptions(bool indented) => new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = indented,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static object BaseBuild(BaseBuildResult result) => new
    {
        @base = result.Base,
        reference = result.Reference.ToString(),
        digest = result.Digest.ToString(),
        tag = result.Tag,
        taggedReference = result.TaggedReference,
        built = result.Built,
    };

    public static object Build(BuildResult result) => new
    {
        pipeline = result.Pipeline,
        reference = result.Reference.ToString(),
        digest = result.Digest.ToString(),
        tags = result.Tags,
        baseReference = result.BaseReference.ToString(),
        buildId = result.BuildId,
        cacheHit = result.CacheHit,
        cacheKey = result.CacheKey?.ToString(),
        sbom = result.SbomDigest?.ToString(),
        size = result.Size is not { } size ? null : new
        {
            totalBytes = size.TotalBytes,
            uncompressedBytes = result.UncompressedBytes,
            configBytes = size.ConfigBytes,
            layers = size.Layers.Select(l => new { digest = l.Digest.ToString(), sizeBytes = l.SizeBytes }),
        },
    };

    public static object Validation(ValidationResult result) => new
    {
        pipeline = result.Pipeline,
        reference = result.Reference.ToString(),
        digest = result.Digest.ToString(),
        passed = result.Passed,
        validationId = result.ValidationId,
        tests = result.Results.Select(r => new { kind = r.Kind, name = r.Name, passed = r.Passed, detail = r.Detail, durationMs = (long)r.Duration.TotalMilliseconds }),
    };

    public static object Promotion(PromotionResult result) => new
    {
        pipeline = result.Pipeline,
        from = result.FromStage,
        to = result.ToStage,
        source = result.Source.ToString(),
        reference = result.Target.ToString(),
        digest = result.Target.Digest!.ToString(),
        dryRun = result.DryRun,
        promotionId = result.DryRun ? (long?)null : result.PromotionId,
        plan = new
        {
            mediaType = result.Plan.MediaType,
            manifests = result.Plan.Manifests.Select(m => new { digest = m.Digest.ToString(), mediaType = m.MediaType, size = m.Size, present = m.PresentInTarget }),
            blobsToCopy = result.Plan.BlobsToCopy.Select(b => new { digest = b.Digest.ToString(), size = b.Size, mount = b.CanMount }),
            blobsPresent = result.Plan.BlobsPresent.Select(b => new { digest = b.Digest.ToString(), size = b.Size }),
            tags = result.Plan.Tags.Select(t => new { tag = t.Tag, current = t.CurrentDigest?.ToString() }),
            conflicts = result.Plan.Conflicts.Select(c => new { tag = c.Tag, current = c.CurrentDigest.ToString() }),
            referrers = result.Plan.Referrers.Select(r => new { digest = r.Digest.ToString(), artifactType = r.Referrer.ArtifactType, size = r.Referrer.Descriptor.Size, present = r.PresentInTarget, listed = r.ListedInTarget }),
        },
        copy = result.Copy is null ? null : new
        {
            bytesCopied = result.Copy.BytesCopied,
            blobsCopied = result.Copy.BlobsCopied,
            blobsMounted = result.Copy.BlobsMounted,
            blobsSkipped = result.Copy.BlobsSkipped,
            tagsApplied = result.Copy.TagsApplied,
            referrersCopied = result.Copy.ReferrersCopied,
        },
    };

    public static object Run(RunResult result) => new
    {
        pipeline = result.Pipeline,
        reference = result.Final.ToString(),
        digest = result.Final.Digest!.ToString(),
        @base = BaseBuild(result.Base),
        build = Build(result.Build),
        validation = Validation(result.Validation),
        promotions = result.Promotions.Select(Promotion),
    };

    /// <summary>The status document with the base variants' sizes in the first stage (bytes, null for a variant not built).</summary>
    public static object Status(IReadOnlyList<PipelineStatus> statuses, IReadOnlyList<(string Base, string Variant, long? Bytes)> baseSizes) => new
    {
        pipelines = StatusPipelines(statuses),
        bases = baseSizes.GroupBy(s => s.Base).Select(g => new { @base = g.Key, variants = g.ToDictionary(v => v.Variant, v => v.Bytes) }),
    };

    public static object Status(IReadOnlyList<PipelineStatus> statuses) => new { pipelines = StatusPipelines(statuses) };

    private static IEnumerable<object> StatusPipelines(IReadOnlyList<PipelineStatus> statuses) =>
        statuses.Select(p => new
        {
            pipeline = p.Pipeline,
            version = p.Version,
            @base = p.Base,
            stages = p.Stages.Select(s => new
            {
                stage = s.Stage,
                reference = s.Reference?.ToString(),
                digest = s.Reference?.Digest?.ToString(),
                tags = s.Tags,
                validated = s.Validated,
                validatedAt = s.ValidatedAt,
                at = s.At,
                by = s.By,
                recorded = s.Recorded,
            }),
        });

    public static object History(string pipeline, IReadOnlyList<HistoryEntry> entries) => new
    {
        pipeline,
        history = entries.Select(e => new
        {
            at = e.At,
            kind = e.Kind,
            stage = e.Stage,
            digest = e.Digest.ToString(),
            actor = e.Actor,
            passed = e.Passed,
            summary = e.Summary,
        }),
    };

    public static object Release(Release release) => new
    {
        pipeline = release.Pipeline,
        stage = release.Stage,
        reference = release.Reference.ToString(),
        repository = release.Reference.Name,
        digest = release.Digest.ToString(),
        tags = release.Tags,
        version = release.Version,
        baseDigest = release.BaseDigest?.ToString(),
        validatedAt = release.ValidatedAt,
        releasedAt = release.ReleasedAt,
        releasedBy = release.ReleasedBy,
        recorded = release.Recorded,
    };
}
