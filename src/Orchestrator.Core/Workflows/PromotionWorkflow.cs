using System.Text.Json;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Images;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// Promotes one validated digest from a stage to the next: manifest and blobs copied registry to
/// registry by digest (never pulled, retagged and pushed through an engine), the digest verified on
/// arrival, and only then the tags set. Refused, with nothing written, for a digest without a passing
/// validation or a tag that already points at another digest in the target, and for one platform's
/// manifest of an image index the pipeline built (the index is promoted whole). The record (source and
/// target references, digest, tags, validation, who, when) is written after the copy; a copy whose
/// recording failed is repaired by running the same promotion again. A target stage with <c>require-signature</c>
/// refuses, before anything is copied, a digest without a valid cosign signature by one of its keys in the source;
/// the digest's <c>sha256-HEX.sig</c> signatures follow the image to the target. <see cref="AttestAsync"/> attaches
/// a record to the target digest as an in-toto statement referrer.
/// </summary>
public sealed partial class PromotionWorkflow(
    IWorkspaceAccessor workspace,
    IRegistryClientFactory registries,
    IImageCopier copier,
    IStateStore state,
    IJobReporter reporter,
    TimeProvider time,
    IActorProvider actor,
    Signing.PromotionSignatures signatures,
    ILogger<PromotionWorkflow> logger)
{
    private readonly ILogger<PromotionWorkflow> _logger = logger;
    private readonly Signing.PromotionSignatures _signatures = signatures;

    private OrchestratorConfig Config => workspace.Current.Config;

    /// <summary>Promotes <paramref name="digest"/> of <paramref name="pipelineName"/> to <paramref name="toStageName"/> (from the stage before it).</summary>
    /// <param name="pipelineName">The pipeline.</param>
    /// <param name="digest">The digest to promote, as built and validated.</param>
    /// <param name="toStageName">The target stage; null for the one after the first.</param>
    /// <param name="dryRun">Plan only: report what would be copied and fail exactly when the real promotion would.</param>
    /// <param name="cancellationToken">Cancels the promotion; tags are set only after every manifest is verified.</param>
    /// <exception cref="InputException">No such pipeline or stage, or the first stage as target.</exception>
    /// <exception cref="JobRefusedException">No passing validation, no valid signature by a key the target requires, the digest is not in the source stage, it is one platform of an index the pipeline built (the message names the index), or a tag conflict.</exception>
    /// <exception cref="JobFailedException">The copy succeeded but recording it failed: rerun the same promotion.</exception>
    public async Task<PromotionResult> PromoteAsync(string pipelineName, Digest digest, string? toStageName = null, bool dryRun = false, CancellationToken cancellationToken = default)
    {
        var pipeline = workspace.Current.GetPipeline(pipelineName);
        var (from, to) = ResolveStages(toStageName);
        var source = ImageReference.Create(from.Registry.Host, pipeline.Repository, digest: digest);
        var target = ImageReference.Create(to.Registry.Host, pipeline.Repository, digest: digest);

        var sourceRegistry = registries.Create(from.Registry);
        var validation = await state.FindPassingValidationAsync(pipeline.Name, digest, cancellationToken).ConfigureAwait(false);
        if (validation is null)
        {
            // The gate needs no registry; naming the index is a courtesy when the registry answers.
            await RefuseIfPlatformOfBuiltIndexAsync(sourceRegistry, pipeline, source, digest, tolerateFailure: true, cancellationToken).ConfigureAwait(false);
            throw new JobRefusedException(
                $"{source} has no passing validation, so it may not be promoted to {to.Name}: " +
                $"run 'orchestrator validate {pipeline.Name} --digest {digest}' and promote it once it passes");
        }

        var found = await sourceRegistry.HeadManifestAsync(pipeline.Repository, digest.ToString(), cancellationToken).ConfigureAwait(false)
            ?? throw new JobRefusedException($"{source} is not in {from.Name}: promote it to {from.Name} first");
        if (MediaTypes.IsImageManifest(found.MediaType))
        {
            await RefuseIfPlatformOfBuiltIndexAsync(sourceRegistry, pipeline, source, digest, tolerateFailure: false, cancellationToken).ConfigureAwait(false);
        }

        var signature = await _signatures.RequireAsync(from, to, pipeline.Repository, digest, cancellationToken).ConfigureAwait(false);
        if (signature is not null)
        {
            reporter.Detail($"signature verified with {signature.VerifiedBy!.Describe()}");
        }

        reporter.Step($"planning promotion of {digest.ToShortString()} from {from.Name} to {to.Name}");
        var policy = new PromotionPolicy(to.Name, Path.GetFileName(pipeline.SourceFile));
        var request = new CopyRequest(from.Registry, pipeline.Repository, digest, to.Registry, pipeline.Repository, pipeline.Tags)
        {
            FloatingTags = pipeline.FloatingTags,
            TagPolicy = policy,
        };
        var plan = await copier.PlanAsync(request, cancellationToken).ConfigureAwait(false);
        ReportPlan(plan);
        if (plan.HasConflicts)
        {
            throw policy.Refuse(request, plan.Conflicts, contentCopied: false);
        }

        if (dryRun)
        {
            return new PromotionResult(pipeline.Name, from.Name, to.Name, source, target, plan, Copy: null, PromotionId: 0) { VerifiedBy = signature?.VerifiedBy };
        }

        reporter.Step($"copying {plan.BlobsToCopy.Count} blob(s), {ImageSize.Format(plan.BytesToCopy)}, to {to.Name}");
        // The signature lookup is one HEAD in the source: asked while the blobs are copied, not after, so a promotion
        // of a digest without signatures costs no extra round trip.
        var signatureLookup = _signatures.FindAsync(from, pipeline.Repository, digest, cancellationToken);
        CopyResult copy;
        try
        {
            using var blobProgress = new BlobProgress(reporter, "copy", time);
            copy = await copier.CopyAsync(plan, blobProgress, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The copy's failure is the one to report; the lookup's outcome is observed and dropped.
            await signatureLookup.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            throw;
        }

        if (copy.TargetDigest != digest)
        {
            // The copier verifies too; this guards the record: it must never claim a digest that did not arrive.
            throw new DigestMismatchException($"{to.Name} reports {copy.TargetDigest} for the promoted manifest, expected {digest}; nothing was recorded");
        }

        Digest? signatureCopied;
        try
        {
            signatureCopied = await signatureLookup.ConfigureAwait(false) is { } signatureManifest
                ? await _signatures.CopyAsync(from, to, pipeline.Repository, digest, signatureManifest, cancellationToken).ConfigureAwait(false)
                : null;
        }
        catch (OrchestratorException ex)
        {
            // Like a failed record: the image is complete and tagged; a rerun copies nothing of it and retries the signatures.
            throw new JobFailedException(
                $"{target} is in {to.Name} with tags {string.Join(", ", copy.TagsApplied)}, but copying its signatures ({Signing.CosignSignatureManifest.TagFor(digest)}) failed ({ex.Message}): " +
                "run the same promotion again; it copies the signatures and records the promotion", ex);
        }

        if (signatureCopied is not null)
        {
            reporter.Detail($"signatures {Signing.CosignSignatureManifest.TagFor(digest)} copied ({signatureCopied.ToShortString()})");
        }

        var record = new PromotionRecord(
            0, pipeline.Name, from.Name, to.Name, source, target, copy.TagsApplied, validation.Id, actor.Actor,
            time.GetUtcNow(), copy.BytesCopied, copy.BlobsCopied + copy.BlobsMounted, copy.BlobsSkipped);
        long id;
        try
        {
            id = await state.RecordPromotionAsync(record, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The copy is complete and idempotent: a rerun plans nothing to copy, finds the tags set, and records it.
            throw new JobFailedException(
                $"{target} is in {to.Name} with tags {string.Join(", ", copy.TagsApplied)}, but recording the promotion failed ({ex.Message}): " +
                $"fix the state store, then run the same promotion again; it copies nothing and records it", ex);
        }

        LogPromoted(pipeline.Name, digest, from.Name, to.Name, copy.BytesCopied);
        return new PromotionResult(pipeline.Name, from.Name, to.Name, source, target, plan, copy, id) { VerifiedBy = signature?.VerifiedBy, SignatureCopied = signatureCopied };
    }

    /// <summary>
    /// Attaches promotion <paramref name="promotionId"/> of <paramref name="pipelineName"/> to its target digest as an
    /// in-toto statement referrer (<see cref="PromotionStatement"/>; OCI referrers API, else the <c>sha256-HEX</c>
    /// fallback tag). Attaching one record twice adds one referrer.
    /// </summary>
    /// <returns>The digest of the statement's artifact manifest in the target.</returns>
    /// <exception cref="InputException">No such promotion of that pipeline, or its target stage is no longer configured.</exception>
    /// <exception cref="JobFailedException">The promoted digest is gone from the target, or the registry refused the artifact.</exception>
    public async Task<Digest> AttestAsync(string pipelineName, long promotionId, CancellationToken cancellationToken = default)
    {
        var pipeline = workspace.Current.GetPipeline(pipelineName);
        var record = (await state.ListPromotionsAsync(pipeline.Name, limit: int.MaxValue, cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(p => p.Id == promotionId)
            ?? throw new InputException($"{pipeline.Name} has no promotion {promotionId}: 'orchestrator history {pipeline.Name}' lists its promotions");
        var stage = Config.FindStage(record.ToStage)
            ?? throw new InputException($"promotion {promotionId} went to stage '{record.ToStage}', which {Config.SourceFile} no longer declares: add it back to attest that promotion");
        var registry = registries.Create(stage.Registry);
        var subject = await registry.HeadManifestAsync(record.Target.Repository, record.Digest.ToString(), cancellationToken).ConfigureAwait(false)
            ?? throw new JobFailedException($"{record.Target} is no longer in {stage.Name}, so promotion {promotionId} has nothing to attach to: promote it again");

        reporter.Step($"attaching promotion statement {promotionId} to {record.Target}");
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal) { [ArtifactManifest.CreatedAnnotation] = PromotionStatement.Timestamp(record.At) };
        var referrer = await ArtifactPublisher.PushAsync(
            registry, record.Target.Repository, subject, PromotionStatement.MediaType, PromotionStatement.MediaType, PromotionStatement.Create(record), annotations, cancellationToken).ConfigureAwait(false);
        LogAttested(promotionId, record.Digest, referrer.Digest);
        return referrer.Digest;
    }

    // One platform out of a multi-platform build would reach the target without its siblings, under the build's tags.
    private async Task RefuseIfPlatformOfBuiltIndexAsync(
        IRegistryClient registry, PipelineDefinition pipeline, ImageReference source, Digest digest, bool tolerateFailure, CancellationToken cancellationToken)
    {
        Digest? index;
        try
        {
            index = await FindBuiltIndexOfAsync(registry, pipeline, digest, cancellationToken).ConfigureAwait(false);
        }
        catch (OrchestratorException) when (tolerateFailure)
        {
            // Unreachable, refusing or broken: the caller's own refusal stands.
            return;
        }

        if (index is not null)
        {
            throw new JobRefusedException(
                $"{source} is one platform's manifest of the image index {index} that {pipeline.Name} built: promote the index as a whole " +
                $"('orchestrator promote {pipeline.Name} --digest {index}'), so every platform arrives with its own digest");
        }
    }

    // The builds of the pipeline whose manifest in the source is an index naming digest: the newest such build, or null.
    private async Task<Digest?> FindBuiltIndexOfAsync(IRegistryClient registry, PipelineDefinition pipeline, Digest digest, CancellationToken cancellationToken)
    {
        var builds = await state.ListBuildsAsync(pipeline.Name, limit: 50, cancellationToken).ConfigureAwait(false);
        if (builds.Any(b => b.Digest == digest))
        {
            return null;
        }

        foreach (var built in builds.Select(b => b.Digest).Distinct())
        {
            ManifestContent manifest;
            try
            {
                manifest = await registry.GetManifestAsync(pipeline.Repository, built.ToString(), cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                continue;
            }

            if (MediaTypes.IsIndex(manifest.MediaType) && IndexNames(manifest, digest))
            {
                return built;
            }
        }

        return null;
    }

    private static bool IndexNames(ManifestContent index, Digest digest)
    {
        try
        {
            using var document = JsonDocument.Parse(index.Content);
            return document.RootElement.TryGetProperty("manifests", out var manifests) && manifests.ValueKind == JsonValueKind.Array
                && manifests.EnumerateArray().Any(m => m.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.String && d.GetString() == digest.ToString());
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private (StageDefinition From, StageDefinition To) ResolveStages(string? toStageName)
    {
        var stages = Config.Stages;
        if (stages.Count < 2)
        {
            throw new InputException($"{Config.SourceFile} declares only the stage '{stages[0].Name}': add a second stage to promote to");
        }

        var to = toStageName is null ? stages[1] : Config.FindStage(toStageName)
            ?? throw new InputException($"no stage named '{toStageName}'; the stages are {string.Join(", ", stages.Select(s => s.Name))}");
        var index = stages.ToList().IndexOf(to);
        if (index == 0)
        {
            throw new InputException($"'{to.Name}' is the first stage, where builds land; promote to one of {string.Join(", ", stages.Skip(1).Select(s => s.Name))}");
        }

        return (stages[index - 1], to);
    }

    private void ReportPlan(CopyPlan plan)
    {
        reporter.Detail($"manifests: {plan.Manifests.Count} ({plan.Manifests.Count(m => m.PresentInTarget)} already present)");
        reporter.Detail($"blobs to copy: {plan.BlobsToCopy.Count} ({ImageSize.Format(plan.BytesToCopy)}{(plan.BlobsToCopy.Any(b => b.CanMount) ? $", {plan.BlobsToCopy.Count(b => b.CanMount)} by mount" : string.Empty)}), already present: {plan.BlobsPresent.Count}");
        foreach (var referrer in plan.Referrers)
        {
            reporter.Detail($"referrer {referrer.Digest.ToShortString()} ({referrer.Referrer.ArtifactType ?? "no artifact type"}): {(referrer.PresentInTarget ? "already present" : "to copy")}{(referrer.ListedInTarget ? ", listed" : ", to list")}");
        }

        foreach (var tag in plan.Tags)
        {
            var state = tag.CurrentDigest is null ? "new"
                : tag.CurrentDigest == plan.Request.Digest ? "already set"
                : plan.Request.FloatingTags.Contains(tag.Tag) ? $"moves from {tag.CurrentDigest} (floating)"
                : $"CONFLICT: points at {tag.CurrentDigest}";
            reporter.Detail($"tag {tag.Tag}: {state}");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Promotion {PromotionId} of {Digest} attached as in-toto statement {Statement}")]
    private partial void LogAttested(long promotionId, Digest digest, Digest statement);

    [LoggerMessage(Level = LogLevel.Information, Message = "Promoted {Pipeline} {Digest} from {FromStage} to {ToStage}, {Bytes} bytes copied")]
    private partial void LogPromoted(string pipeline, Digest digest, string fromStage, string toStage, long bytes);
}
