using System.Formats.Tar;
using System.Text.Json;

namespace Orchestrator.Core.Images;

/// <summary>
/// An image as the engine exports it (<c>GET /images/{name}/get</c>, the <c>docker save</c> format):
/// extracted to a folder, with its config and its layer tars (uncompressed, bottom first) as
/// <c>manifest.json</c> names them. Reads the legacy layout (<c>ID/layer.tar</c>) and the OCI layout
/// (<c>blobs/sha256/…</c>) engines from 25 on write, since both carry <c>manifest.json</c>.
/// </summary>
public sealed class SavedImage
{
    private SavedImage(JsonElement config, IReadOnlyList<string> layerPaths)
    {
        Config = config;
        LayerPaths = layerPaths;
    }

    /// <summary>The image config the engine wrote.</summary>
    public JsonElement Config { get; }

    /// <summary>The uncompressed layer tars, bottom first: one per entry of the config's <c>rootfs.diff_ids</c>.</summary>
    public IReadOnlyList<string> LayerPaths { get; }

    /// <summary>
    /// Extracts <paramref name="saveTar"/> into <paramref name="directory"/>, skipping layers whose sha256
    /// is in <paramref name="skipDiffIds"/> (the base's, already in the registry): they are hashed on the
    /// way and not kept, and their <see cref="LayerPaths"/> entry is empty.
    /// </summary>
    /// <exception cref="InvalidDataException">The archive has no <c>manifest.json</c>, names a file it lacks, or holds a path leaving the folder.</exception>
    public static async Task<SavedImage> ExtractAsync(Stream saveTar, string directory, IReadOnlySet<string>? skipDiffIds = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(saveTar);
        var root = Path.GetFullPath(directory);
        Directory.CreateDirectory(root);
        var skipped = new HashSet<string>(StringComparer.Ordinal);
        await using (var reader = new TarReader(saveTar, leaveOpen: true))
        {
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                {
                    continue;
                }

                var path = Path.GetFullPath(Path.Combine(root, entry.Name));
                if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"the engine's export holds '{entry.Name}', which points outside the folder it is extracted to");
                }

                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                string digest;
                await using (var file = File.Create(path))
                using (var hashing = new HashingWriteStream(file))
                {
                    if (entry.DataStream is { } data)
                    {
                        // An empty file has no data stream: it is still extracted (an empty layer is still a layer).
                        await data.CopyToAsync(hashing, cancellationToken).ConfigureAwait(false);
                    }

                    digest = hashing.GetDigest().ToString();
                }

                if (skipDiffIds is not null && skipDiffIds.Contains(digest) && entry.Length > 0)
                {
                    File.Delete(path);
                    skipped.Add(path);
                }
            }
        }

        var manifestPath = Path.Combine(root, "manifest.json");
        if (!File.Exists(manifestPath))
        {
            throw new InvalidDataException("the engine's export has no manifest.json: it is not a docker save archive");
        }

        using var manifest = JsonDocument.Parse(await File.ReadAllBytesAsync(manifestPath, cancellationToken).ConfigureAwait(false));
        var image = manifest.RootElement.EnumerateArray().FirstOrDefault();
        if (image.ValueKind != JsonValueKind.Object || image.GetProperty("Config").GetString() is not { } configName)
        {
            throw new InvalidDataException("the engine's manifest.json names no image config");
        }

        var configPath = Path.Combine(root, configName);
        if (!File.Exists(configPath))
        {
            throw new InvalidDataException($"the engine's export lacks the config {configName} its manifest.json names");
        }

        using var configDocument = JsonDocument.Parse(await File.ReadAllBytesAsync(configPath, cancellationToken).ConfigureAwait(false));
        var layers = image.GetProperty("Layers").EnumerateArray().Select(l => Path.GetFullPath(Path.Combine(root, l.GetString() ?? string.Empty))).ToList();
        var paths = layers.Select(p => skipped.Contains(p) ? string.Empty : File.Exists(p) ? p
            : throw new InvalidDataException($"the engine's export lacks the layer {Path.GetRelativePath(root, p)} its manifest.json names")).ToList();
        return new SavedImage(configDocument.RootElement.Clone(), paths);
    }
}
