using System.Text.Json;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Images;

/// <summary>
/// An image Orchestrator wrote itself: config, layers and the OCI image manifest naming them
/// (image-spec <c>manifest.md</c>), with the manifest's digest known before anything is pushed.
/// </summary>
/// <param name="Config">The config's values.</param>
/// <param name="ConfigJson">The config blob's bytes.</param>
/// <param name="ConfigDescriptor">The config's descriptor (<c>application/vnd.oci.image.config.v1+json</c>).</param>
/// <param name="Layers">The layers, bottom first.</param>
/// <param name="ManifestJson">The manifest's bytes (<c>application/vnd.oci.image.manifest.v1+json</c>).</param>
/// <param name="Digest">sha256 of <paramref name="ManifestJson"/>: the image's digest in any registry.</param>
public sealed record OciImage(ImageConfig Config, byte[] ConfigJson, Descriptor ConfigDescriptor, IReadOnlyList<LayerBlob> Layers, byte[] ManifestJson, Digest Digest)
{
    /// <summary>Writes the config and the manifest for <paramref name="layers"/>, with <paramref name="annotations"/> on the manifest (sorted).</summary>
    /// <exception cref="ArgumentException">The config's diff ids are not the layers'.</exception>
    public static OciImage Assemble(ImageConfig config, IReadOnlyList<LayerBlob> layers, IReadOnlyDictionary<string, string>? annotations = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(layers);
        if (!config.DiffIds.SequenceEqual(layers.Select(l => l.DiffId)))
        {
            throw new ArgumentException("the config's diff ids are not the layers' diff ids, in order", nameof(config));
        }

        var configJson = config.ToJson();
        var configDescriptor = new Descriptor(MediaTypes.OciConfig, Digest.Sha256Of(configJson), configJson.Length);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", MediaTypes.OciManifest);
            json.WritePropertyName("config");
            json.WriteDescriptor(configDescriptor);
            json.WriteStartArray("layers");
            foreach (var layer in layers)
            {
                json.WriteDescriptor(layer.Descriptor);
            }

            json.WriteEndArray();
            json.WriteAnnotations(annotations);

            json.WriteEndObject();
        }

        var manifest = buffer.ToArray();
        return new OciImage(config, configJson, configDescriptor, layers, manifest, Digest.Sha256Of(manifest));
    }

    /// <summary>The layers' descriptors as an image manifest lists them (<c>layers[]</c>), bottom first.</summary>
    /// <exception cref="InvalidDataException">The manifest has no <c>config</c> or a malformed layer.</exception>
    public static (Descriptor Config, IReadOnlyList<Descriptor> Layers) ReadManifest(ReadOnlySpan<byte> manifest)
    {
        using var document = JsonDocument.Parse(manifest.ToArray());
        var root = document.RootElement;
        if (!root.TryGetProperty("config", out var config))
        {
            throw new InvalidDataException("the manifest has no config: it is not an image manifest");
        }

        var layers = root.TryGetProperty("layers", out var l) && l.ValueKind == JsonValueKind.Array
            ? l.EnumerateArray().Select(ReadDescriptor).ToList()
            : [];
        return (ReadDescriptor(config), layers);
    }

    private static Descriptor ReadDescriptor(JsonElement element) => new(
        element.GetProperty("mediaType").GetString() ?? throw new InvalidDataException("a descriptor has no mediaType"),
        Digest.Parse(element.GetProperty("digest").GetString() ?? string.Empty),
        element.GetProperty("size").GetInt64());
}
