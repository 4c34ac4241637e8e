using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// The main job for one pipeline: its base (built when missing), the build, the validation of the
/// built digest, then a promotion through every later stage in order. Stops at the first failure;
/// a failed validation means nothing leaves the first stage.
/// </summary>
public sealed class RunWorkflow(
    IWorkspaceAccessor workspace,
    BaseImageWorkflow bases,
    PipelineBuildWorkflow builds,
    ValidationWorkflow validations,
    PromotionWorkflow promoter)
{
    /// <summary>Runs <paramref name="pipelineName"/> through every stage.</summary>
    /// <exception cref="ValidationFailedException">The built digest failed validation; carries the result.</exception>
    public async Task<RunResult> RunAsync(string pipelineName, bool noCache = false, CancellationToken cancellationToken = default)
    {
        var current = workspace.Current;
        var pipeline = current.GetPipeline(pipelineName);
        var baseResult = await bases.EnsureAsync(pipeline.Base.ToString(), cancellationToken).ConfigureAwait(false);
        foreach (var other in pipeline.BasesUsed.Skip(1))
        {
            // A Python pipeline's build base (the full variant) must be there too.
            await bases.EnsureAsync(other.ToString(), cancellationToken).ConfigureAwait(false);
        }

        var build = await builds.BuildAsync(pipeline.Name, buildMissingBase: false, noCache, cancellationToken).ConfigureAwait(false);
        var validation = await validations.ValidateAsync(pipeline.Name, build.Digest, cancellationToken).ConfigureAwait(false);
        if (!validation.Passed)
        {
            throw new ValidationFailedException(validation);
        }

        var promotions = new List<PromotionResult>();
        foreach (var stage in current.Config.Stages.Skip(1))
        {
            promotions.Add(await promoter.PromoteAsync(pipeline.Name, build.Digest, stage.Name, dryRun: false, cancellationToken).ConfigureAwait(false));
        }

        return new RunResult(pipeline.Name, baseResult, build, validation, promotions);
    }
}

/// <summary>A digest failed validation; it stays where it is. Exit code 1.</summary>
public sealed class ValidationFailedException(ValidationResult result)
    : JobFailedException($"{result.Reference} failed {result.Results.Count(r => !r.Passed)} of {result.Results.Count} validation test(s): " +
        string.Join("; ", result.Results.Where(r => !r.Passed).Select(r => $"{r.Kind} '{r.Name}': {r.Detail.Split('\n', 2)[0]}")) +
        ". It will not be promoted; fix the pipeline and run again")
{
    public ValidationResult Result { get; } = result;
}
