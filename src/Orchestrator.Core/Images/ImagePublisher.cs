using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Images;

/// <summary>
/// Pushes an <see cref="OciImage"/> through the distribution API (OCI distribution spec, "Push"):
/// each blob only when the repository lacks it (<c>HEAD</c> first), base layers mounted from the base's
/// repository, the manifest by digest and then under each tag, each answer's digest checked.
/// </summary>
public static class ImagePublisher
{
    /// <summary>Pushes <paramref name="image"/> to <paramref name="repository"/> and sets <paramref name="tags"/> on it.</summary>
    /// <param name="registry">The target registry.</param>
    /// <param name="repository">The target repository.</param>
    /// <param name="image">The image; its layers without a blob file must be in <paramref name="baseRepository"/>.</param>
    /// <param name="tags">Tags to point at the image (they may move: this is a build's first stage).</param>
    /// <param name="baseRepository">Where base layers come from, in the same registry; null when every layer has a file.</param>
    /// <param name="cancellationToken">Cancels the push.</param>
    /// <param name="progress">Told each layer's bytes as they are uploaded (and a mounted layer's size at once); null for none.</param>
    /// <returns>The image's digest, as the registry confirmed it.</returns>
    /// <exception cref="DigestMismatchException">The registry stored the manifest under another digest.</exception>
    /// <exception cref="RegistryException">The registry refused a blob or the manifest.</exception>
    public static async Task<Digest> PublishAsync(
        IRegistryClient registry, string repository, OciImage image, IReadOnlyList<string> tags, string? baseRepository, CancellationToken cancellationToken = default,
        IProgress<CopyProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(image);
        foreach (var layer in image.Layers)
        {
            if (await registry.HeadBlobAsync(repository, layer.Descriptor.Digest, cancellationToken).ConfigureAwait(false) is not null)
            {
                continue;
            }

            if (layer.BlobPath is { } path)
            {
                await using var file = ProgressReadStream.Wrap(File.OpenRead(path), layer.Descriptor, progress);
                await registry.UploadBlobAsync(repository, layer.Descriptor.Digest, layer.Descriptor.Size, file, cancellationToken).ConfigureAwait(false);
            }
            else if (baseRepository is null)
            {
                throw new ArgumentException($"layer {layer.Descriptor.Digest} has no blob file and no base repository to mount it from", nameof(baseRepository));
            }
            else if (await registry.MountBlobAsync(repository, layer.Descriptor.Digest, baseRepository, cancellationToken).ConfigureAwait(false))
            {
                progress?.Report(new CopyProgress(layer.Descriptor.Digest, layer.Descriptor.Size, layer.Descriptor.Size));
            }
            else
            {
                // A registry that does not mount still serves the blob: stream it across.
                await using var blob = ProgressReadStream.Wrap(
                    await registry.OpenBlobAsync(baseRepository, layer.Descriptor.Digest, cancellationToken).ConfigureAwait(false), layer.Descriptor, progress);
                await registry.UploadBlobAsync(repository, layer.Descriptor.Digest, layer.Descriptor.Size, blob, cancellationToken).ConfigureAwait(false);
            }
        }

        if (await registry.HeadBlobAsync(repository, image.ConfigDescriptor.Digest, cancellationToken).ConfigureAwait(false) is null)
        {
            using var config = new MemoryStream(image.ConfigJson, writable: false);
            await registry.UploadBlobAsync(repository, image.ConfigDescriptor.Digest, image.ConfigJson.Length, config, cancellationToken).ConfigureAwait(false);
        }

        foreach (var reference in new[] { image.Digest.ToString() }.Concat(tags))
        {
            var stored = await registry.PutManifestAsync(repository, reference, image.ManifestJson, MediaTypes.OciManifest, cancellationToken).ConfigureAwait(false);
            if (stored != image.Digest)
            {
                throw new DigestMismatchException(
                    $"{repository}:{reference} was stored as {stored}, but the manifest written hashes to {image.Digest}; the registry rewrote it. Nothing else was tagged; check the registry's version.");
            }
        }

        return image.Digest;
    }
}
