using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Jobs;

/// <summary>
/// The typed result documents write what the anonymous objects serialized by reflection wrote before them,
/// byte for byte: clients of --json, the API and stored job results see no change. The oracle is the old
/// mapping, kept below as it was.
/// </summary>
public sealed class ResultDocumentsParityTests : IDisposable
{
    private static readonly ResultJsonContext Context = ResultJsonContext.Default;

    private readonly WorkflowHarness _harness = new() { AutoLock = true };

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task Documents_OfARunThroughThreeStages_AreByteForByteWhatTheReflectionSerializerWrote()
    {
        // Given a run through staging, qa and production (a base built, a build with sizes, a validation, two promotions)
        _harness.Stages = [_harness.Stages[0], new StageDefinition("qa", new RegistryEndpoint("127.0.0.1:5003", PlainHttp: true)), _harness.Stages[1]];
        _harness.Hello = _harness.Hello with
        {
            Validate = new ValidationSpec([new CommandTest("version", ["python3", "--version"], 0, "^Python 3", null, TimeSpan.FromSeconds(30))], [], null, null),
        };
        _harness.Engine.Script = _ => new ContainerScript(0, "Python 3.11.2\n");
        var workflows = _harness.Workflows;
        var run = await workflows.Runs.RunAsync("hello");
        var statuses = await workflows.Releases.GetStatusAsync(null, askRegistries: false);
        var history = await workflows.Releases.GetHistoryAsync("hello", 50);
        var release = await workflows.Releases.GetReleaseAsync("hello", "production");
        IReadOnlyList<(string Base, string Variant, long? Bytes)> sizes = [("debian-bookworm", "full", null), ("debian-bookworm", "slim", 31_457_280)];

        // When each is written the new way and the old way, compact and indented
        // Then the bytes are the same
        foreach (var indented in new[] { false, true })
        {
            Assert.Equal(LegacyResultDocuments.Serialize(LegacyResultDocuments.Run(run), indented), ResultDocuments.Serialize(ResultDocuments.Run(run), Context.RunDocument, indented));
            Assert.Equal(LegacyResultDocuments.Serialize(LegacyResultDocuments.Build(run.Build), indented), ResultDocuments.Serialize(ResultDocuments.Build(run.Build), Context.BuildDocument, indented));
            Assert.Equal(LegacyResultDocuments.Serialize(LegacyResultDocuments.Validation(run.Validation), indented), ResultDocuments.Serialize(ResultDocuments.Validation(run.Validation), Context.ValidationDocument, indented));
            Assert.Equal(LegacyResultDocuments.Serialize(LegacyResultDocuments.BaseBuild(run.Base), indented), ResultDocuments.Serialize(ResultDocuments.BaseBuild(run.Base), Context.BaseBuildDocument, indented));
            Assert.Equal(LegacyResultDocuments.Serialize(LegacyResultDocuments.Status(statuses, sizes), indented), ResultDocuments.Serialize(ResultDocuments.Status(statuses, sizes), Context.StatusDocument, indented));
            Assert.Equal(LegacyResultDocuments.Serialize(LegacyResultDocuments.Status(statuses), indented), ResultDocuments.Serialize(ResultDocuments.Status(statuses), Context.StatusDocument, indented));
            Assert.Equal(LegacyResultDocuments.Serialize(LegacyResultDocuments.History("hello", history), indented), ResultDocuments.Serialize(ResultDocuments.History("hello", history), Context.HistoryDocument, indented));
            Assert.Equal(LegacyResultDocuments.Serialize(LegacyResultDocuments.Release(release), indented), ResultDocuments.Serialize(ResultDocuments.Release(release), Context.ReleaseDocument, indented));
        }

        // And a promotion with its attestation reads as the old parsed-and-amended document did
        var promotion = run.Promotions[^1];
        var old = JsonNode.Parse(LegacyResultDocuments.Serialize(LegacyResultDocuments.Promotion(promotion), indented: false))!;
        old["statement"] = "127.0.0.1:5002/apps/hello@sha256:" + new string('c', 64);
        Assert.Equal(
            LegacyResultDocuments.Serialize(old),
            ResultDocuments.Serialize(ResultDocuments.Promotion(promotion) with { Statement = old["statement"]!.GetValue<string>() }, Context.PromotionDocument));
        Assert.NotEmpty(promotion.Plan.BlobsToCopy.Concat(promotion.Plan.BlobsPresent));
    }
}

/// <summary>The mapping before the typed documents (reflection over anonymous objects): the oracle of the parity test.</summary>
internal static class LegacyResultDocuments
{
    private static readonly JsonSerializerOptions Compact = CreateOptions(indented: false);
    private static readonly JsonSerializerOptions Indented = CreateOptions(indented: true);

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
