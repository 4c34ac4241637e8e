using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>What <c>build --all</c> did with one base variant or pipeline.</summary>
public enum BuildAllOutcome
{
    /// <summary>Built and pushed.</summary>
    Built,

    /// <summary>A base already in the first stage, left as it was.</summary>
    Present,

    /// <summary>A pipeline whose cache key was already built; nothing was built.</summary>
    CacheHit,

    /// <summary>The build failed; <see cref="BuildAllEntry.Error"/> says why.</summary>
    Failed,

    /// <summary>A pipeline not built because its base failed.</summary>
    Skipped,
}

/// <summary>One line of <c>build --all</c>.</summary>
/// <param name="Subject">The pipeline, or <c>BASE/VARIANT</c>.</param>
/// <param name="Kind"><c>base</c> or <c>pipeline</c>.</param>
/// <param name="Outcome">What happened.</param>
/// <param name="Reference">The digest-pinned reference in the first stage, or null when it failed or was skipped.</param>
/// <param name="Error">Why it failed or was skipped, or null.</param>
public sealed record BuildAllEntry(string Subject, string Kind, BuildAllOutcome Outcome, ImageReference? Reference, string? Error);

/// <summary>Every base variant and pipeline <c>build --all</c> handled: bases first, each list by name.</summary>
public sealed record BuildAllResult(IReadOnlyList<BuildAllEntry> Bases, IReadOnlyList<BuildAllEntry> Pipelines)
{
    /// <summary>True when nothing failed or was skipped.</summary>
    public bool Succeeded => Bases.Concat(Pipelines).All(e => e.Outcome is not (BuildAllOutcome.Failed or BuildAllOutcome.Skipped));
}

/// <summary>
/// <c>orchestrator build --all</c>: every base variant some pipeline uses (built only when missing in the
/// first stage, unless asked to rebuild), then every pipeline once its own base is done, at most
/// <c>maxParallelism</c> builds at a time. A pipeline on a base rebuilt in the same run sees the new base
/// digest, so its cache key changes and it is rebuilt; the others are cache hits.
/// </summary>
public sealed partial class BuildAllWorkflow(
    IWorkspaceAccessor workspace,
    BaseImageWorkflow bases,
    PipelineBuildWorkflow builds,
    ILogger<BuildAllWorkflow> logger)
{
    /// <summary>How many builds run at once by default: the engine is shared, and builds are CPU and disk bound.</summary>
    public const int DefaultParallelism = 2;

    private readonly ILogger<BuildAllWorkflow> _logger = logger;

    /// <summary>Builds every base in use, then every pipeline, in dependency order.</summary>
    /// <param name="rebuildBases">Rebuild every base in use, even those already in the first stage.</param>
    /// <param name="noCache">Rebuild every pipeline, ignoring the build cache and the engine's layer cache.</param>
    /// <param name="maxParallelism">The most builds (base or pipeline) running at once; at least 1.</param>
    /// <param name="onResult">Called once per base and pipeline as each finishes (from any thread).</param>
    /// <param name="cancellationToken">Cancels every build.</param>
    /// <returns>Every entry; a failure of one build does not stop the independent others.</returns>
    public async Task<BuildAllResult> BuildAllAsync(
        bool rebuildBases = false,
        bool noCache = false,
        int maxParallelism = DefaultParallelism,
        Action<BuildAllEntry>? onResult = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxParallelism);
        var pipelines = workspace.Current.Pipelines.Values.OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        var bases = pipelines.SelectMany(p => p.BasesUsed).Select(b => b.ToString()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

        using var gate = new SemaphoreSlim(maxParallelism);
        var baseTasks = bases.ToDictionary(
            b => b,
            b => GatedAsync(gate, () => BuildBaseAsync(b, rebuildBases, cancellationToken), onResult, cancellationToken),
            StringComparer.Ordinal);
        var pipelineTasks = pipelines.Select(async p =>
        {
            // Waits outside the gate, so a pipeline waiting for its base never holds a slot the base needs.
            var baseEntries = await Task.WhenAll(p.BasesUsed.Select(b => baseTasks[b.ToString()])).ConfigureAwait(false);
            var baseEntry = baseEntries.FirstOrDefault(e => e.Outcome == BuildAllOutcome.Failed) ?? baseEntries[0];
            if (baseEntry.Outcome == BuildAllOutcome.Failed)
            {
                var skipped = new BuildAllEntry(p.Name, "pipeline", BuildAllOutcome.Skipped, null, $"base {baseEntry.Subject} failed");
                onResult?.Invoke(skipped);
                return skipped;
            }

            return await GatedAsync(gate, () => BuildPipelineAsync(p.Name, noCache, cancellationToken), onResult, cancellationToken).ConfigureAwait(false);
        }).ToList();

        var baseEntries = await Task.WhenAll(baseTasks.Values).ConfigureAwait(false);
        var pipelineEntries = await Task.WhenAll(pipelineTasks).ConfigureAwait(false);
        var result = new BuildAllResult(
            [.. baseEntries.OrderBy(e => e.Subject, StringComparer.Ordinal)],
            [.. pipelineEntries.OrderBy(e => e.Subject, StringComparer.Ordinal)]);
        LogDone(result.Bases.Count, result.Pipelines.Count, result.Succeeded);
        return result;
    }

    private static async Task<BuildAllEntry> GatedAsync(SemaphoreSlim gate, Func<Task<BuildAllEntry>> build, Action<BuildAllEntry>? onResult, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        BuildAllEntry entry;
        try
        {
            entry = await build().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }

        onResult?.Invoke(entry);
        return entry;
    }

    private async Task<BuildAllEntry> BuildBaseAsync(string baseAndVariant, bool rebuild, CancellationToken cancellationToken)
    {
        try
        {
            var result = rebuild
                ? await bases.BuildAsync(baseAndVariant, cancellationToken).ConfigureAwait(false)
                : await bases.EnsureAsync(baseAndVariant, cancellationToken).ConfigureAwait(false);
            return new BuildAllEntry(result.Base, "base", result.Built ? BuildAllOutcome.Built : BuildAllOutcome.Present, result.Reference, null);
        }
        catch (OrchestratorException error)
        {
            return new BuildAllEntry(baseAndVariant, "base", BuildAllOutcome.Failed, null, error.Message);
        }
    }

    private async Task<BuildAllEntry> BuildPipelineAsync(string pipeline, bool noCache, CancellationToken cancellationToken)
    {
        try
        {
            var result = await builds
                .BuildAsync(pipeline, buildMissingBase: false, noCache, cancellationToken).ConfigureAwait(false);
            return new BuildAllEntry(pipeline, "pipeline", result.CacheHit ? BuildAllOutcome.CacheHit : BuildAllOutcome.Built, result.Reference, null);
        }
        catch (OrchestratorException error)
        {
            return new BuildAllEntry(pipeline, "pipeline", BuildAllOutcome.Failed, null, error.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "build --all: {Bases} base(s), {Pipelines} pipeline(s), succeeded {Succeeded}")]
    private partial void LogDone(int bases, int pipelines, bool succeeded);
}
