using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// Builds a base variant and puts it in the first stage as <c>REPOSITORY:VARIANT</c>: a debootstrap
/// root filesystem imported through the Engine API and pushed, or an upstream image pinned by digest
/// copied registry to registry. Base tags move on rebuild (unlike production tags); pipelines never
/// use the tag, they pin the digest it resolved to.
/// </summary>
public sealed partial class BaseImageWorkflow(OrchestratorServices services)
{
    private readonly ILogger<BaseImageWorkflow> _logger = services.Logger<BaseImageWorkflow>();

    /// <summary>The reference a base variant has in the first stage, tag only: <c>127.0.0.1:5001/base/debian-bookworm:slim</c>.</summary>
    public ImageReference TagReference(BaseImageDefinition image, BaseVariantDefinition variant) =>
        ImageReference.Create(services.Config.FirstStage.Registry.Host, image.Repository, variant.Name);

    /// <summary>
    /// The digest the variant's tag points at in the first stage, or null when it was never built.
    /// </summary>
    public async Task<ImageReference?> ResolveAsync(BaseImageDefinition image, BaseVariantDefinition variant, CancellationToken cancellationToken = default)
    {
        var registry = services.RegistryFor(services.Config.FirstStage);
        var descriptor = await registry.HeadManifestAsync(image.Repository, variant.Name, cancellationToken).ConfigureAwait(false);
        return descriptor is null ? null : TagReference(image, variant).WithDigest(descriptor.Digest);
    }

    /// <summary>Returns the variant's current digest in the first stage, building it first when it is missing.</summary>
    public async Task<BaseBuildResult> EnsureAsync(string baseAndVariant, CancellationToken cancellationToken = default)
    {
        var (image, variant) = services.Workspace.GetBaseVariant(baseAndVariant);
        var existing = await ResolveAsync(image, variant, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            services.Reporter.Step($"base {image.Name}/{variant.Name} is in {services.Config.FirstStage.Name}: {existing}");
            return new BaseBuildResult($"{image.Name}/{variant.Name}", existing, variant.Name, Built: false);
        }

        return await BuildAsync(baseAndVariant, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds <c>NAME[/VARIANT]</c> and pushes it to the first stage.</summary>
    /// <exception cref="InputException">No such base or variant.</exception>
    /// <exception cref="JobFailedException">debootstrap, the import, the push or the upstream copy failed.</exception>
    public async Task<BaseBuildResult> BuildAsync(string baseAndVariant, CancellationToken cancellationToken = default)
    {
        var (image, variant) = services.Workspace.GetBaseVariant(baseAndVariant);
        var subject = $"{image.Name}/{variant.Name}";
        var stage = services.Config.FirstStage;
        var started = Stopwatch.GetTimestamp();

        var reference = variant.From is null
            ? await BuildWithDebootstrapAsync(image, variant, cancellationToken).ConfigureAwait(false)
            : await CopyUpstreamAsync(image, variant, variant.From, cancellationToken).ConfigureAwait(false);

        var record = new BuildRecord(
            0, subject, "base", stage.Name, reference, [variant.Name], variant.Suite, BaseDigest: null,
            services.Actor.Actor, services.Time.GetUtcNow(), Stopwatch.GetElapsedTime(started));
        await services.State.RecordBuildAsync(record, cancellationToken).ConfigureAwait(false);
        LogBaseBuilt(subject, reference.Digest!);
        return new BaseBuildResult(subject, reference, variant.Name, Built: true);
    }

    private async Task<ImageReference> BuildWithDebootstrapAsync(BaseImageDefinition image, BaseVariantDefinition variant, CancellationToken cancellationToken)
    {
        var tagReference = TagReference(image, variant);
        services.Reporter.Step($"debootstrap {variant.Suite}{(variant.DebootstrapVariant is null ? string.Empty : $" --variant={variant.DebootstrapVariant}")}{(variant.Slim ? " (slim)" : string.Empty)}");
        Directory.CreateDirectory(services.Config.WorkDirectory);
        var rootfs = await services.Rootfs.BuildAsync(image, variant, services.Config.WorkDirectory, new ReporterOutput(services.Reporter), cancellationToken).ConfigureAwait(false);
        try
        {
            services.Reporter.Step($"importing {rootfs.SizeBytes / (1024 * 1024)} MiB root filesystem as {tagReference}");
            await using (var tar = File.OpenRead(rootfs.TarPath))
            {
                // The official Debian images start a shell by default; so do these.
                string[] changes = ["CMD [\"bash\"]", $"LABEL org.opencontainers.image.base.name=\"{image.Name}/{variant.Name}\" org.opencontainers.image.version=\"{variant.Suite}\""];
                await services.Engine.ImportImageAsync(tar, tagReference.Name, variant.Name, changes, new ReporterProgress(services.Reporter), cancellationToken).ConfigureAwait(false);
            }

            services.Reporter.Step($"pushing {tagReference}");
            var digest = await services.Engine.PushImageAsync(
                tagReference.Name, variant.Name, OrchestratorServices.CredentialsFor(services.Config.FirstStage.Registry), new ReporterProgress(services.Reporter), cancellationToken).ConfigureAwait(false);
            return tagReference.WithDigest(digest);
        }
        finally
        {
            TryDeleteScratch(rootfs.TarPath);
        }
    }

    private async Task<ImageReference> CopyUpstreamAsync(BaseImageDefinition image, BaseVariantDefinition variant, ImageReference from, CancellationToken cancellationToken)
    {
        var target = services.Config.FirstStage.Registry;
        services.Reporter.Step($"copying upstream {from} to {target.Host}/{image.Repository}");
        var request = new CopyRequest(RegistryEndpoint.ForHost(from.Registry!), from.Repository, from.Digest!, target, image.Repository, Tags: []);
        var plan = await services.Copier.PlanAsync(request, cancellationToken).ConfigureAwait(false);
        var copied = await services.Copier.CopyAsync(plan, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (copied.TargetDigest != from.Digest)
        {
            throw new DigestMismatchException($"{target.Host}/{image.Repository} reports {copied.TargetDigest} for the copy of {from}; the base was not tagged");
        }

        // The variant tag is a moving pointer to the current base, so it is set directly rather than
        // through the copier, whose tags never move.
        var registry = services.Registries.Create(target);
        var manifest = await registry.GetManifestAsync(image.Repository, copied.TargetDigest.ToString(), cancellationToken).ConfigureAwait(false);
        await registry.PutManifestAsync(image.Repository, variant.Name, manifest.Content, manifest.MediaType, cancellationToken).ConfigureAwait(false);
        return TagReference(image, variant).WithDigest(copied.TargetDigest);
    }

    // The builder's scratch folder (tar, debootstrap log) is only worth keeping when something failed.
    private void TryDeleteScratch(string tarPath)
    {
        try
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(tarPath));
            var work = Path.GetFullPath(services.Config.WorkDirectory);
            if (folder is not null && folder.StartsWith(work + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                Directory.Delete(folder, recursive: true);
            }
            else
            {
                File.Delete(tarPath);
            }
        }
        catch (IOException)
        {
            // Scratch space; a leftover file is not worth failing a finished build.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Base {Subject} built as {Digest}")]
    private partial void LogBaseBuilt(string subject, Digest digest);
}
