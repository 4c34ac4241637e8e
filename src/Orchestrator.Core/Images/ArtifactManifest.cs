using System.Text.Encodings.Web;
using System.Text.Json;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Images;

/// <summary>
/// The OCI 1.1 artifact manifest (image spec v1.1 manifest.md "Guidelines for Artifact Usage"): an image
/// manifest with an <c>artifactType</c>, the empty config, one layer holding the artifact, and a
/// <c>subject</c> naming the image it is about (an SBOM, a promotion statement, a signature).
/// </summary>
public static class ArtifactManifest
{
    /// <summary>The annotation key of an artifact's creation time (image spec annotations.md).</summary>
    public const string CreatedAnnotation = "org.opencontainers.image.created";

    /// <summary>The empty JSON object <c>{}</c>, the config blob of an artifact (image spec manifest.md "Guidance for an Empty Descriptor").</summary>
    public static ReadOnlyMemory<byte> EmptyConfigContent { get; } = "{}"u8.ToArray();

    /// <summary>The descriptor of <see cref="EmptyConfigContent"/>: <c>application/vnd.oci.empty.v1+json</c>, sha256:44136f…, 2 bytes.</summary>
    public static Descriptor EmptyConfig { get; } = new(MediaTypes.OciEmpty, Digest.Parse("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"), 2);

    /// <summary>
    /// The manifest's bytes: <c>artifactType</c>, the empty config, one layer (<paramref name="layer"/>),
    /// <c>subject</c>, and <paramref name="annotations"/> sorted by key, so the same inputs give the same bytes
    /// (and so the same digest).
    /// </summary>
    public static byte[] Create(string artifactType, Descriptor layer, Descriptor subject, IReadOnlyDictionary<string, string>? annotations = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(subject);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", MediaTypes.OciManifest);
            json.WriteString("artifactType", artifactType);
            json.WritePropertyName("config");
            json.WriteDescriptor(EmptyConfig);
            json.WriteStartArray("layers");
            json.WriteDescriptor(layer);
            json.WriteEndArray();
            json.WritePropertyName("subject");
            json.WriteDescriptor(subject);
            json.WriteAnnotations(annotations);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
