using Orchestrator.Core.Definitions;
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
public sealed record StageStatus(string Stage, ImageReference? Reference, IReadOnlyList<string> Tags, bool Validated, DateTimeOffset? ValidatedAt, DateTimeOffset? At, string? By)
{
    /// <summary>
    /// False when no record here says how <see cref="Reference"/> got there: the stage's registry serves it under
    /// <see cref="Tags"/>, found by a tag lookup (a fresh clone, or work done by another checkout or a daemon).
    /// <value>The default is true.</value>
    /// </summary>
    public bool Recorded { get; init; } = true;
}

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
public sealed record HistoryEntry(DateTimeOffset At, string Kind, string Stage, Digest Digest, string Actor, bool? Passed, string Summary)
{
    /// <summary>For a validation, each test's result and what it saw; else null. <value>The default is null.</value></summary>
    public IReadOnlyList<TestResult>? Tests { get; init; }
}

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

    /// <summary>False when the stage's registry serves it but no record here says who put it there. <value>The default is true.</value></summary>
    public bool Recorded { get; init; } = true;
}

/// <summary>
/// Reads what Orchestrator did from the state store: the status of each pipeline in each stage, a
/// pipeline's history, and the release a cluster should run. Reads only. Where this store has no record of a
/// stage, the stage's registry is asked (a HEAD per pipeline tag) what it serves, marked as not recorded here.
/// </summary>
public sealed class ReleaseWorkflow(IWorkspaceAccessor workspace, IRegistryClientFactory registries, IStateStore state)
{
    private OrchestratorConfig Config => workspace.Current.Config;

    /// <summary>
    /// What to tell someone who sees "not recorded here": where the records are and how to read them.
    /// </summary>
    public string NotRecordedHint =>
        $"not recorded here: the registry serves it, but this state store ({Path.GetRelativePath(Config.RootDirectory, Config.StatePath).Replace('\\', '/')}) " +
        "has no build or promotion record of it (a fresh clone, or another checkout did it). The records are in the store of whoever built " +
        $"or promoted it: a shared daemon's, read with 'orchestrator status --server URL' (or set {ServerVariable}); or copy that state file here (from a backup, or with its daemon stopped)";

    // The CLI's variable for the daemon's URL, named here so the hint says it.
    private const string ServerVariable = "ORCHESTRATOR_URL";

    /// <summary>Status of every pipeline (or of one), in name order.</summary>
    /// <param name="pipeline">One pipeline, or null for all.</param>
    /// <param name="askRegistries">When true (the default), a stage with no record here is looked up in its registry by the pipeline's tags.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <exception cref="InputException">An unknown pipeline.</exception>
    public async Task<IReadOnlyList<PipelineStatus>> GetStatusAsync(string? pipeline = null, bool askRegistries = true, CancellationToken cancellationToken = default)
    {
        var names = pipeline is null
            ? workspace.Current.Pipelines.Keys.Order(StringComparer.Ordinal).ToList()
            : [workspace.Current.GetPipeline(pipeline).Name];
        var result = new List<PipelineStatus>();
        foreach (var name in names)
        {
            result.Add(await GetOneAsync(name, askRegistries, cancellationToken).ConfigureAwait(false));
        }

        return result;
    }

    /// <summary>Builds, validations and promotions of <paramref name="pipeline"/>, newest first.</summary>
    public async Task<IReadOnlyList<HistoryEntry>> GetHistoryAsync(string pipeline, int limit = 100, CancellationToken cancellationToken = default)
    {
        var name = workspace.Current.GetPipeline(pipeline).Name;
        var builds = await state.ListBuildsAsync(name, limit, cancellationToken).ConfigureAwait(false);
        var validations = await state.ListValidationsAsync(name, limit, cancellationToken).ConfigureAwait(false);
        var promotions = await state.ListPromotionsAsync(name, limit, cancellationToken).ConfigureAwait(false);
        return builds
            .Select(b => new HistoryEntry(b.At, "build", b.Stage, b.Digest, b.Actor, null,
                $"built {b.Version} as {b.Reference} (tags {string.Join(", ", b.Tags)}) on base {b.BaseDigest?.ToShortString() ?? "-"}"))
            .Concat(validations.Select(v => new HistoryEntry(v.At, "validation", v.Stage, v.Digest, v.Actor, v.Passed,
                $"{(v.Passed ? "passed" : "FAILED")} {v.Results.Count(r => r.Passed)}/{v.Results.Count} test(s)") { Tests = v.Results }))
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
        var definition = workspace.Current.GetPipeline(pipeline);
        if (Config.FindStage(stage) is null)
        {
            throw new InputException($"no stage named '{stage}'; the stages are {string.Join(", ", Config.Stages.Select(s => s.Name))}");
        }

        var status = await GetOneAsync(definition.Name, askRegistries: true, cancellationToken).ConfigureAwait(false);
        var here = status.Stages.Single(s => s.Stage == stage);
        if (here.Reference is null)
        {
            throw new JobFailedException(
                $"nothing of {definition.Name} has reached {stage} yet: run 'orchestrator run {definition.Name}', or build, validate and promote it");
        }

        var build = (await state.ListBuildsAsync(definition.Name, 1000, cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(b => b.Digest == here.Reference.Digest);
        return new Release(definition.Name, stage, here.Reference, here.Tags, build?.Version ?? definition.Version, build?.BaseDigest, here.ValidatedAt, here.At, here.By)
        {
            Recorded = here.Recorded,
        };
    }

    // The digest the stage's registry serves under the pipeline's tags (the first tag it has, in definition order),
    // with every one of those tags that points at it; null when it has none or does not answer.
    private async Task<(ImageReference Reference, IReadOnlyList<string> Tags)?> ServedAsync(Definitions.PipelineDefinition pipeline, Definitions.StageDefinition stage, CancellationToken cancellationToken)
    {
        var registry = registries.Create(stage.Registry);
        var found = new List<(string Tag, Digest Digest)>();
        try
        {
            foreach (var tag in pipeline.Tags)
            {
                if (await registry.HeadManifestAsync(pipeline.Repository, tag, cancellationToken).ConfigureAwait(false) is { } head)
                {
                    found.Add((tag, head.Digest));
                }
            }
        }
        catch (OrchestratorException)
        {
            // A registry that does not answer only leaves the stage as the records say: empty.
            return null;
        }

        if (found.Count == 0)
        {
            return null;
        }

        var digest = found[0].Digest;
        return (ImageReference.Create(stage.Registry.Host, pipeline.Repository, digest: digest), found.Where(f => f.Digest == digest).Select(f => f.Tag).ToList());
    }

    private async Task<PipelineStatus> GetOneAsync(string name, bool askRegistries, CancellationToken cancellationToken)
    {
        var pipeline = workspace.Current.GetPipeline(name);
        var latestBuild = await state.GetLatestBuildAsync(name, cancellationToken).ConfigureAwait(false);
        var validations = await state.ListValidationsAsync(name, 1000, cancellationToken).ConfigureAwait(false);
        var promotions = await state.ListPromotionsAsync(name, 1000, cancellationToken).ConfigureAwait(false);

        var stages = new List<StageStatus>();
        foreach (var stage in Config.Stages)
        {
            ImageReference? reference = null;
            IReadOnlyList<string> tags = [];
            DateTimeOffset? at = null;
            string? by = null;
            if (stage == Config.FirstStage)
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

            var recorded = true;
            if (reference is null && askRegistries && await ServedAsync(pipeline, stage, cancellationToken).ConfigureAwait(false) is { } served)
            {
                (reference, tags, recorded) = (served.Reference, served.Tags, false);
            }

            // Newest first: the newest validation of the digest decides, as it does for promotion.
            var validation = reference is null ? null : validations.FirstOrDefault(v => v.Digest == reference.Digest);
            stages.Add(new StageStatus(stage.Name, reference, tags, validation?.Passed ?? false, validation?.At, at, by) { Recorded = recorded });
        }

        return new PipelineStatus(name, pipeline.Version, pipeline.Base.ToString(), stages);
    }
}
