using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Jobs;

/// <summary>
/// The JSON documents of results: what the CLI prints with --json and what a daemon job stores as its
/// result, one shape for both (the records in <see cref="Documents"/>). camelCase; digests and references
/// as strings; stable across releases. Serialized only through <see cref="ResultJsonContext"/>.
/// </summary>
public static class ResultDocuments
{
    /// <summary>Serializes <paramref name="document"/> (camelCase, nulls omitted), indented for people when asked.</summary>
    public static string Serialize<T>(T document, JsonTypeInfo<T> typeInfo, bool indented = false)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        if (!indented)
        {
            return JsonSerializer.Serialize(document, typeInfo);
        }

        // The context's options write compact JSON; indentation is the writer's, so one context serves both.
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            JsonSerializer.Serialize(writer, document, typeInfo);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public static BaseBuildDocument BaseBuild(BaseBuildResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new(result.Base, result.Reference.ToString(), result.Digest.ToString(), result.Tag, result.TaggedReference, result.Built);
    }

    public static BuildDocument Build(BuildResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new(
            result.Pipeline,
            result.Reference.ToString(),
            result.Digest.ToString(),
            result.Tags,
            result.BaseReference.ToString(),
            result.BuildId,
            result.CacheHit,
            result.CacheKey?.ToString(),
            result.SbomDigest?.ToString(),
            result.Size is not { } size ? null : new BuildSizeDocument(
                size.TotalBytes,
                result.UncompressedBytes,
                size.ConfigBytes,
                [.. size.Layers.Select(l => new LayerSizeDocument(l.Digest.ToString(), l.SizeBytes))]));
    }

    public static ValidationDocument Validation(ValidationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new(
            result.Pipeline,
            result.Reference.ToString(),
            result.Digest.ToString(),
            result.Passed,
            result.ValidationId,
            [.. result.Results.Select(r => new TestDocument(r.Kind, r.Name, r.Passed, r.Detail, (long)r.Duration.TotalMilliseconds))])
        {
            Signature = result.Signature is not { } signed ? null
                : new SigningDocument(signed.Tag, signed.Manifest.ToString(), signed.KeyFingerprint, signed.Added, signed.Referrer?.ToString()),
        };
    }

    public static PromotionDocument Promotion(PromotionResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var plan = result.Plan;
        return new(
            result.Pipeline,
            result.FromStage,
            result.ToStage,
            result.Source.ToString(),
            result.Target.ToString(),
            result.Target.Digest!.ToString(),
            result.DryRun,
            result.DryRun ? null : result.PromotionId,
            new CopyPlanDocument(
                plan.MediaType,
                [.. plan.Manifests.Select(m => new PlannedManifestDocument(m.Digest.ToString(), m.MediaType, m.Size, m.PresentInTarget))],
                [.. plan.BlobsToCopy.Select(b => new PlannedBlobDocument(b.Digest.ToString(), b.Size, b.CanMount))],
                [.. plan.BlobsPresent.Select(b => new PresentBlobDocument(b.Digest.ToString(), b.Size))],
                [.. plan.Tags.Select(t => new PlannedTagDocument(t.Tag, t.CurrentDigest?.ToString()))],
                [.. plan.Conflicts.Select(c => new TagConflictDocument(c.Tag, c.CurrentDigest.ToString()))],
                [.. plan.Referrers.Select(r => new PlannedReferrerDocument(r.Digest.ToString(), r.Referrer.ArtifactType, r.Referrer.Descriptor.Size, r.PresentInTarget, r.ListedInTarget))]),
            result.Copy is not { } copy ? null : new CopyDocument(
                copy.BytesCopied, copy.BlobsCopied, copy.BlobsMounted, copy.BlobsSkipped, copy.TagsApplied, copy.ReferrersCopied))
        {
            Signature = result.VerifiedBy is null && result.SignatureCopied is null ? null
                : new PromotionSignatureDocument(
                    result.VerifiedBy is { } key ? new KeyDocument(key.Source, key.Fingerprint) : null,
                    result.SignatureCopied?.ToString()),
        };
    }

    /// <summary>The <c>verify</c> document of <paramref name="verification"/> of what <paramref name="stage"/> serves for <paramref name="pipeline"/>.</summary>
    public static VerifyDocument Verify(string pipeline, string stage, Signing.SignatureVerification verification)
    {
        ArgumentNullException.ThrowIfNull(verification);
        return new(
            pipeline,
            stage,
            verification.Image.ToString(),
            verification.Image.Digest!.ToString(),
            verification.Tag,
            verification.Verified,
            verification.VerifiedBy is { } key ? new KeyDocument(key.Source, key.Fingerprint) : null,
            [.. verification.KeysTried.Select(k => new KeyDocument(k.Source, k.Fingerprint))],
            verification.Findings);
    }

    public static RunDocument Run(RunResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new(
            result.Pipeline,
            result.Final.ToString(),
            result.Final.Digest!.ToString(),
            BaseBuild(result.Base),
            Build(result.Build),
            Validation(result.Validation),
            [.. result.Promotions.Select(Promotion)]);
    }

    /// <summary>The status document with the base variants' sizes in the first stage (bytes, null for a variant not built).</summary>
    public static StatusDocument Status(IReadOnlyList<PipelineStatus> statuses, IReadOnlyList<(string Base, string Variant, long? Bytes)> baseSizes)
    {
        ArgumentNullException.ThrowIfNull(baseSizes);
        return new(
            StatusPipelines(statuses),
            [.. baseSizes.GroupBy(s => s.Base).Select(g => new BaseSizesDocument(g.Key, g.ToDictionary(v => v.Variant, v => v.Bytes, StringComparer.Ordinal)))]);
    }

    public static StatusDocument Status(IReadOnlyList<PipelineStatus> statuses) => new(StatusPipelines(statuses));

    /// <summary>
    /// The status document with the base variants' sizes and, per stage, what its registry says of the digest there:
    /// <paramref name="stageFacts"/> by (pipeline, stage), compressed bytes and whether a cosign signature tag exists.
    /// </summary>
    public static StatusDocument Status(
        IReadOnlyList<PipelineStatus> statuses,
        IReadOnlyList<(string Base, string Variant, long? Bytes)> baseSizes,
        IReadOnlyDictionary<(string Pipeline, string Stage), (long? Size, bool Signed)> stageFacts)
    {
        ArgumentNullException.ThrowIfNull(stageFacts);
        var document = Status(statuses, baseSizes);
        return document with
        {
            Pipelines = [.. document.Pipelines.Select(p => p with
            {
                Stages = [.. p.Stages.Select(s => stageFacts.TryGetValue((p.Pipeline, s.Stage), out var facts) ? s with { Size = facts.Size, Signed = facts.Signed } : s)],
            })],
        };
    }

    private static List<PipelineStatusDocument> StatusPipelines(IReadOnlyList<PipelineStatus> statuses)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        return [.. statuses.Select(p => new PipelineStatusDocument(
            p.Pipeline,
            p.Version,
            p.Base,
            [.. p.Stages.Select(s => new StageStatusDocument(
                s.Stage, s.Reference?.ToString(), s.Reference?.Digest?.ToString(), s.Tags, s.Validated, s.ValidatedAt, s.At, s.By, s.Recorded))]))];
    }

    /// <summary>The history document; with <paramref name="withTests"/> each validation also lists its tests and their output (the daemon's API does, for the dashboard).</summary>
    public static HistoryDocument History(string pipeline, IReadOnlyList<HistoryEntry> entries, bool withTests = false)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return new(pipeline, [.. entries.Select(e => new HistoryEntryDocument(e.At, e.Kind, e.Stage, e.Digest.ToString(), e.Actor, e.Passed, e.Summary,
            !withTests || e.Tests is null ? null : [.. e.Tests.Select(r => new TestDocument(r.Kind, r.Name, r.Passed, r.Detail, (long)r.Duration.TotalMilliseconds))]))]);
    }

    public static ReleaseDocument Release(Release release)
    {
        ArgumentNullException.ThrowIfNull(release);
        return new(
            release.Pipeline,
            release.Stage,
            release.Reference.ToString(),
            release.Reference.Name,
            release.Digest.ToString(),
            release.Tags,
            release.Version,
            release.BaseDigest?.ToString(),
            release.ValidatedAt,
            release.ReleasedAt,
            release.ReleasedBy,
            release.Recorded);
    }
}
