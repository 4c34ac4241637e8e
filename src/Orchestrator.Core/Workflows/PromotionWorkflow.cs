using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// Promotes one validated digest from a stage to the next: manifest and blobs copied registry to
/// registry by digest (never pulled, retagged and pushed through an engine), the digest verified on
/// arrival, and only then the tags set. Refused, with nothing written, for a digest without a passing
/// validation or a tag that already points at another digest in the target.
/// </summary>
public sealed partial class PromotionWorkflow(OrchestratorServices services)
{
    private readonly ILogger<PromotionWorkflow> _logger = services.Logger<PromotionWorkflow>();

    /// <summary>Promotes <paramref name="digest"/> of <paramref name="pipelineName"/> to <paramref name="toStageName"/> (from the stage before it).</summary>
    /// <param name="pipelineName">The pipeline.</param>
    /// <param name="digest">The digest to promote, as built and validated.</param>
    /// <param name="toStageName">The target stage; null for the one after the first.</param>
    /// <param name="dryRun">Plan only: report what would be copied and fail exactly when the real promotion would.</param>
    /// <param name="cancellationToken">Cancels the promotion; tags are set only after every manifest is verified.</param>
    /// <exception cref="InputException">No such pipeline or stage, or the first stage as target.</exception>
    /// <exception cref="JobRefusedException">No passing validation, the digest is not in the source stage, or a tag conflict.</exception>
    public async Task<PromotionResult> PromoteAsync(string pipelineName, Digest digest, string? toStageName = null, bool dryRun = false, CancellationToken cancellationToken = default)
    {
        var pipeline = services.Workspace.GetPipeline(pipelineName);
        var (from, to) = ResolveStages(toStageName);
        var source = ImageReference.Create(from.Registry.Host, pipeline.Repository, digest: digest);
        var target = ImageReference.Create(to.Registry.Host, pipeline.Repository, digest: digest);

        var validation = await services.State.FindPassingValidationAsync(pipeline.Name, digest, cancellationToken).ConfigureAwait(false)
            ?? throw new JobRefusedException(
                $"{source} has no passing validation, so it may not be promoted to {to.Name}: " +
                $"run 'orchestrator validate {pipeline.Name} --digest {digest}' and promote it once it passes");

        var sourceRegistry = services.RegistryFor(from);
        if (await sourceRegistry.HeadManifestAsync(pipeline.Repository, digest.ToString(), cancellationToken).ConfigureAwait(false) is null)
        {
            throw new JobRefusedException($"{source} is not in {from.Name}: promote it to {from.Name} first");
        }

        services.Reporter.Step($"planning promotion of {digest.ToShortString()} from {from.Name} to {to.Name}");
        var request = new CopyRequest(from.Registry, pipeline.Repository, digest, to.Registry, pipeline.Repository, pipeline.Tags)
        {
            FloatingTags = pipeline.FloatingTags,
        };
        var plan = await services.Copier.PlanAsync(request, cancellationToken).ConfigureAwait(false);
        ReportPlan(plan);
        if (plan.HasConflicts)
        {
            throw new JobRefusedException(
                $"promotion of {source} to {to.Name} refused, nothing was copied or tagged: " +
                string.Join("; ", plan.Conflicts.Select(c => $"tag '{c.Tag}' already points at {c.CurrentDigest} in {to.Name}")) +
                $". Production tags never move unless listed in 'floating-tags': bump 'version' in {Path.GetFileName(pipeline.SourceFile)} or choose other tags, then build, validate and promote again");
        }

        if (dryRun)
        {
            return new PromotionResult(pipeline.Name, from.Name, to.Name, source, target, plan, Copy: null, PromotionId: 0);
        }

        services.Reporter.Step($"copying {plan.BlobsToCopy.Count} blob(s), {plan.BytesToCopy / 1024.0 / 1024.0:0.0} MiB, to {to.Name}");
        var copy = await services.Copier.CopyAsync(plan, progress: null, cancellationToken).ConfigureAwait(false);
        if (copy.TargetDigest != digest)
        {
            // The copier verifies too; this guards the record: it must never claim a digest that did not arrive.
            throw new DigestMismatchException($"{to.Name} reports {copy.TargetDigest} for the promoted manifest, expected {digest}; nothing was recorded");
        }

        var record = new PromotionRecord(
            0, pipeline.Name, from.Name, to.Name, source, target, copy.TagsApplied, validation.Id, services.Actor.Actor,
            services.Time.GetUtcNow(), copy.BytesCopied, copy.BlobsCopied + copy.BlobsMounted, copy.BlobsSkipped);
        var id = await services.State.RecordPromotionAsync(record, cancellationToken).ConfigureAwait(false);
        LogPromoted(pipeline.Name, digest, from.Name, to.Name, copy.BytesCopied);
        return new PromotionResult(pipeline.Name, from.Name, to.Name, source, target, plan, copy, id);
    }

    private (StageDefinition From, StageDefinition To) ResolveStages(string? toStageName)
    {
        var stages = services.Config.Stages;
        if (stages.Count < 2)
        {
            throw new InputException($"{services.Config.SourceFile} declares only the stage '{stages[0].Name}': add a second stage to promote to");
        }

        var to = toStageName is null ? stages[1] : services.Config.FindStage(toStageName)
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
        services.Reporter.Detail($"manifests: {plan.Manifests.Count} ({plan.Manifests.Count(m => m.PresentInTarget)} already present)");
        services.Reporter.Detail($"blobs to copy: {plan.BlobsToCopy.Count} ({plan.BytesToCopy} bytes{(plan.BlobsToCopy.Any(b => b.CanMount) ? $", {plan.BlobsToCopy.Count(b => b.CanMount)} by mount" : string.Empty)}), already present: {plan.BlobsPresent.Count}");
        foreach (var referrer in plan.Referrers)
        {
            services.Reporter.Detail($"referrer {referrer.Digest.ToShortString()} ({referrer.Referrer.ArtifactType ?? "no artifact type"}): {(referrer.PresentInTarget ? "already present" : "to copy")}{(referrer.ListedInTarget ? ", listed" : ", to list")}");
        }

        foreach (var tag in plan.Tags)
        {
            var state = tag.CurrentDigest is null ? "new"
                : tag.CurrentDigest == plan.Request.Digest ? "already set"
                : plan.Request.FloatingTags.Contains(tag.Tag) ? $"moves from {tag.CurrentDigest} (floating)"
                : $"CONFLICT: points at {tag.CurrentDigest}";
            services.Reporter.Detail($"tag {tag.Tag}: {state}");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Promoted {Pipeline} {Digest} from {FromStage} to {ToStage}, {Bytes} bytes copied")]
    private partial void LogPromoted(string pipeline, Digest digest, string fromStage, string toStage, long bytes);
}
