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
public sealed partial class BaseImageWorkflow(
    IWorkspaceAccessor workspace,
    IRegistryClientFactory registries,
    IImageCopier copier,
    IStateStore state,
    IRootfsBuilder rootfsBuilder,
    IJobReporter reporter,
    TimeProvider time,
    IActorProvider actor,
    ILogger<BaseImageWorkflow> logger)
{
    private readonly ILogger<BaseImageWorkflow> _logger = logger;

    private OrchestratorConfig Config => workspace.Current.Config;

    /// <summary>The reference a base variant has in the first stage, tag only: <c>127.0.0.1:5001/base/debian-bookworm:slim</c>.</summary>
    public ImageReference TagReference(BaseImageDefinition image, BaseVariantDefinition variant) =>
        ImageReference.Create(Config.FirstStage.Registry.Host, image.Repository, variant.Name);

    /// <summary>
    /// The digest the variant's tag points at in the first stage, or null when it was never built.
    /// </summary>
    public async Task<ImageReference?> ResolveAsync(BaseImageDefinition image, BaseVariantDefinition variant, CancellationToken cancellationToken = default)
    {
        var registry = registries.Create(Config.FirstStage.Registry);
        var descriptor = await registry.HeadManifestAsync(image.Repository, variant.Name, cancellationToken).ConfigureAwait(false);
        return descriptor is null ? null : TagReference(image, variant).WithDigest(descriptor.Digest);
    }

    /// <summary>
    /// The <c>var/lib/dpkg/status.d</c> records of an image in the first stage (a distroless base, or an image on one), by
    /// file name, read from its layers through the registry (<see cref="Locks.DpkgStatusDirectory"/>).
    /// </summary>
    public Task<IReadOnlyDictionary<string, string>> ReadStatusRecordsAsync(ImageReference reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return Locks.DpkgStatusDirectory.ReadRecordsAsync(
            registries.Create(Config.FirstStage.Registry), reference.Repository, reference.Digest ?? throw new ArgumentException($"{reference} has no digest", nameof(reference)), cancellationToken);
    }

    /// <summary>Returns the variant's current digest in the first stage, building it first when it is missing.</summary>
    public async Task<BaseBuildResult> EnsureAsync(string baseAndVariant, CancellationToken cancellationToken = default)
    {
        var (image, variant) = workspace.Current.GetBaseVariant(baseAndVariant);
        var existing = await ResolveAsync(image, variant, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            reporter.Step($"base {image.Name}/{variant.Name} is in {Config.FirstStage.Name}: {existing}");
            return new BaseBuildResult($"{image.Name}/{variant.Name}", existing, variant.Name, Built: false);
        }

        return await BuildAsync(baseAndVariant, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds <c>NAME[/VARIANT]</c> and pushes it to the first stage.</summary>
    /// <exception cref="InputException">No such base or variant.</exception>
    /// <exception cref="JobFailedException">debootstrap, the import, the push or the upstream copy failed.</exception>
    public async Task<BaseBuildResult> BuildAsync(string baseAndVariant, CancellationToken cancellationToken = default)
    {
        var (image, variant) = workspace.Current.GetBaseVariant(baseAndVariant);
        var subject = $"{image.Name}/{variant.Name}";
        var stage = Config.FirstStage;
        var started = Stopwatch.GetTimestamp();

        var reference = variant.From is null
            ? await BuildWithDebootstrapAsync(image, variant, cancellationToken).ConfigureAwait(false)
            : await CopyUpstreamAsync(image, variant, variant.From, cancellationToken).ConfigureAwait(false);

        var record = new BuildRecord(
            0, subject, "base", stage.Name, reference, [variant.Name], variant.Suite, BaseDigest: null,
            actor.Actor, time.GetUtcNow(), Stopwatch.GetElapsedTime(started));
        await state.RecordBuildAsync(record, cancellationToken).ConfigureAwait(false);
        LogBaseBuilt(subject, reference.Digest!);
        return new BaseBuildResult(subject, reference, variant.Name, Built: true);
    }

    private async Task<ImageReference> BuildWithDebootstrapAsync(BaseImageDefinition image, BaseVariantDefinition variant, CancellationToken cancellationToken)
    {
        var tagReference = TagReference(image, variant);
        reporter.Step($"debootstrap {variant.Suite}{(variant.DebootstrapVariant is null ? string.Empty : $" --variant={variant.DebootstrapVariant}")}{(variant.Slim ? " (slim)" : string.Empty)}");
        Directory.CreateDirectory(Config.WorkDirectory);
        var rootfs = await rootfsBuilder.BuildAsync(image, variant, Config.WorkDirectory, new DebootstrapProgress(reporter), cancellationToken).ConfigureAwait(false);
        try
        {
            // The engine's import would date the image with its clock and compress with its own settings;
            // writing the layer and config here makes the same root filesystem give the same digest.
            var sourceDate = rootfs.SourceDateEpoch ?? time.GetUtcNow().ToUnixTimeSeconds();
            if (rootfs.SourceDateEpoch is null)
            {
                reporter.Step("the builder reported no Release date: dating the base with the clock, so its digest will not repeat");
            }

            reporter.Step($"writing the {ImageSize.Format(rootfs.SizeBytes)} root filesystem as one normalized layer (source date {Images.ImageConfig.Timestamp(DateTimeOffset.FromUnixTimeSeconds(sourceDate))})");
            var scratch = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(rootfs.TarPath))!, "image");
            Images.LayerBlob layer;
            await using (var tar = File.OpenRead(rootfs.TarPath))
            {
                layer = await Images.LayerBlob.WriteAsync(tar, scratch, new Images.LayerNormalizationOptions { SourceDateEpoch = sourceDate, ScratchDirectory = scratch }, cancellationToken).ConfigureAwait(false);
            }

            var created = DateTimeOffset.FromUnixTimeSeconds(sourceDate);
            var labels = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["org.opencontainers.image.base.name"] = $"{image.Name}/{variant.Name}",
                ["org.opencontainers.image.version"] = variant.Suite,
            };
            foreach (var (key, value) in ProvenanceLabels(rootfs, created))
            {
                labels[key] = value;
            }

            var config = new Images.ImageConfig
            {
                Architecture = Platforms.HostArchitecture,
                Created = created,
                Env = variant.Distroless
                    ? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"]
                    : ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                Cmd = variant.Distroless ? null : ["bash"], // as the official Debian images; distroless has no shell to run
                User = variant.Distroless ? DistrolessBase.NonRootUser : null, // as gcr.io/distroless's nonroot images
                WorkingDir = variant.Distroless ? "/home/nonroot" : null,
                Labels = labels,
                DiffIds = [layer.DiffId],
                History = [new Images.ImageHistory(created, $"orchestrator base build {image.Name}/{variant.Name}: debootstrap {DescribeDebootstrap(variant)} {rootfs.Suite} {rootfs.Mirror}", null, false)],
            };
            var built = Images.OciImage.Assemble(config, [layer]);
            reporter.Step($"pushing {tagReference} as {built.Digest.ToShortString()}");
            var digest = await Images.ImagePublisher.PublishAsync(
                registries.Create(Config.FirstStage.Registry), image.Repository, built, [variant.Name], baseRepository: null, cancellationToken).ConfigureAwait(false);
            await WritePackageListAsync(image, variant, digest, rootfs, cancellationToken).ConfigureAwait(false);
            reporter.Step(
                $"base built from {rootfs.Suite} on {rootfs.Mirror} " +
                (rootfs.Packages.Count == 0 ? "(package set not reported by the builder)" : $"({rootfs.Packages.Count} packages, packages {PackageListDigest(rootfs.Packages)})"));
            return tagReference.WithDigest(digest);
        }
        finally
        {
            TryDeleteScratch(rootfs.TarPath);
        }
    }

    private async Task<ImageReference> CopyUpstreamAsync(BaseImageDefinition image, BaseVariantDefinition variant, ImageReference from, CancellationToken cancellationToken)
    {
        var target = Config.FirstStage.Registry;
        reporter.Step($"copying upstream {from} to {target.Host}/{image.Repository}");
        var request = new CopyRequest(RegistryEndpoint.ForHost(from.Registry!), from.Repository, from.Digest!, target, image.Repository, Tags: []);
        var plan = await copier.PlanAsync(request, cancellationToken).ConfigureAwait(false);
        var copied = await copier.CopyAsync(plan, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (copied.TargetDigest != from.Digest)
        {
            throw new DigestMismatchException($"{target.Host}/{image.Repository} reports {copied.TargetDigest} for the copy of {from}; the base was not tagged");
        }

        // The variant tag is a moving pointer to the current base, so it is set directly rather than
        // through the copier, whose tags never move.
        var registry = registries.Create(target);
        var manifest = await registry.GetManifestAsync(image.Repository, copied.TargetDigest.ToString(), cancellationToken).ConfigureAwait(false);
        await registry.PutManifestAsync(image.Repository, variant.Name, manifest.Content, manifest.MediaType, cancellationToken).ConfigureAwait(false);
        return TagReference(image, variant).WithDigest(copied.TargetDigest);
    }

    /// <summary>
    /// The package list as written to the state folder: one <c>NAME VERSION ARCH</c> line per package
    /// in the builder's order (sorted), each ending in <c>\n</c>, UTF-8.
    /// </summary>
    internal static string PackageListText(IReadOnlyList<Locks.InstalledPackage> packages) =>
        string.Concat(packages.Select(p => p + "\n"));

    /// <summary>sha256 of <see cref="PackageListText"/>, so <c>sha256sum</c> of the written list matches the image label.</summary>
    internal static Digest PackageListDigest(IReadOnlyList<Locks.InstalledPackage> packages) =>
        Digest.Sha256Of(System.Text.Encoding.UTF8.GetBytes(PackageListText(packages)));

    /// <summary>
    /// The labels recording what the root filesystem was built from:
    /// <c>io.orchestrator.base.{suite,mirror,security-mirror,snapshot,variant,packages-sha256}</c> and
    /// <c>org.opencontainers.image.created</c> (RFC 3339, UTC: the source date). <c>snapshot</c> is written only for a
    /// snapshot build, <c>packages-sha256</c> only when the builder reported packages; <c>variant</c>
    /// is debootstrap's <c>--variant</c>, <c>default</c> when none was given.
    /// </summary>
    internal static IReadOnlyList<KeyValuePair<string, string>> ProvenanceLabels(RootfsArchive rootfs, DateTimeOffset created)
    {
        var labels = new List<KeyValuePair<string, string>>
        {
            new("io.orchestrator.base.suite", rootfs.Suite),
            new("io.orchestrator.base.mirror", rootfs.Mirror),
            new("io.orchestrator.base.security-mirror", rootfs.SecurityMirror),
        };
        if (rootfs.Snapshot is not null)
        {
            labels.Add(new("io.orchestrator.base.snapshot", rootfs.Snapshot));
        }

        labels.Add(new("io.orchestrator.base.variant", rootfs.DebootstrapVariant ?? "default"));
        if (rootfs.Packages.Count > 0)
        {
            labels.Add(new("io.orchestrator.base.packages-sha256", PackageListDigest(rootfs.Packages).ToString()));
        }

        labels.Add(new("org.opencontainers.image.created", Images.ImageConfig.Timestamp(created)));
        return labels;
    }

    private static string DescribeDebootstrap(BaseVariantDefinition variant) =>
        (variant.DebootstrapVariant is null ? string.Empty : $"--variant={variant.DebootstrapVariant}") + (variant.Slim ? " (slim)" : string.Empty)
        + (variant.Distroless ? " (distroless)" : string.Empty);

    // Kept beside the state so two builds' package sets can be diffed after their trees are gone.
    private async Task WritePackageListAsync(BaseImageDefinition image, BaseVariantDefinition variant, Digest digest, RootfsArchive rootfs, CancellationToken cancellationToken)
    {
        if (rootfs.Packages.Count == 0)
        {
            return;
        }

        var folder = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(Config.StatePath))!, "bases");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"{image.Name}-{variant.Name}-{digest.Encoded[..12]}.packages.txt");
        await File.WriteAllTextAsync(path, PackageListText(rootfs.Packages), new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), cancellationToken).ConfigureAwait(false);
        LogPackageListWritten($"{image.Name}/{variant.Name}", digest, path);
    }

    // The builder's scratch folder (tar, debootstrap log) is only worth keeping when something failed.
    private void TryDeleteScratch(string tarPath)
    {
        try
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(tarPath));
            var work = Path.GetFullPath(Config.WorkDirectory);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Package list of {Subject} {Digest} written to {Path}")]
    private partial void LogPackageListWritten(string subject, Digest digest, string path);
}
