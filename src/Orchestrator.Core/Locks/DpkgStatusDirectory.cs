using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Locks;

/// <summary>
/// The dpkg records of a distroless image, <c>var/lib/dpkg/status.d/PACKAGE</c> (one dpkg status paragraph per file, as
/// gcr.io/distroless writes them and syft and trivy read them), read from the image's layers in a registry: a distroless
/// image has no dpkg-query to ask, and nothing is started to read them.
/// </summary>
public static class DpkgStatusDirectory
{
    // Relationship fields of a distroless record: its packages were unpacked without their maintainer-time dependencies.
    private static readonly string[] RelationshipFields = ["Depends", "Pre-Depends", "Recommends", "Suggests", "Breaks", "Conflicts", "Enhances"];

    /// <summary>
    /// The records under <c>status.d</c> of <paramref name="repository"/>@<paramref name="digest"/>, by file name, as the
    /// image's file system has them: layers applied in order, OCI whiteouts (<c>.wh.NAME</c>, <c>.wh..wh..opq</c>) honoured.
    /// Layers are read gzip-compressed or uncompressed (OCI image-spec layer media types).
    /// </summary>
    /// <exception cref="JobFailedException">The manifest is not an image manifest, or a layer is compressed otherwise.</exception>
    /// <exception cref="RegistryException">The registry refused a request.</exception>
    public static async Task<IReadOnlyDictionary<string, string>> ReadRecordsAsync(IRegistryClient registry, string repository, Digest digest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var manifest = await registry.GetManifestAsync(repository, digest.ToString(), cancellationToken).ConfigureAwait(false);
        var records = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (layer, mediaType) in Layers(manifest.Content, $"{repository}@{digest}"))
        {
            await using var blob = await registry.OpenBlobAsync(repository, layer, cancellationToken).ConfigureAwait(false);
            await using var tar = OpenLayer(blob, mediaType, layer);
            await ApplyLayerAsync(tar, records, cancellationToken).ConfigureAwait(false);
        }

        return records;
    }

    /// <summary>Applies one layer's <c>status.d</c> entries and whiteouts to <paramref name="records"/>.</summary>
    internal static async Task ApplyLayerAsync(Stream tar, IDictionary<string, string> records, CancellationToken cancellationToken)
    {
        var prefix = DistrolessBase.StatusDirectory + "/";
        await using var reader = new TarReader(tar, leaveOpen: true);
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            var name = entry.Name.TrimStart('.', '/');
            if (name == DistrolessBase.StatusDirectory + "/.wh..wh..opq")
            {
                records.Clear();
                continue;
            }

            if (!name.StartsWith(prefix, StringComparison.Ordinal) || name.Length == prefix.Length || name[prefix.Length..].Contains('/'))
            {
                continue;
            }

            var file = name[prefix.Length..];
            if (file.StartsWith(".wh.", StringComparison.Ordinal))
            {
                records.Remove(file[4..]);
            }
            else if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile && entry.DataStream is { } data)
            {
                using var text = new StreamReader(data, Encoding.UTF8);
                records[file] = await text.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The packages the records say are installed (<c>Status: … installed</c>), as name, version and architecture,
    /// sorted by name then architecture. A record with several paragraphs counts each; one without a Status counts as installed.
    /// </summary>
    public static IReadOnlyList<InstalledPackage> ParseInstalled(IEnumerable<string> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var packages = new List<InstalledPackage>();
        foreach (var paragraph in records.SelectMany(Paragraphs))
        {
            var fields = Fields(paragraph);
            var status = fields.GetValueOrDefault("Status", "install ok installed").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.TryGetValue("Package", out var name) && fields.TryGetValue("Version", out var version)
                && fields.TryGetValue("Architecture", out var architecture) && status is [_, _, "installed"])
            {
                packages.Add(new InstalledPackage(name, version, architecture));
            }
        }

        return [.. packages.OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Architecture, StringComparer.Ordinal)];
    }

    /// <summary>
    /// A dpkg status file for resolving a pipeline for a distroless base with apt (<c>-o Dir::State::status=</c>): the
    /// records with their relationship fields dropped (so apt does not demand the shell and tools they name) and a
    /// <c>Status: install ok installed</c> line where a record has none.
    /// </summary>
    public static string ResolutionStatus(IEnumerable<string> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var text = new StringBuilder();
        foreach (var paragraph in records.SelectMany(Paragraphs))
        {
            var skipping = false;
            var hasStatus = false;
            foreach (var line in paragraph.Split('\n'))
            {
                if (line.Length > 0 && char.IsWhiteSpace(line[0]))
                {
                    if (!skipping)
                    {
                        text.Append(line).Append('\n');
                    }

                    continue;
                }

                var colon = line.IndexOf(':');
                var field = colon > 0 ? line[..colon] : line;
                skipping = RelationshipFields.Contains(field, StringComparer.OrdinalIgnoreCase);
                hasStatus |= field.Equals("Status", StringComparison.OrdinalIgnoreCase);
                if (!skipping)
                {
                    text.Append(line).Append('\n');
                }
            }

            if (!hasStatus)
            {
                text.Append("Status: install ok installed\n");
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    private static IEnumerable<string> Paragraphs(string record) =>
        record.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Trim('\n'))
            .Where(p => p.Length > 0);

    private static Dictionary<string, string> Fields(string paragraph)
    {
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in paragraph.Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (line.Length > 0 && !char.IsWhiteSpace(line[0]) && colon > 0)
            {
                fields[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        return fields;
    }

    private static Stream OpenLayer(Stream blob, string mediaType, Digest layer) =>
        mediaType.EndsWith("+gzip", StringComparison.Ordinal) || mediaType.EndsWith(".gzip", StringComparison.Ordinal)
            ? new GZipStream(blob, CompressionMode.Decompress, leaveOpen: false)
            : mediaType.EndsWith(".tar", StringComparison.Ordinal) || mediaType.EndsWith("tar", StringComparison.Ordinal)
                ? blob
                : throw new JobFailedException($"layer {layer} is {mediaType}; the dpkg records of a distroless image are read from gzip or uncompressed tar layers only");

    private static List<(Digest Digest, string MediaType)> Layers(ReadOnlyMemory<byte> manifest, string what)
    {
        using var document = JsonDocument.Parse(manifest);
        if (!document.RootElement.TryGetProperty("layers", out var layers) || layers.ValueKind != JsonValueKind.Array)
        {
            throw new JobFailedException($"{what} is not an image manifest with layers, so its dpkg records cannot be read; name one platform's manifest");
        }

        return [.. layers.EnumerateArray().Select(l => (Digest.Parse(l.GetProperty("digest").GetString()!), l.GetProperty("mediaType").GetString() ?? string.Empty))];
    }
}
