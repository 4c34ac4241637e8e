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
    /// <exception cref="JobFailedException">The engine's export is unreadable, or its image does not start with the base's layers.</exception>
    public async Task<OciImage> NormalizeAsync(
        string imageId, ImageReference baseReference, long sourceDateEpoch, string scratch, IReadOnlyDictionary<string, string> annotations, CancellationToken cancellationToken = default)
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

        var options = new LayerNormalizationOptions { SourceDateEpoch = sourceDateEpoch, ScratchDirectory = scratch };
        for (var i = baseLayers.Count; i < saved.LayerPaths.Count; i++)
        {
            await using var tar = File.OpenRead(saved.LayerPaths[i]);
            layers.Add(await LayerBlob.WriteAsync(tar, Path.Combine(scratch, "blobs"), options, cancellationToken).ConfigureAwait(false));
        }

        Directory.Delete(exportPath, recursive: true);
        var config = ImageConfig.FromEngineBuild(saved.Config, baseConfig, layers.Select(l => l.DiffId).ToList(), DateTimeOffset.FromUnixTimeSeconds(sourceDateEpoch));
        return OciImage.Assemble(config, layers, annotations);
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
