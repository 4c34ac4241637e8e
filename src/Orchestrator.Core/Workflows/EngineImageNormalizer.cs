using System.IO.Pipelines;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Images;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// Turns an image the engine built on a base into an <see cref="OciImage"/> whose digest depends only on
/// its inputs: the base's layers as the registry has them, every layer the build added normalized
/// (<see cref="LayerNormalizer"/>), and a config written here (<see cref="ImageConfig.FromEngineBuild"/>)
/// dated the source date. The engine's own image config and compression are not deterministic (its
/// config carries the build clock and container ids), so they never reach the registry, as with Jib and ko.
/// </summary>
public sealed class EngineImageNormalizer(IWorkspaceAccessor workspace, IDockerEngine engine, IRegistryClientFactory registries)
{
    private OrchestratorConfig Config => workspace.Current.Config;

    /// <summary>Exports <paramref name="imageId"/> from the engine and writes its normalized form under <paramref name="scratch"/>.</summary>
    /// <param name="imageId">The engine's image id (or a local name).</param>
    /// <param name="baseReference">The base it was built <c>FROM</c>, by digest, in the first stage.</param>
    /// <param name="sourceDateEpoch">Seconds since the Unix epoch: the clamp for every time in the new layers and the config.</param>
    /// <param name="scratch">A folder for the export and the layer blobs; the caller deletes it.</param>
    /// <param name="annotations">Manifest annotations (OCI <c>annotations.md</c> keys).</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <param name="dropStagingLayer">
    /// The first layer the build added is the package cache's staging layer (the <c>.deb</c>s copied into
    /// <see cref="BuildContext.DebStagingFolder"/>, removed by the next layer's install): leave it, its history entry and
    /// the whiteouts of its files out, so no <c>.deb</c> ships and nothing says it was there.
    /// </param>
    /// <exception cref="JobFailedException">The engine's export is unreadable, or its image does not start with the base's layers, or the staging layer holds anything but <c>.deb</c>s.</exception>
    public async Task<OciImage> NormalizeAsync(
        string imageId, ImageReference baseReference, long sourceDateEpoch, string scratch, IReadOnlyDictionary<string, string> annotations, CancellationToken cancellationToken = default,
        bool dropStagingLayer = false)
    {
        var registry = registries.Create(Config.FirstStage.Registry);
        var (baseLayers, baseConfig) = await ReadBaseAsync(registry, baseReference, cancellationToken).ConfigureAwait(false);
        var baseDiffIds = ImageConfig.ReadDiffIds(baseConfig);
        if (baseDiffIds.Count != baseLayers.Count)
        {
            throw new JobFailedException($"base {baseReference} lists {baseLayers.Count} layers but {baseDiffIds.Count} diff ids; rebuild the base with 'orchestrator base build'");
        }

        var exportPath = Path.Combine(scratch, "export");
        SavedImage saved;
        try
        {
            saved = await ExportAsync(imageId, exportPath, baseDiffIds.Select(d => d.ToString()).ToHashSet(StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new JobFailedException(
                $"the engine's export of {imageId} is not a readable image ({ex.Message}); remove it ('docker rmi {imageId}') and build again", ex);
        }

        var engineDiffIds = ImageConfig.ReadDiffIds(saved.Config);
        if (engineDiffIds.Count < baseDiffIds.Count || !engineDiffIds.Take(baseDiffIds.Count).SequenceEqual(baseDiffIds) || saved.LayerPaths.Count != engineDiffIds.Count)
        {
            throw new JobFailedException(
                $"the engine's image {imageId} does not start with the layers of its base {baseReference}; remove it ('docker rmi {imageId}') and build again");
        }

        var layers = new List<LayerBlob>();
        for (var i = 0; i < baseLayers.Count; i++)
        {
            layers.Add(new LayerBlob(baseDiffIds[i], baseLayers[i], null, null));
        }

        var firstNew = baseLayers.Count;
        IReadOnlySet<string>? droppedWhiteouts = null;
        if (dropStagingLayer)
        {
            if (saved.LayerPaths.Count <= firstNew + 1)
            {
                throw new JobFailedException($"the engine's image {imageId} has no package staging layer followed by an install; build again with --no-cache");
            }

            droppedWhiteouts = await StagedWhiteoutsAsync(saved.LayerPaths[firstNew], imageId, cancellationToken).ConfigureAwait(false);
            firstNew++;
        }

        var options = new LayerNormalizationOptions { SourceDateEpoch = sourceDateEpoch, ScratchDirectory = scratch, DroppedWhiteouts = droppedWhiteouts };
        for (var i = firstNew; i < saved.LayerPaths.Count; i++)
        {
            await using var tar = File.OpenRead(saved.LayerPaths[i]);
            layers.Add(await LayerBlob.WriteAsync(tar, Path.Combine(scratch, "blobs"), options, cancellationToken).ConfigureAwait(false));
        }

        Directory.Delete(exportPath, recursive: true);
        var config = ImageConfig.FromEngineBuild(
            saved.Config, baseConfig, layers.Select(l => l.DiffId).ToList(), DateTimeOffset.FromUnixTimeSeconds(sourceDateEpoch), dropStagingLayer);
        return OciImage.Assemble(config, layers, annotations);
    }

    // The staging layer may hold only .debs in apt's archive folder (and that folder's parents); the whiteouts the install
    // layer writes for them (apt-get clean deletes them) name files no image layer keeps, so they are dropped too.
    private static async Task<IReadOnlySet<string>> StagedWhiteoutsAsync(string layerPath, string imageId, CancellationToken cancellationToken)
    {
        var staging = BuildContext.DebStagingFolder.TrimStart('/');
        var whiteouts = new HashSet<string>(StringComparer.Ordinal);
        await using var tar = File.OpenRead(layerPath);
        var reader = new PosixTarReader(tar);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } entry)
        {
            var name = LayerNormalizer.NormalizeName(entry.Name, entry.Type is System.Formats.Tar.TarEntryType.Directory);
            if (name.Length == 0 || (entry.Type is System.Formats.Tar.TarEntryType.Directory && staging.StartsWith(name, StringComparison.Ordinal)))
            {
                continue;
            }

            if (entry.Type is not System.Formats.Tar.TarEntryType.RegularFile || !name.StartsWith(staging, StringComparison.Ordinal)
                || name.IndexOf('/', staging.Length) >= 0 || !name.EndsWith(".deb", StringComparison.Ordinal))
            {
                throw new JobFailedException(
                    $"the package staging layer of {imageId} holds {name}, not only .debs in {BuildContext.DebStagingFolder}; remove the image ('docker rmi {imageId}') and build again");
            }

            whiteouts.Add(staging + ".wh." + name[staging.Length..]);
        }

        return whiteouts;
    }

    // The export streams straight into the extraction through a pipe, so the image (hundreds of MB on the full
    // base) is not written to disk once as a tar and again as files. When one side fails the other is stopped,
    // and the engine's error wins: a broken export is what makes the tar unreadable.
    private async Task<SavedImage> ExportAsync(string imageId, string folder, IReadOnlySet<string> skipDiffIds, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pipe = new Pipe();
        var export = Task.Run(
            async () =>
            {
                Exception? failure = null;
                try
                {
                    await using var writer = pipe.Writer.AsStream(leaveOpen: true);
                    await engine.SaveImageAsync(imageId, writer, stop.Token).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    failure = ex;
                    throw;
                }
                finally
                {
                    await pipe.Writer.CompleteAsync(failure).ConfigureAwait(false);
                }
            },
            CancellationToken.None);
        try
        {
            await using var reader = pipe.Reader.AsStream(leaveOpen: true);
            var saved = await SavedImage.ExtractAsync(reader, folder, skipDiffIds, stop.Token).ConfigureAwait(false);
            await pipe.Reader.CompleteAsync().ConfigureAwait(false);
            await export.ConfigureAwait(false);
            return saved;
        }
        catch
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await pipe.Reader.CompleteAsync().ConfigureAwait(false);
            try
            {
                await export.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Stopped because the extraction failed: that failure is the one to report.
            }

            throw;
        }
    }

    /// <summary>The base's layer descriptors and config, for this machine's platform when the base is an index.</summary>
    internal static async Task<(IReadOnlyList<Descriptor> Layers, JsonElement Config)> ReadBaseAsync(IRegistryClient registry, ImageReference baseReference, CancellationToken cancellationToken)
    {
        var manifest = await registry.GetManifestAsync(baseReference.Repository, baseReference.Digest!.ToString(), cancellationToken).ConfigureAwait(false);
        if (manifest.MediaType is MediaTypes.OciIndex or MediaTypes.DockerManifestList)
        {
            var child = SelectPlatform(manifest.Content.ToArray(), Platforms.HostArchitecture)
                ?? throw new JobFailedException($"base {baseReference} is an index with no linux/{Platforms.HostArchitecture} image");
            manifest = await registry.GetManifestAsync(baseReference.Repository, child.ToString(), cancellationToken).ConfigureAwait(false);
        }

        var (configDescriptor, layers) = OciImage.ReadManifest(manifest.Content.Span);
        await using var blob = await registry.OpenBlobAsync(baseReference.Repository, configDescriptor.Digest, cancellationToken).ConfigureAwait(false);
        using var document = await JsonDocument.ParseAsync(blob, cancellationToken: cancellationToken).ConfigureAwait(false);
        return (layers, document.RootElement.Clone());
    }

    private static Digest? SelectPlatform(byte[] index, string architecture)
    {
        using var document = JsonDocument.Parse(index);
        foreach (var child in document.RootElement.GetProperty("manifests").EnumerateArray())
        {
            if (child.TryGetProperty("platform", out var platform)
                && platform.TryGetProperty("os", out var os) && os.GetString() == "linux"
                && platform.TryGetProperty("architecture", out var arch) && arch.GetString() == architecture)
            {
                return Digest.Parse(child.GetProperty("digest").GetString()!);
            }
        }

        return null;
    }
}

/// <summary>The machine's platform in the image spec's words.</summary>
internal static class Platforms
{
    /// <summary>GOARCH-style architecture of this machine: <c>amd64</c>, <c>arm64</c>, …</summary>
    public static string HostArchitecture => System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "amd64",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        System.Runtime.InteropServices.Architecture.X86 => "386",
        System.Runtime.InteropServices.Architecture.S390x => "s390x",
        System.Runtime.InteropServices.Architecture.Ppc64le => "ppc64le",
        var other => other.ToString().ToLowerInvariant(),
    };
}
