using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Images;
using Orchestrator.Core.Packages;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// Builds a pipeline's image on its base (pinned by digest), installs exactly the pinned packages,
/// labels it with OCI annotation keys, and pushes it to the first stage under every tag.
/// </summary>
/// <remarks>Over 400 lines because one build's steps share its scratch folder, engine and reporter: bases, package
/// cache, context, engine build with step progress, normalization and push. The distroless annotation and the package
/// fetch are the parts to move out next.</remarks>
public sealed partial class PipelineBuildWorkflow(
    IWorkspaceAccessor workspace,
    IDockerEngine engine,
    IEngineCredentialSource engineCredentials,
    IRegistryClientFactory registries,
    IStateStore state,
    IJobReporter reporter,
    TimeProvider time,
    IActorProvider actor,
    BaseImageWorkflow bases,
    BuildCache cache,
    EngineImageNormalizer normalizer,
    Sbom.SbomWorkflow sboms,
    ILogger<PipelineBuildWorkflow> logger,
    IPackageCache packageCache)
{
    /// <summary>
    /// The network every build's <c>RUN</c> steps get: none. Packages come from the package cache in the context
    /// (<see cref="IPackageCache"/>), so a step that reaches for the network fails the build.
    /// </summary>
    public const string BuildNetworkMode = "none";

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

    private readonly ILogger<PipelineBuildWorkflow> _logger = logger;

    private OrchestratorConfig Config => workspace.Current.Config;

    /// <summary>Builds <paramref name="pipelineName"/> and pushes it to the first stage.</summary>
    /// <param name="pipelineName">The pipeline.</param>
    /// <param name="buildMissingBase">Build the base variant first when the first stage does not have it.</param>
    /// <param name="noCache">Ignore the engine's layer cache.</param>
    /// <param name="cancellationToken">Cancels the build.</param>
    /// <exception cref="InputException">No such pipeline.</exception>
    /// <exception cref="JobFailedException">The base is missing (and not built), or the build or push failed.</exception>
    public async Task<BuildResult> BuildAsync(string pipelineName, bool buildMissingBase = false, bool noCache = false, CancellationToken cancellationToken = default)
    {
        var stage = Config.FirstStage;
        var started = Stopwatch.GetTimestamp();
        var (pipeline, baseReference, cacheKey, buildBaseReference) = await PrepareAsync(workspace.Current.GetPipeline(pipelineName), buildMissingBase, cancellationToken).ConfigureAwait(false);
        Digest digest;
        ImageSize size;

        // cache: the same inputs, already built and still in the stage, are reused without the engine; --no-cache rebuilds.
        if (!noCache && await cache.TryReuseAsync(pipeline, cacheKey, baseReference, started, cancellationToken).ConfigureAwait(false) is { } cached)
        {
            return cached;
        }

        var target = ImageReference.Create(stage.Registry.Host, pipeline.Repository);
        var scratch = ScratchFolder(pipeline);
        try
        {
            var image = await BuildImageAsync(pipeline, baseReference, noCache, scratch, buildBaseReference, cancellationToken).ConfigureAwait(false);
            reporter.Step($"pushing {target.Name} as {image.Digest.ToShortString()} ({string.Join(", ", pipeline.Tags)})");
            using (var pushProgress = new BlobProgress(reporter, "push", time))
            {
                digest = await ImagePublisher.PublishAsync(
                    registries.Create(stage.Registry), pipeline.Repository, image, pipeline.Tags, baseReference.Repository, cancellationToken, pushProgress).ConfigureAwait(false);
            }

            size = new ImageSize(image.Layers.Select(l => new LayerSize(l.Descriptor.Digest, l.Descriptor.Size)).ToList(), image.ConfigDescriptor.Size);
        }
        finally
        {
            TryDelete(scratch);
        }

        var reference = target.WithDigest(digest);
        var uncompressed = await ReportSizeAsync(pipeline, size, cancellationToken).ConfigureAwait(false);

        // sbom: an SPDX SBOM attached to the digest as a referrer; failing to attach fails the build, before any record.
        var sbom = await sboms.AttachAsync(
            stage, reference, DateTimeOffset.FromUnixTimeSeconds(pipeline.Lock!.SourceDateEpoch), Sbom.PypiPackage.From(pipeline.Python), cancellationToken,
            fromStatusDirectory: DistrolessBase.IsDistroless(workspace.Current, pipeline.Base)).ConfigureAwait(false);

        var record = new BuildRecord(
            0, pipeline.Name, "pipeline", stage.Name, reference, pipeline.Tags, pipeline.Version, baseReference.Digest,
            actor.Actor, time.GetUtcNow(), Stopwatch.GetElapsedTime(started)) { CacheKey = cacheKey };
        var id = await state.RecordBuildAsync(record, cancellationToken).ConfigureAwait(false);
        LogBuilt(pipeline.Name, digest, stage.Name);
        return new BuildResult(pipeline.Name, reference, pipeline.Tags, baseReference, id)
        {
            SbomDigest = sbom.Digest, CacheKey = cacheKey, Size = size, UncompressedBytes = uncompressed,
        };
    }

    /// <summary>
    /// Reports the pushed image's size layer by layer (compressed, as the manifest the build wrote lists it, so no
    /// registry round trip) and in total, with the engine's uncompressed size, which it returns. An uncompressed
    /// size the engine cannot give is reported as unknown and never fails the build.
    /// </summary>
    private async Task<long?> ReportSizeAsync(PipelineDefinition pipeline, ImageSize size, CancellationToken cancellationToken)
    {
        long? uncompressed = null;
        try
        {
            // The engine's image before normalization: the same files, so the same size to within the metadata.
            uncompressed = (await engine.InspectImageAsync(LocalBuildTag(pipeline), cancellationToken).ConfigureAwait(false))?.Size;
        }
        catch (OrchestratorException e)
        {
            reporter.Detail($"uncompressed image size unknown: {e.Message}");
        }

        reporter.Step($"image size {ImageSize.Format(size.TotalBytes)} compressed in {size.Layers.Count} layer(s)" +
            (uncompressed is { } u ? $", {ImageSize.Format(u)} uncompressed" : string.Empty));
        foreach (var layer in size.Layers)
        {
            reporter.Detail($"{layer.Digest.ToShortString()} {ImageSize.Format(layer.SizeBytes)}");
        }

        return uncompressed;
    }

    /// <summary>
    /// What a build of <paramref name="pipeline"/> starts from: the pipeline under its lock (its packages the
    /// locked closure), the base by digest, and the cache key of all its inputs.
    /// </summary>
    /// <exception cref="JobFailedException">The lock is missing or stale, or the base is missing and not to be built.</exception>
    /// <remarks>A Python pipeline also gets its build base by digest (built first when missing and allowed), else it is null.</remarks>
    internal async Task<(PipelineDefinition Pipeline, ImageReference Base, Digest CacheKey, ImageReference? BuildBase)> PrepareAsync(PipelineDefinition pipeline, bool buildMissingBase, CancellationToken cancellationToken)
    {
        var baseReference = await ResolveBaseAsync(pipeline.Base, pipeline.Name, buildMissingBase, cancellationToken).ConfigureAwait(false);

        // python: the wheels are built on the build base (usually the full variant), pinned by digest like the base.
        var buildBaseReference = pipeline.Python is { } python
            ? await ResolveBaseAsync(python.BuildBase, pipeline.Name, buildMissingBase, cancellationToken).ConfigureAwait(false)
            : null;

        // locks: a pipeline installs exactly its locked closure (every package, direct and transitive, at its
        // locked version), and is refused without a lock or when the lock no longer matches its inputs or its base.
        var locked = ApplyLock(pipeline, baseReference, buildBaseReference);
        if (locked.Python is { NeedsLock: true } loose)
        {
            throw new JobFailedException(
                $"{locked.Name}'s Python requirements ({Path.GetFileName(loose.RequirementsFile)}) are loose and not locked yet: " +
                $"run 'orchestrator lock {locked.Name}' to resolve them with pip and pin each with its hash, then build again");
        }

        var cacheKey = cache.ComputeKey(locked, baseReference, CreateLabels(locked, baseReference, Config.RootDirectory), buildBaseReference);
        return (locked, baseReference, cacheKey, buildBaseReference);
    }

    /// <summary>
    /// Builds <paramref name="pipeline"/> (already under its lock) on the engine and returns its
    /// normalized form, written under <paramref name="scratch"/> and not pushed: same lock, same files,
    /// same base, same digest (<see cref="EngineImageNormalizer"/>).
    /// </summary>
    /// <param name="pipeline">The pipeline, with <see cref="PipelineDefinition.Lock"/> set.</param>
    /// <param name="baseReference">The base by digest in the first stage.</param>
    /// <param name="noCache">Ignore the engine's layer cache.</param>
    /// <param name="scratch">Scratch folder (context, export, blobs); the caller deletes it.</param>
    /// <param name="buildBaseReference">A Python pipeline's build base by digest (its wheels stage), or null.</param>
    /// <param name="cancellationToken">Cancels the build.</param>
    /// <exception cref="JobFailedException">The build failed.</exception>
    internal async Task<OciImage> BuildImageAsync(PipelineDefinition pipeline, ImageReference baseReference, bool noCache, string scratch, ImageReference? buildBaseReference, CancellationToken cancellationToken)
    {
        var stage = Config.FirstStage;
        var sourceDate = pipeline.Lock?.SourceDateEpoch ?? throw new JobFailedException(MissingLockMessage(pipeline));

        // Pull the base by digest from the stage first, so the build never reaches for any other registry.
        reporter.Step($"pulling base {baseReference}");
        var pullCredentials = await engineCredentials.GetAsync(stage.Registry, cancellationToken).ConfigureAwait(false);
        await engine.PullImageAsync(baseReference, pullCredentials, new ReporterProgress(reporter), cancellationToken).ConfigureAwait(false);
        if (buildBaseReference is not null && buildBaseReference != baseReference)
        {
            reporter.Step($"pulling build base {buildBaseReference}");
            await engine.PullImageAsync(buildBaseReference, pullCredentials, new ReporterProgress(reporter), cancellationToken).ConfigureAwait(false);
        }

        // distroless: no apt on the base; the locked packages are unpacked on its slim sibling, pinned by digest too.
        ImageReference? unpackBase = null;
        if (DistrolessBase.IsDistroless(workspace.Current, pipeline.Base))
        {
            var (baseImage, baseVariant) = workspace.Current.GetBaseVariant(pipeline.Base.ToString());
            unpackBase = await ResolveBaseAsync(DistrolessBase.SlimSiblingOf(baseImage, baseVariant), pipeline.Name, buildMissingBase: false, cancellationToken).ConfigureAwait(false);
            reporter.Step($"pulling unpack base {unpackBase}");
            await engine.PullImageAsync(unpackBase, pullCredentials, new ReporterProgress(reporter), cancellationToken).ConfigureAwait(false);
        }

        // The package cache resolves the .debs on an image with apt: the base, or for distroless its slim sibling.
        var packages = await FetchPackagesAsync(pipeline, unpackBase ?? baseReference, buildBaseReference, cancellationToken).ConfigureAwait(false);
        var dockerfile = BuildContext.CreateDockerfile(pipeline, baseReference, buildBaseReference, unpackBase);
        var labels = CreateLabels(pipeline, baseReference, Config.RootDirectory);
        var contextPath = Path.Combine(scratch, "context.tar");
        await using (var context = File.Create(contextPath))
        {
            await BuildContext.WriteAsync(pipeline, dockerfile, context, cancellationToken, packages).ConfigureAwait(false);
        }

        reporter.Step($"building {pipeline.Repository} on {baseReference.Digest!.ToShortString()} with {pipeline.AptPackages.Count} locked package(s)");
        var previous = await engine.InspectImageAsync(LocalBuildTag(pipeline), cancellationToken).ConfigureAwait(false);
        string imageId;
        var output = new CapturedBuildOutput(new ReporterProgress(reporter));
        await using (var context = File.OpenRead(contextPath))
        {
            // A local name only: what the registry gets is the normalized image, never the engine's own.
            // No network for any RUN: what a step installs is in the context, verified against the lock.
            var request = new ImageBuildRequest([LocalBuildTag(pipeline)], NetworkMode: BuildNetworkMode, Labels: labels, NoCache: noCache);
            var steps = new BuildStepProgress(reporter, output, time);
            var built = false;
            try
            {
                imageId = await engine.BuildImageAsync(context, request, steps, cancellationToken).ConfigureAwait(false);
                built = true;
            }
            catch (JobFailedException ex) when (ex is not PackageIntegrityException)
            {
                throw new JobFailedException(
                    $"building {pipeline.Name} failed: {ex.Message}. Every RUN of a build runs with no network: packages come from the lock through the " +
                    "package cache, so a step that downloads or resolves a host fails; put what it needs in the pipeline's files or its locked packages", ex);
            }
            finally
            {
                steps.Complete(built);
            }
        }

        await RemoveReplacedBuildImageAsync(pipeline, previous?.Id, imageId).ConfigureAwait(false);

        reporter.Step("normalizing the new layers and writing the image config (source date " +
            DateTimeOffset.FromUnixTimeSeconds(sourceDate).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) + ")");
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Labels.BaseName] = labels[Labels.BaseName],
            [Labels.BaseDigest] = labels[Labels.BaseDigest],
        };
        if (unpackBase is not null)
        {
            // distroless: what dpkg would have run and did not, in the output and with the image (a manifest annotation).
            var skipped = DistrolessBuildContext.ParseSkippedScripts(output.Text);
            reporter.Step($"unpacked {pipeline.Lock!.Packages.Count} package(s) without maintainer scripts; skipped {skipped.Count}: {(skipped.Count == 0 ? "none" : string.Join(", ", skipped))}");
            annotations[SkippedScriptsAnnotation] = string.Join(' ', skipped);
        }

        // The staging layer of the cached .debs exists only where they were installed in the final stage (not distroless).
        return await normalizer.NormalizeAsync(
            imageId, baseReference, sourceDate, scratch, annotations, cancellationToken, dropStagingLayer: unpackBase is null && pipeline.Lock!.Packages.Count > 0).ConfigureAwait(false);
    }

    /// <summary>
    /// The verified package files the build's context carries, from the package cache (fetched once, by hash): the
    /// runtime closure on the base, a Python pipeline's build closure on its build base, and an index's distributions.
    /// </summary>
    private async Task<BuildPackages> FetchPackagesAsync(PipelineDefinition pipeline, ImageReference baseReference, ImageReference? buildBaseReference, CancellationToken cancellationToken)
    {
        var pipelineLock = pipeline.Lock!;
        var runtime = await packageCache.GetDebsAsync(pipelineLock.Packages, baseReference, reporter, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<CachedPackage> build = [];
        IReadOnlyList<CachedDistribution> distributions = [];
        if (pipeline.Python is { } python)
        {
            if (pipelineLock.BuildBase is not null && buildBaseReference is not null)
            {
                build = await packageCache.GetDebsAsync(pipelineLock.BuildPackages, buildBaseReference, reporter, cancellationToken).ConfigureAwait(false);
            }

            if (python.Index is { } index && python.Requirements.Count > 0)
            {
                distributions = await packageCache.GetDistributionsAsync(
                    [.. python.Requirements.Select(r => new WantedDistribution(r.Name, r.Version, r.Sha256))], index, reporter, cancellationToken).ConfigureAwait(false);
            }
        }

        return new BuildPackages(runtime, build, distributions);
    }

    /// <summary>
    /// The manifest annotation of an image built on a distroless base listing the maintainer scripts its unpacked packages
    /// carried and that never ran: <c>PACKAGE/SCRIPT</c> entries separated by spaces, sorted.
    /// </summary>
    public const string SkippedScriptsAnnotation = "io.orchestrator.skipped-maintainer-scripts";

    /// <summary>
    /// The engine-local image a rebuild replaced: the tag moved to the new build, so the old one is an untagged leftover
    /// that only grows the engine's disk (the registry has what was pushed). It is removed without force, so an image
    /// another tag or a container still uses stays; a refusal is logged, never fatal to the build. The engine's layer
    /// cache the new build shares with it stays, since the new image still references those layers. (Issue 11, hole 3:
    /// builds' throwaway images.)
    /// </summary>
    private async Task RemoveReplacedBuildImageAsync(PipelineDefinition pipeline, string? previousId, string imageId)
    {
        if (previousId is null || string.Equals(previousId, imageId, StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            // Not cancellable: the build is done and the tag has moved; leaving the old image behind is what this avoids.
            await engine.RemoveImageAsync(previousId, force: false, CancellationToken.None).ConfigureAwait(false);
        }
        catch (OrchestratorException ex)
        {
            LogReplacedImageKept(pipeline.Name, previousId, ex.Message);
        }
    }

    /// <summary>The engine-local tag a pipeline's build gets: <c>orchestrator-build/NAME:latest</c>, never a registry's name.</summary>
    internal static string LocalBuildTag(PipelineDefinition pipeline) => $"orchestrator-build/{pipeline.Name}:latest";

    /// <summary>A fresh scratch folder for one build under the work directory.</summary>
    internal string ScratchFolder(PipelineDefinition pipeline)
    {
        var folder = Path.Combine(Config.WorkDirectory, $"build-{pipeline.Name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        return folder;
    }

    internal static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // Scratch space: a leftover folder is not worth failing a finished build.
        }
    }

    private static string MissingLockMessage(PipelineDefinition pipeline) =>
        $"pipeline {pipeline.Name} has no lock ({Path.GetFileName(PipelineDefinition.LockPathFor(pipeline.SourceFile))}): " +
        $"run 'orchestrator lock {pipeline.Name}' to resolve and record its package closure and source date, then commit the lock and build again";

    /// <summary>The pipeline to build: with a fresh lock, its packages become the locked closure.</summary>
    /// <exception cref="JobFailedException">The lock is stale; the message names why and the fix (<c>orchestrator lock NAME</c>).</exception>
    /// <remarks>A Python pipeline's build stage installs the lock's build closure on the build base it was resolved on.</remarks>
    internal static PipelineDefinition ApplyLock(PipelineDefinition pipeline, ImageReference baseReference, ImageReference? buildBaseReference = null)
    {
        if (pipeline.Lock is not { } pipelineLock)
        {
            throw new JobFailedException(MissingLockMessage(pipeline));
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
        var (image, variant) = workspace.Current.GetBaseVariant(baseVariant.ToString());
        var current = await bases.ResolveAsync(image, variant, cancellationToken).ConfigureAwait(false);
        if (current is not null)
        {
            return current;
        }

        if (!buildMissingBase)
        {
            throw new JobFailedException(
                $"base {baseVariant} is not in {Config.FirstStage.Name} ({bases.TagReference(image, variant)}): " +
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kept the engine image {ImageId} an earlier build of {Pipeline} left: {Reason}")]
    private partial void LogReplacedImageKept(string pipeline, string imageId, string reason);
}
