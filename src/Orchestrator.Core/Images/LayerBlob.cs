using System.IO.Compression;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Images;

/// <summary>
/// A layer of an image Orchestrator writes itself: its uncompressed digest (the config's
/// <c>rootfs.diff_ids</c> entry), its descriptor in the manifest, and, for a layer made here, the
/// compressed blob on disk and the entries it holds.
/// </summary>
/// <param name="DiffId">sha256 of the uncompressed tar.</param>
/// <param name="Descriptor">Media type, digest and size of the blob as the registry stores it.</param>
/// <param name="BlobPath">The gzip blob on disk; null for a layer taken from the base, which is already in the registry.</param>
/// <param name="Files">The entries written, in order; null for a base layer.</param>
public sealed record LayerBlob(Digest DiffId, Descriptor Descriptor, string? BlobPath, IReadOnlyList<LayerFile>? Files)
{
    /// <summary>
    /// Normalizes the uncompressed layer tar <paramref name="tar"/> (<see cref="LayerNormalizer"/>), gzips
    /// it and writes it to <paramref name="blobDirectory"/> as <c>sha256-HEX.tar.gz</c>, hashing both forms
    /// on the way: one pass, memory flat in the layer's size.
    /// </summary>
    /// <exception cref="InvalidDataException">The input is not a readable tar.</exception>
    public static async Task<LayerBlob> WriteAsync(Stream tar, string blobDirectory, LayerNormalizationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tar);
        Directory.CreateDirectory(blobDirectory);
        var partial = Path.Combine(blobDirectory, $"partial-{Guid.NewGuid():N}");
        try
        {
            Digest diffId, digest;
            long size;
            IReadOnlyList<LayerFile> files;
            await using (var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                using var compressed = new HashingWriteStream(file);
                using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
                {
                    using var uncompressed = new HashingWriteStream(gzip);
                    files = await LayerNormalizer.NormalizeAsync(tar, uncompressed, options, cancellationToken).ConfigureAwait(false);
                    diffId = uncompressed.GetDigest();
                }

                digest = compressed.GetDigest();
                size = compressed.BytesWritten;
            }

            var path = Path.Combine(blobDirectory, $"{digest.Algorithm}-{digest.Encoded}.tar.gz");
            File.Move(partial, path, overwrite: true);
            return new LayerBlob(diffId, new Descriptor(MediaTypes.OciLayerGzip, digest, size), path, files);
        }
        finally
        {
            File.Delete(partial);
        }
    }
}
