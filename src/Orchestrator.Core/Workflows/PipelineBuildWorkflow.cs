using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// Builds a pipeline's image on its base (pinned by digest), installs exactly the pinned packages,
/// labels it with OCI annotation keys, and pushes it to the first stage under every tag.
/// </summary>
public sealed partial class PipelineBuildWorkflow(OrchestratorServices services)
{
    /// <summary>Label keys from the OCI image spec's pre-defined annotations (annotations.md).</summary>
    public static class Labels
    {
        public const string Title = "org.opencontainers.image.title";
        public const string Version = "org.opencontainers.image.version";
        public const string Source = "org.opencontainers.image.source";
        public const string BaseName = "org.opencontainers.image.base.name";
        public const string BaseDigest = "org.opencontainers.image.base.digest";
        public const string Pipeline = "io.orchestrator.pipeline";
    }

    private readonly ILogger<PipelineBuildWorkflow> _logger = services.Logger<PipelineBuildWorkflow>();

    /// <summary>Builds <paramref name="pipelineName"/> and pushes it to the first stage.</summary>
    /// <param name="pipelineName">The pipeline.</param>
    /// <param name="buildMissingBase">Build the base variant first when the first stage does not have it.</param>
    /// <param name="noCache">Ignore the engine's layer cache.</param>
    /// <param name="cancellationToken">Cancels the build.</param>
    /// <exception cref="InputException">No such pipeline.</exception>
    /// <exception cref="JobFailedException">The base is missing (and not built), or the build or push failed.</exception>
    public async Task<BuildResult> BuildAsync(string pipelineName, bool buildMissingBase = false, bool noCache = false, CancellationToken cancellationToken = default)
    {
        var pipeline = services.Workspace.GetPipeline(pipelineName);
        var stage = services.Config.FirstStage;
        var started = Stopwatch.GetTimestamp();

        var baseReference = await ResolveBaseAsync(pipeline.Base, pipeline.Name, buildMissingBase, cancellationToken).ConfigureAwait(false);

        // python: the wheels are built on the build base (usually the full variant), pinned by digest like the base.
        var buildBaseReference = pipeline.Python is { } python
            ? await ResolveBaseAsync(python.BuildBase, pipeline.Name, buildMissingBase, cancellationToken).ConfigureAwait(false)
            : null;

        // locks: a pipeline with a lock installs exactly its closure (every package, direct and transitive,
        // at its locked version) and is refused when the lock no longer matches its inputs or its base.
        pipeline = ApplyLock(pipeline, baseReference, buildBaseReference);
        if (pipeline.Python is { NeedsLock: true } loose)
        {
            throw new JobFailedException(
                $"{pipeline.Name}'s Python requirements ({Path.GetFileName(loose.RequirementsFile)}) are loose and not locked yet: " +
                $"run 'orchestrator lock {pipeline.Name}' to resolve them with pip and pin each with its hash, then build again");
        }

        // cache: the same inputs, already built and still in the stage, are reused without the engine; --no-cache rebuilds.
        var cache = new BuildCache(services);
        var cacheKey = cache.ComputeKey(pipeline, baseReference, CreateLabels(pipeline, baseReference, services.Config.RootDirectory), buildBaseReference);
        if (!noCache && await cache.TryReuseAsync(pipeline, cacheKey, baseReference, started, cancellationToken).ConfigureAwait(false) is { } cached)
        {
            return cached;
        }

        // Pull the base by digest from the stage first, so the build never reaches for any other registry.
        services.Reporter.Step($"pulling base {baseReference}");
        await services.Engine.PullImageAsync(baseReference, OrchestratorServices.CredentialsFor(stage.Registry), new ReporterProgress(services.Reporter), cancellationToken).ConfigureAwait(false);
        if (buildBaseReference is not null && buildBaseReference != baseReference)
        {
            services.Reporter.Step($"pulling build base {buildBaseReference}");
            await services.Engine.PullImageAsync(buildBaseReference, OrchestratorServices.CredentialsFor(stage.Registry), new ReporterProgress(services.Reporter), cancellationToken).ConfigureAwait(false);
        }

        var target = ImageReference.Create(stage.Registry.Host, pipeline.Repository);
        var dockerfile = BuildContext.CreateDockerfile(pipeline, baseReference, buildBaseReference);
        var labels = CreateLabels(pipeline, baseReference, services.Config.RootDirectory);

        var contextPath = Path.Combine(services.Config.WorkDirectory, $"context-{pipeline.Name}-{Guid.NewGuid():N}.tar");
        Directory.CreateDirectory(services.Config.WorkDirectory);
        try
        {
            await using (var context = File.Create(contextPath))
            {
                await BuildContext.WriteAsync(pipeline, dockerfile, context, cancellationToken).ConfigureAwait(false);
            }

            services.Reporter.Step($"building {target.Name} on {baseReference.Digest!.ToShortString()} with {pipeline.AptPackages.Count} {(pipeline.Lock is null ? "pinned" : "locked")} package(s)");
            await using (var context = File.OpenRead(contextPath))
            {
                var request = new ImageBuildRequest(
                    pipeline.Tags.Select(t => target.WithTag(t).ToString()).ToList(), Labels: labels, NoCache: noCache);
                await services.Engine.BuildImageAsync(context, request, new ReporterProgress(services.Reporter), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            File.Delete(contextPath);
        }

        Digest? digest = null;
        foreach (var tag in pipeline.Tags)
        {
            services.Reporter.Step($"pushing {target.WithTag(tag)}");
            var pushed = await services.Engine.PushImageAsync(
                target.Name, tag, OrchestratorServices.CredentialsFor(stage.Registry), new ReporterProgress(services.Reporter), cancellationToken).ConfigureAwait(false);
            if (digest is not null && pushed != digest)
            {
                throw new JobFailedException($"the tags of one build were pushed as different digests ({digest} and {pushed}); rerun the build");
            }

            digest = pushed;
        }

        var reference = target.WithDigest(digest!);
        var (size, uncompressed) = await ReportSizeAsync(stage, pipeline, reference, cancellationToken).ConfigureAwait(false);

        // sbom: an SPDX SBOM attached to the digest as a referrer; failing to attach fails the build, before any record.
        var sbom = await new Sbom.SbomWorkflow(services).AttachAsync(stage, reference, cancellationToken).ConfigureAwait(false);

        var record = new BuildRecord(
            0, pipeline.Name, "pipeline", stage.Name, reference, pipeline.Tags, pipeline.Version, baseReference.Digest,
            services.Actor.Actor, services.Time.GetUtcNow(), Stopwatch.GetElapsedTime(started)) { CacheKey = cacheKey };
        var id = await services.State.RecordBuildAsync(record, cancellationToken).ConfigureAwait(false);
        LogBuilt(pipeline.Name, digest!, stage.Name);
        return new BuildResult(pipeline.Name, reference, pipeline.Tags, baseReference, id)
        {
            SbomDigest = sbom.Digest, CacheKey = cacheKey, Size = size, UncompressedBytes = uncompressed,
        };
    }

    /// <summary>
    /// Reports the pushed image's size layer by layer (compressed, from its manifest in the stage) and in total, with
    /// the engine's uncompressed size. A size that cannot be read is reported as such and never fails the build.
    /// </summary>
    private async Task<(ImageSize? Size, long? Uncompressed)> ReportSizeAsync(StageDefinition stage, PipelineDefinition pipeline, ImageReference reference, CancellationToken cancellationToken)
    {
        try
        {
            var size = await ImageSizes.ReadAsync(services.RegistryFor(stage), pipeline.Repository, reference.Digest!.ToString(), cancellationToken).ConfigureAwait(false);
            var uncompressed = (await services.Engine.InspectImageAsync(reference.ToString(), cancellationToken).ConfigureAwait(false))?.Size;
            services.Reporter.Step($"image size {ImageSize.Format(size.TotalBytes)} compressed in {size.Layers.Count} layer(s)" +
                (uncompressed is { } u ? $", {ImageSize.Format(u)} uncompressed" : string.Empty));
            foreach (var layer in size.Layers)
            {
                services.Reporter.Detail($"{layer.Digest.ToShortString()} {ImageSize.Format(layer.SizeBytes)}");
            }

            return (size, uncompressed);
        }
        catch (Exception e) when (e is OrchestratorException or System.Text.Json.JsonException or KeyNotFoundException or FormatException)
        {
            services.Reporter.Detail($"image size unknown: {e.Message}");
            return (null, null);
        }
    }

    /// <summary>The pipeline to build: with a fresh lock, its packages become the locked closure.</summary>
    /// <exception cref="JobFailedException">The lock is stale; the message names why and the fix (<c>orchestrator lock NAME</c>).</exception>
    /// <remarks>A Python pipeline's build stage installs the lock's build closure on the build base it was resolved on.</remarks>
    internal static PipelineDefinition ApplyLock(PipelineDefinition pipeline, ImageReference baseReference, ImageReference? buildBaseReference = null)
    {
        if (pipeline.Lock is not { } pipelineLock)
        {
            return pipeline;
        }

        var status = Locks.LockStatus.Check(pipelineLock, pipeline, baseReference.Digest!, buildBaseReference?.Digest);
        if (!status.IsFresh)
        {
            throw new JobFailedException(status.Message);
        }

        var locked = pipeline with { AptPackages = pipelineLock.ToAptPackages() };
        return locked.Python is { } python && pipelineLock.BuildBase is not null
            ? locked with { Python = python with { BuildPackages = [.. pipelineLock.BuildPackages.Select(p => new AptPackage(p.Name, p.Version))] } }
            : locked;
    }

    private async Task<ImageReference> ResolveBaseAsync(BaseVariantRef baseVariant, string pipelineName, bool buildMissingBase, CancellationToken cancellationToken)
    {
        var bases = new BaseImageWorkflow(services);
        var (image, variant) = services.Workspace.GetBaseVariant(baseVariant.ToString());
        var current = await bases.ResolveAsync(image, variant, cancellationToken).ConfigureAwait(false);
        if (current is not null)
        {
            return current;
        }

        if (!buildMissingBase)
        {
            throw new JobFailedException(
                $"base {baseVariant} is not in {services.Config.FirstStage.Name} ({bases.TagReference(image, variant)}): " +
                $"build it with 'orchestrator base build {baseVariant}', or use 'orchestrator run {pipelineName}', which builds missing bases");
        }

        return (await bases.BuildAsync(baseVariant.ToString(), cancellationToken).ConfigureAwait(false)).Reference;
    }

    private static Dictionary<string, string> CreateLabels(PipelineDefinition pipeline, ImageReference baseReference, string workspaceRoot)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in pipeline.Labels)
        {
            labels[key] = value;
        }

        labels[Labels.Title] = pipeline.Name;
        labels[Labels.Version] = pipeline.Version;
        labels[Labels.Source] = SourceOf(pipeline, workspaceRoot);
        labels[Labels.BaseName] = baseReference.WithTag(pipeline.Base.Variant).ToString();
        labels[Labels.BaseDigest] = baseReference.Digest!.ToString();
        labels[Labels.Pipeline] = pipeline.Name;
        return labels;
    }

    // The definition's path relative to the workspace (the folder holding orchestrator.yaml): stable
    // across machines and checkouts, unlike an absolute path.
    private static string SourceOf(PipelineDefinition pipeline, string workspaceRoot) =>
        Path.GetRelativePath(workspaceRoot, pipeline.SourceFile).Replace('\\', '/');

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline {Pipeline} built as {Digest} in {Stage}")]
    private partial void LogBuilt(string pipeline, Digest digest, string stage);
}
