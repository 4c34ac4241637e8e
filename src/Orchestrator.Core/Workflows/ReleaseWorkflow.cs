using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>What one stage holds of a pipeline, from the records: the digest built (first stage) or promoted there.</summary>
/// <param name="Stage">The stage.</param>
/// <param name="Reference">The digest-pinned reference in the stage's registry, or null when nothing reached it.</param>
/// <param name="Tags">Tags set there.</param>
/// <param name="Validated">True when the newest validation of that digest passed.</param>
/// <param name="ValidatedAt">When that validation ran, or null.</param>
/// <param name="At">When it was built (first stage) or promoted there.</param>
/// <param name="By">Who built or promoted it.</param>
public sealed record StageStatus(string Stage, ImageReference? Reference, IReadOnlyList<string> Tags, bool Validated, DateTimeOffset? ValidatedAt, DateTimeOffset? At, string? By);

/// <summary>A pipeline across every stage, in promotion order.</summary>
public sealed record PipelineStatus(string Pipeline, string Version, string Base, IReadOnlyList<StageStatus> Stages);

/// <summary>One event of a pipeline's history: a build, a validation or a promotion.</summary>
/// <param name="At">When.</param>
/// <param name="Kind"><c>build</c>, <c>validation</c> or <c>promotion</c>.</param>
/// <param name="Stage">Where (for a promotion, the target stage).</param>
/// <param name="Digest">The digest concerned.</param>
/// <param name="Actor">Who.</param>
/// <param name="Passed">For a validation, whether it passed; else null.</param>
/// <param name="Summary">One line for people.</param>
public sealed record HistoryEntry(DateTimeOffset At, string Kind, string Stage, Digest Digest, string Actor, bool? Passed, string Summary);

/// <summary>What a cluster should deploy from a stage: the digest-pinned reference and what vouches for it.</summary>
public sealed record Release(
    string Pipeline,
    string Stage,
    ImageReference Reference,
    IReadOnlyList<string> Tags,
    string Version,
    Digest? BaseDigest,
    DateTimeOffset? ValidatedAt,
    DateTimeOffset? ReleasedAt,
    string? ReleasedBy)
{
    public Digest Digest => Reference.Digest!;
}

/// <summary>
/// Reads what Orchestrator did from the state store: the status of each pipeline in each stage, a
/// pipeline's history, and the release a cluster should run. Reads only; never touches a registry.
/// </summary>
public sealed class ReleaseWorkflow(OrchestratorServices services)
{
    /// <summary>Status of every pipeline (or of one), in name order.</summary>
    /// <exception cref="InputException">An unknown pipeline.</exception>
    public async Task<IReadOnlyList<PipelineStatus>> GetStatusAsync(string? pipeline = null, CancellationToken cancellationToken = default)
    {
        var names = pipeline is null
            ? services.Workspace.Pipelines.Keys.Order(StringComparer.Ordinal).ToList()
            : [services.Workspace.GetPipeline(pipeline).Name];
        var result = new List<PipelineStatus>();
        foreach (var name in names)
        {
            result.Add(await GetOneAsync(name, cancellationToken).ConfigureAwait(false));
        }

        return result;
    }

    /// <summary>Builds, validations and promotions of <paramref name="pipeline"/>, newest first.</summary>
    public async Task<IReadOnlyList<HistoryEntry>> GetHistoryAsync(string pipeline, int limit = 100, CancellationToken cancellationToken = default)
    {
        var name = services.Workspace.GetPipeline(pipeline).Name;
        var builds = await services.State.ListBuildsAsync(name, limit, cancellationToken).ConfigureAwait(false);
        var validations = await services.State.ListValidationsAsync(name, limit, cancellationToken).ConfigureAwait(false);
        var promotions = await services.State.ListPromotionsAsync(name, limit, cancellationToken).ConfigureAwait(false);
        return builds
            .Select(b => new HistoryEntry(b.At, "build", b.Stage, b.Digest, b.Actor, null,
                $"built {b.Version} as {b.Reference} (tags {string.Join(", ", b.Tags)}) on base {b.BaseDigest?.ToShortString() ?? "-"}"))
            .Concat(validations.Select(v => new HistoryEntry(v.At, "validation", v.Stage, v.Digest, v.Actor, v.Passed,
                $"{(v.Passed ? "passed" : "FAILED")} {v.Results.Count(r => r.Passed)}/{v.Results.Count} test(s)")))
            .Concat(promotions.Select(p => new HistoryEntry(p.At, "promotion", p.ToStage, p.Digest, p.Actor, null,
                $"promoted from {p.FromStage} to {p.ToStage} as {p.Target} ({ImageSize.Format(p.BytesCopied)} copied, {p.BlobsSkipped} blob(s) already there)")))
            .OrderByDescending(e => e.At)
            .Take(limit)
            .ToList();
    }

    /// <summary>The release in <paramref name="stage"/>: what was last promoted there (or built, for the first stage).</summary>
    /// <exception cref="InputException">An unknown pipeline or stage.</exception>
    /// <exception cref="JobFailedException">Nothing of the pipeline reached the stage yet.</exception>
    public async Task<Release> GetReleaseAsync(string pipeline, string stage, CancellationToken cancellationToken = default)
    {
        var definition = services.Workspace.GetPipeline(pipeline);
        if (services.Config.FindStage(stage) is null)
        {
            throw new InputException($"no stage named '{stage}'; the stages are {string.Join(", ", services.Config.Stages.Select(s => s.Name))}");
        }

        var status = await GetOneAsync(definition.Name, cancellationToken).ConfigureAwait(false);
        var here = status.Stages.Single(s => s.Stage == stage);
        if (here.Reference is null)
        {
            throw new JobFailedException(
                $"nothing of {definition.Name} has reached {stage} yet: run 'orchestrator run {definition.Name}', or build, validate and promote it");
        }

        var build = (await services.State.ListBuildsAsync(definition.Name, 1000, cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(b => b.Digest == here.Reference.Digest);
        return new Release(definition.Name, stage, here.Reference, here.Tags, build?.Version ?? definition.Version, build?.BaseDigest, here.ValidatedAt, here.At, here.By);
    }

    private async Task<PipelineStatus> GetOneAsync(string name, CancellationToken cancellationToken)
    {
        var pipeline = services.Workspace.GetPipeline(name);
        var latestBuild = await services.State.GetLatestBuildAsync(name, cancellationToken).ConfigureAwait(false);
        var validations = await services.State.ListValidationsAsync(name, 1000, cancellationToken).ConfigureAwait(false);
        var promotions = await services.State.ListPromotionsAsync(name, 1000, cancellationToken).ConfigureAwait(false);

        var stages = new List<StageStatus>();
        foreach (var stage in services.Config.Stages)
        {
            ImageReference? reference = null;
            IReadOnlyList<string> tags = [];
            DateTimeOffset? at = null;
            string? by = null;
            if (stage == services.Config.FirstStage)
            {
                if (latestBuild is not null)
                {
                    (reference, tags, at, by) = (latestBuild.Reference, latestBuild.Tags, latestBuild.At, latestBuild.Actor);
                }
            }
            else if (promotions.FirstOrDefault(p => p.ToStage == stage.Name) is { } promotion)
            {
                (reference, tags, at, by) = (promotion.Target, promotion.Tags, promotion.At, promotion.Actor);
            }

            // Newest first: the newest validation of the digest decides, as it does for promotion.
            var validation = reference is null ? null : validations.FirstOrDefault(v => v.Digest == reference.Digest);
            stages.Add(new StageStatus(stage.Name, reference, tags, validation?.Passed ?? false, validation?.At, at, by));
        }

        return new PipelineStatus(name, pipeline.Version, pipeline.Base.ToString(), stages);
    }
}
