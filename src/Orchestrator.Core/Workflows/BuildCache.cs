using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// The content-addressed build cache of pipeline images: a build whose <see cref="BuildCacheKey"/> was
/// recorded with an earlier build, and whose digest is still in the first stage, reuses that digest.
/// A hit talks to the state store and the stage's registry only (manifest HEADs, and a GET and PUTs
/// when a tag moved), never to the engine, so it takes milliseconds.
/// </summary>
public sealed partial class BuildCache(
    IWorkspaceAccessor workspace,
    IRegistryClientFactory registries,
    IStateStore state,
    IJobReporter reporter,
    TimeProvider time,
    IActorProvider actor,
    ILogger<BuildCache> logger)
{
    private readonly ILogger<BuildCache> _logger = logger;

    private OrchestratorConfig Config => workspace.Current.Config;

    /// <summary>
    /// The key of building <paramref name="pipeline"/> on <paramref name="baseReference"/> (digest-pinned),
    /// with the labels the build hands the engine and the lock file next to the definition, if any.
    /// </summary>
    /// <exception cref="IOException">A copied file or the lock cannot be read.</exception>
    public Digest ComputeKey(PipelineDefinition pipeline, ImageReference baseReference, IReadOnlyDictionary<string, string>? engineLabels = null, ImageReference? buildBaseReference = null) =>
        BuildCacheKey.Compute(pipeline, baseReference.Digest!, BuildCacheKey.LockChecksum(pipeline), buildArgs: null, engineLabels, buildBaseReference?.Digest);

    /// <summary>
    /// The recorded build of <paramref name="pipeline"/> with <paramref name="cacheKey"/> in the first stage's
    /// repository whose digest the stage still holds, or null (never built from these inputs, or deleted since).
    /// </summary>
    /// <exception cref="Errors.RegistryException">The stage's registry refused the HEAD.</exception>
    internal async Task<BuildRecord?> FindInFirstStageAsync(PipelineDefinition pipeline, Digest cacheKey, CancellationToken cancellationToken)
    {
        var stage = Config.FirstStage;
        var previous = await state.FindBuildByCacheKeyAsync(pipeline.Name, cacheKey, cancellationToken).ConfigureAwait(false);
        if (previous is null || previous.Stage != stage.Name || previous.Reference.Name != ImageReference.Create(stage.Registry.Host, pipeline.Repository).Name)
        {
            LogMiss(pipeline.Name, cacheKey);
            return null;
        }

        var present = await registries.Create(stage.Registry).HeadManifestAsync(pipeline.Repository, previous.Digest.ToString(), cancellationToken).ConfigureAwait(false);
        if (present is null || present.Digest != previous.Digest)
        {
            // Deleted from the stage since (garbage collection, a manual cleanup): build it again.
            reporter.Step($"cache key {cacheKey.ToShortString()} was built as {previous.Digest.ToShortString()}, which is no longer in {stage.Name}; building");
            return null;
        }

        return previous;
    }

    /// <summary>
    /// Reuses the build recorded under <paramref name="cacheKey"/> when its digest is still in the first stage:
    /// tags that moved elsewhere are re-pointed at it (the manifest's exact bytes PUT under the tag), a build
    /// record of the hit is appended, and the result says <see cref="BuildResult.CacheHit"/>. Null on a miss.
    /// </summary>
    /// <param name="pipeline">The pipeline being built.</param>
    /// <param name="cacheKey">Its key.</param>
    /// <param name="baseReference">The digest-pinned base it would be built on.</param>
    /// <param name="started">When the build started (<see cref="Stopwatch.GetTimestamp"/>), for the record's duration.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <exception cref="Errors.RegistryException">The stage's registry refused a HEAD, GET or PUT.</exception>
    /// <exception cref="Errors.UnavailableException">The stage's registry does not answer.</exception>
    public async Task<BuildResult?> TryReuseAsync(PipelineDefinition pipeline, Digest cacheKey, ImageReference baseReference, long started, CancellationToken cancellationToken = default)
    {
        var stage = Config.FirstStage;
        var target = ImageReference.Create(stage.Registry.Host, pipeline.Repository);
        if (await FindInFirstStageAsync(pipeline, cacheKey, cancellationToken).ConfigureAwait(false) is not { } previous)
        {
            return null;
        }

        var digest = previous.Digest;
        var registry = registries.Create(stage.Registry);

        ManifestContent? manifest = null;
        foreach (var tag in pipeline.Tags)
        {
            var current = await registry.HeadManifestAsync(pipeline.Repository, tag, cancellationToken).ConfigureAwait(false);
            if (current?.Digest == digest)
            {
                continue;
            }

            // Staging tags follow the latest build: a later build with other inputs moved this one, so it goes back.
            manifest ??= await registry.GetManifestAsync(pipeline.Repository, digest.ToString(), cancellationToken).ConfigureAwait(false);
            reporter.Step($"re-pointing {target.WithTag(tag)} at {digest.ToShortString()} (it pointed at {current?.Digest.ToShortString() ?? "nothing"})");
            await registry.PutManifestAsync(pipeline.Repository, tag, manifest.Content, manifest.MediaType, cancellationToken).ConfigureAwait(false);
        }

        var reference = target.WithDigest(digest);
        var record = new BuildRecord(
            0, pipeline.Name, "pipeline", stage.Name, reference, pipeline.Tags, pipeline.Version, baseReference.Digest,
            actor.Actor, time.GetUtcNow(), Stopwatch.GetElapsedTime(started))
        {
            CacheKey = cacheKey,
        };
        var id = await state.RecordBuildAsync(record, cancellationToken).ConfigureAwait(false);
        reporter.Step($"cache hit: {digest} (built {previous.At:u} by {previous.Actor}; --no-cache rebuilds)");
        LogHit(pipeline.Name, digest, cacheKey);

        // The same shape as a real build: the size and the SBOM come from the registry, where the build left them
        // (no engine call, so the uncompressed size stays unknown).
        var size = ImageSizes.Parse(
            (manifest ?? await registry.GetManifestAsync(pipeline.Repository, digest.ToString(), cancellationToken).ConfigureAwait(false)).Content.Span,
            reference.ToString());
        var sbom = (await registry.ListReferrersAsync(pipeline.Repository, digest, cancellationToken).ConfigureAwait(false))
            .LastOrDefault(r => r.ArtifactType == Sbom.SpdxDocument.MediaType);
        return new BuildResult(pipeline.Name, reference, pipeline.Tags, baseReference, id)
        {
            CacheHit = true, CacheKey = cacheKey, Size = size, SbomDigest = sbom?.Digest,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline {Pipeline} cache hit: {Digest} for key {CacheKey}")]
    private partial void LogHit(string pipeline, Digest digest, Digest cacheKey);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Pipeline {Pipeline} cache miss for key {CacheKey}")]
    private partial void LogMiss(string pipeline, Digest cacheKey);
}
