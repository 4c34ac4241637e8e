using System.Text.Json;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Registry;

/// <summary>
/// What a manifest references (image spec manifest.md and image-index.md, Docker manifest v2 schema 2):
/// the child manifests of an index, or the config and layer blobs of an image manifest.
/// </summary>
internal sealed record ManifestReferences(string MediaType, IReadOnlyList<Descriptor> Manifests, IReadOnlyList<Descriptor> Blobs)
{
    /// <summary>Reads <paramref name="manifest"/>'s references.</summary>
    /// <param name="manifest">The manifest, verified.</param>
    /// <param name="where">The manifest's location, for messages.</param>
    /// <exception cref="JobFailedException">The bytes are not a manifest Orchestrator can copy; the message says why.</exception>
    public static ManifestReferences Parse(ManifestContent manifest, string where)
    {
        try
        {
            using var document = JsonDocument.Parse(manifest.Content);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new JobFailedException($"{where} is not a JSON object: it is not an image manifest or index; check the digest");
            }

            // The mediaType field wins over Content-Type: it is part of the hashed bytes, the header is not.
            var mediaType = root.TryGetProperty("mediaType", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : manifest.MediaType;
            if (MediaTypes.IsIndex(mediaType) || (mediaType is not (MediaTypes.OciManifest or MediaTypes.DockerManifest) && root.TryGetProperty("manifests", out _)))
            {
                return new ManifestReferences(mediaType, ReadDescriptors(root, "manifests", where), []);
            }

            if (MediaTypes.IsImageManifest(mediaType) || root.TryGetProperty("config", out _))
            {
                var blobs = new List<Descriptor>();
                if (root.TryGetProperty("config", out var config))
                {
                    blobs.Add(ReadDescriptor(config, where, "config"));
                }

                foreach (var layer in ReadDescriptors(root, "layers", where, skipForeign: true))
                {
                    blobs.Add(layer);
                }

                return new ManifestReferences(mediaType, [], blobs);
            }

            throw new JobFailedException(
                $"{where} has media type '{mediaType}', which Orchestrator does not copy: only OCI image manifests and indexes and Docker schema 2 manifests and lists are supported; re-push the image with a current builder");
        }
        catch (JsonException ex)
        {
            throw new JobFailedException($"{where} is not valid JSON ({ex.Message}): it is not a manifest; check the digest", ex);
        }
    }

    private static List<Descriptor> ReadDescriptors(JsonElement root, string property, string where, bool skipForeign = false)
    {
        var result = new List<Descriptor>();
        if (!root.TryGetProperty(property, out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return result;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new JobFailedException($"{where}: '{property}' is not an array: the manifest is malformed; rebuild and re-push the image");
        }

        var index = 0;
        foreach (var element in array.EnumerateArray())
        {
            // Foreign (non-distributable) layers live at their URLs, not in the registry: there is nothing to copy.
            if (skipForeign && element.TryGetProperty("urls", out var urls) && urls.ValueKind == JsonValueKind.Array && urls.GetArrayLength() > 0
                && element.TryGetProperty("mediaType", out var layerType) && layerType.GetString() is { } type
                && (type.Contains("foreign", StringComparison.Ordinal) || type.Contains("nondistributable", StringComparison.Ordinal)))
            {
                index++;
                continue;
            }

            result.Add(ReadDescriptor(element, where, $"{property}[{index++}]"));
        }

        return result;
    }

    private static Descriptor ReadDescriptor(JsonElement element, string where, string path)
    {
        if (element.ValueKind != JsonValueKind.Object
            || !element.TryGetProperty("digest", out var digestElement) || digestElement.ValueKind != JsonValueKind.String
            || !element.TryGetProperty("size", out var sizeElement) || !sizeElement.TryGetInt64(out var size) || size < 0)
        {
            throw new JobFailedException($"{where}: {path} lacks a digest or a non-negative size: the manifest is malformed; rebuild and re-push the image");
        }

        if (!Digest.TryParse(digestElement.GetString(), out var digest, out var error))
        {
            throw new JobFailedException($"{where}: {path} has an invalid digest: {error}; rebuild and re-push the image");
        }

        var mediaType = element.TryGetProperty("mediaType", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "application/octet-stream";
        return new Descriptor(mediaType, digest, size);
    }
}
