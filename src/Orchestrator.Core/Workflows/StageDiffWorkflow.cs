using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;
using Orchestrator.Core.Signing;

namespace Orchestrator.Core.Workflows;

/// <summary>What one stage's registry serves of a pipeline, read from the registry itself.</summary>
/// <param name="Stage">The stage.</param>
/// <param name="Reference">The digest-pinned reference there.</param>
/// <param name="SizeBytes">Compressed size (manifest layers plus config, bytes), or null for an image index or an unreadable manifest.</param>
/// <param name="BaseName">The <c>org.opencontainers.image.base.name</c> label (<c>host/base/debian-bookworm:slim</c>), or null.</param>
/// <param name="BaseDigest">The <c>org.opencontainers.image.base.digest</c> label, or null.</param>
/// <param name="Packages">The packages the SBOM attached to the digest lists, or null when there is none (see <paramref name="SbomProblem"/>).</param>
/// <param name="SbomProblem">Why <paramref name="Packages"/> is null, for people; null when it is not.</param>
/// <param name="Signed">True when the registry has cosign's <c>sha256-HEX.sig</c> tag for the digest.</param>
public sealed record StageImage(
    string Stage,
    ImageReference Reference,
    long? SizeBytes,
    string? BaseName,
    Digest? BaseDigest,
    SbomPackages? Packages,
    string? SbomProblem,
    bool Signed)
{
    public Digest Digest => Reference.Digest!;
}

/// <summary>
/// What promoting <see cref="From"/>'s digest to <see cref="To"/> would change there: <see cref="ToImage"/> is what
/// <see cref="To"/> serves now (null: nothing yet), <see cref="FromImage"/> what it would serve after (null: nothing to
/// promote). Package changes go from the target's packages to the source's (an added package is one the source has and
/// the target lacks); they are null when either side's SBOM could not be read, and compare against no packages when the
/// target holds nothing.
/// </summary>
public sealed record StageDiff(string Pipeline, string From, string To, StageImage? FromImage, StageImage? ToImage)
{
    /// <summary>True when both stages serve the same digest: a promotion changes nothing.</summary>
    public bool SameDigest => FromImage is not null && ToImage is not null && FromImage.Digest == ToImage.Digest;

    /// <summary>The Debian package changes, or null when they cannot be told.</summary>
    public PackageDiff? Apt => Packages is { } p ? PackageDiff.OfApt(p.Before.Apt, p.After.Apt) : null;

    /// <summary>The Python package changes, or null when they cannot be told.</summary>
    public PackageDiff? Python => Packages is { } p ? PackageDiff.OfPython(p.Before.Python, p.After.Python) : null;

    /// <summary>Size after minus size before, in bytes (before is 0 when the target is empty); null when a size is unknown.</summary>
    public long? SizeChangeBytes => FromImage?.SizeBytes is { } after && (ToImage is null ? 0 : ToImage.SizeBytes) is { } before ? after - before : null;

    /// <summary><see cref="SizeChangeBytes"/> as a percentage of the size before, one decimal; null when there is no size before.</summary>
    public double? SizeChangePercent =>
        SizeChangeBytes is { } change && ToImage?.SizeBytes is { } before && before > 0 ? Math.Round(change * 100.0 / before, 1) : null;

    /// <summary>True when both sides name their base and the name or the digest differs.</summary>
    public bool BaseChanged =>
        FromImage is not null && ToImage is not null
        && (FromImage.BaseDigest is not null || FromImage.BaseName is not null)
        && (FromImage.BaseDigest != ToImage.BaseDigest || !string.Equals(FromImage.BaseName, ToImage.BaseName, StringComparison.Ordinal));

    private (SbomPackages Before, SbomPackages After)? Packages =>
        FromImage?.Packages is not { } after ? null
        : ToImage is null ? (SbomPackages.Empty, after)
        : ToImage.Packages is { } before ? (before, after)
        : null;
}

/// <summary>
/// Compares what two stages serve of a pipeline (issue 15 "what a promotion would change"): the digest in each (from the
/// records, else the registry's tags, as <see cref="ReleaseWorkflow.GetStatusAsync"/> finds it), its size from the
/// manifest, its base from the config's labels, its packages from the SPDX SBOM attached to the digest as a referrer
/// (OCI distribution spec 1.1 "Listing Referrers", or the fallback tag), and whether cosign's signature tag exists.
/// Reads only.
/// </summary>
public sealed class StageDiffWorkflow(IWorkspaceAccessor workspace, IRegistryClientFactory registries, ReleaseWorkflow releases)
{
    /// <summary>The largest SBOM or config blob read, in bytes: a document beyond it is reported, not read.</summary>
    public const int MaxDocumentBytes = 32 * 1024 * 1024;

    /// <summary>Compares <paramref name="from"/> (the stage a promotion copies from) with <paramref name="to"/> (where it lands).</summary>
    /// <exception cref="InputException">An unknown pipeline or stage, or the same stage twice.</exception>
    /// <exception cref="JobFailedException">A registry failed or served a manifest that does not hash to its digest.</exception>
    public async Task<StageDiff> CompareAsync(string pipeline, string from, string to, CancellationToken cancellationToken = default)
    {
        var definition = workspace.Current.GetPipeline(pipeline);
        var config = workspace.Current.Config;
        var source = config.FindStage(from) ?? throw UnknownStage(from, config);
        var target = config.FindStage(to) ?? throw UnknownStage(to, config);
        if (source == target)
        {
            throw new InputException($"'from' and 'to' are both '{from}': name two different stages, e.g. from={config.Stages[0].Name}&to={config.Stages[^1].Name}");
        }

        var status = (await releases.GetStatusAsync(definition.Name, askRegistries: true, cancellationToken).ConfigureAwait(false)).Single();
        var fromImage = await ReadAsync(source, status.Stages.Single(s => s.Stage == source.Name).Reference, cancellationToken).ConfigureAwait(false);
        var toImage = await ReadAsync(target, status.Stages.Single(s => s.Stage == target.Name).Reference, cancellationToken).ConfigureAwait(false);
        return new StageDiff(definition.Name, source.Name, target.Name, fromImage, toImage);
    }

    /// <summary>The size and signature of <paramref name="digest"/> in <paramref name="repository"/>: what the matrix shows per cell.</summary>
    /// <returns>Compressed bytes (null for an index or an unreadable manifest) and whether <c>sha256-HEX.sig</c> exists.</returns>
    public static async Task<(long? SizeBytes, bool Signed)> SizeAndSignatureAsync(IRegistryClient registry, string repository, Digest digest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(digest);
        var size = await ImageSizes.TryTotalAsync(registry, repository, digest.ToString(), cancellationToken).ConfigureAwait(false);
        var signed = await registry.HeadManifestAsync(repository, CosignSignatureManifest.TagFor(digest), cancellationToken).ConfigureAwait(false) is not null;
        return (size, signed);
    }

    private async Task<StageImage?> ReadAsync(StageDefinition stage, ImageReference? reference, CancellationToken cancellationToken)
    {
        if (reference?.Digest is not { } digest)
        {
            return null;
        }

        var registry = registries.Create(stage.Registry);
        var manifest = await registry.GetManifestAsync(reference.Repository, digest.ToString(), cancellationToken).ConfigureAwait(false);
        long? size = null;
        string? baseName = null;
        Digest? baseDigest = null;
        if (!MediaTypes.IsIndex(manifest.MediaType))
        {
            try
            {
                size = ImageSizes.Parse(manifest.Content.Span, reference.ToString()).TotalBytes;
                (baseName, baseDigest) = await BaseOfAsync(registry, reference.Repository, manifest, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is JobFailedException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                // A manifest without the parts read here still has a digest and an SBOM worth comparing.
            }
        }

        var (packages, problem) = await PackagesOfAsync(registry, reference.Repository, digest, cancellationToken).ConfigureAwait(false);
        var signed = await registry.HeadManifestAsync(reference.Repository, CosignSignatureManifest.TagFor(digest), cancellationToken).ConfigureAwait(false) is not null;
        return new StageImage(stage.Name, reference, size, baseName, baseDigest, packages, problem, signed);
    }

    private static async Task<(string? Name, Digest? Digest)> BaseOfAsync(IRegistryClient registry, string repository, ManifestContent manifest, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(manifest.Content);
        if (!document.RootElement.TryGetProperty("config", out var descriptor) || descriptor.GetProperty("digest").GetString() is not { } text)
        {
            return (null, null);
        }

        var config = await ReadBlobAsync(registry, repository, Digest.Parse(text), cancellationToken).ConfigureAwait(false);
        using var parsed = JsonDocument.Parse(config);
        if (!parsed.RootElement.TryGetProperty("config", out var runtime) || runtime.ValueKind != JsonValueKind.Object
            || !runtime.TryGetProperty("Labels", out var labels) || labels.ValueKind != JsonValueKind.Object)
        {
            return (null, null);
        }

        var name = labels.TryGetProperty(PipelineBuildWorkflow.Labels.BaseName, out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        var digest = labels.TryGetProperty(PipelineBuildWorkflow.Labels.BaseDigest, out var d) && d.ValueKind == JsonValueKind.String
            && Digest.TryParse(d.GetString(), out var parsedDigest, out _) ? parsedDigest : null;
        return (name, digest);
    }

    // The newest SPDX referrer (the fallback index appends, so the last one listed), its one layer, parsed.
    private static async Task<(SbomPackages? Packages, string? Problem)> PackagesOfAsync(IRegistryClient registry, string repository, Digest digest, CancellationToken cancellationToken)
    {
        var where = $"{registry.Endpoint.Host}/{repository}@{digest.ToShortString()}";
        Referrer? referrer = null;
        try
        {
            referrer = (await registry.ListReferrersAsync(repository, digest, cancellationToken).ConfigureAwait(false))
                .LastOrDefault(r => r.ArtifactType == SpdxDocument.MediaType);
            if (referrer is null)
            {
                return (null, $"{where} has no SPDX SBOM attached (builds attach one; an image pushed another way has none)");
            }

            var manifest = await registry.GetManifestAsync(repository, referrer.Digest.ToString(), cancellationToken).ConfigureAwait(false);
            using var document = JsonDocument.Parse(manifest.Content);
            var layer = document.RootElement.GetProperty("layers").EnumerateArray()
                .FirstOrDefault(l => l.TryGetProperty("mediaType", out var type) && type.GetString() == SpdxDocument.MediaType);
            if (layer.ValueKind != JsonValueKind.Object)
            {
                return (null, $"the SBOM {referrer.Digest.ToShortString()} of {where} has no {SpdxDocument.MediaType} layer");
            }

            var content = await ReadBlobAsync(registry, repository, Digest.Parse(layer.GetProperty("digest").GetString()!), cancellationToken).ConfigureAwait(false);
            return (SbomPackages.Read(content), null);
        }
        catch (Exception ex) when (ex is JobFailedException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return (null, $"the SBOM {referrer?.Digest.ToShortString() ?? "referrers"} of {where} could not be read: {ex.Message}");
        }
    }

    // At most MaxDocumentBytes, verified against its digest: a registry serving other bytes is not believed.
    private static async Task<byte[]> ReadBlobAsync(IRegistryClient registry, string repository, Digest digest, CancellationToken cancellationToken)
    {
        var stream = await registry.OpenBlobAsync(repository, digest, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int count;
            while ((count = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + count > MaxDocumentBytes)
                {
                    throw new JobFailedException($"blob {digest.ToShortString()} in {repository} is larger than {MaxDocumentBytes / (1024 * 1024)} MiB, too large for a document");
                }

                buffer.Write(chunk, 0, count);
            }

            var content = buffer.ToArray();
            if (!digest.Matches(content))
            {
                throw new DigestMismatchException($"{registry.Endpoint.Host}/{repository} served blob {digest} with bytes that hash to {Digest.Sha256Of(content)}");
            }

            return content;
        }
    }

    private static InputException UnknownStage(string name, OrchestratorConfig config) =>
        new($"no stage named '{name}'; stages: {string.Join(", ", config.Stages.Select(s => s.Name))}");
}
