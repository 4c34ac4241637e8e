using System.Text.Json;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Signing;

/// <summary>
/// The manifest cosign stores a digest's signatures in (sigstore/cosign pkg/oci/static and internal/pkg/oci/remote):
/// an OCI image manifest tagged <see cref="TagFor"/> in the signed image's repository, one
/// <see cref="SimpleSigningPayload.MediaType"/> layer per signature with the signature in the
/// <see cref="SignatureAnnotation"/> annotation, and the minimal image config go-containerregistry writes for
/// those layers. Bytes are deterministic: the same layers give the same manifest digest.
/// </summary>
public static class CosignSignatureManifest
{
    /// <summary>The layer annotation holding the base64 ASN.1 DER signature.</summary>
    public const string SignatureAnnotation = "dev.cosignproject.cosign/signature";

    /// <summary>The artifact type of the same signature pushed as an OCI 1.1 referrer.</summary>
    public const string ArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json";

    /// <summary><c>sha256-HEX.sig</c>: the tag cosign reads a digest's signatures from.</summary>
    public static string TagFor(Digest digest)
    {
        ArgumentNullException.ThrowIfNull(digest);
        return $"{digest.Algorithm}-{digest.Encoded}.sig";
    }

    /// <summary>
    /// The image config: <c>{"architecture":"","created":"0001-01-01T00:00:00Z","history":[…],"os":"","rootfs":{"type":"layers","diff_ids":[…]},"config":{}}</c>,
    /// one history entry and one diff_id (the payload's digest: it is not compressed) per layer.
    /// </summary>
    public static byte[] CreateConfig(IReadOnlyList<SignatureLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        return Write(json =>
        {
            json.WriteStartObject();
            json.WriteString("architecture", string.Empty);
            json.WriteString("created", "0001-01-01T00:00:00Z");
            json.WriteStartArray("history");
            foreach (var _ in layers)
            {
                json.WriteStartObject();
                json.WriteString("created", "0001-01-01T00:00:00Z");
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteString("os", string.Empty);
            json.WriteStartObject("rootfs");
            json.WriteString("type", "layers");
            json.WriteStartArray("diff_ids");
            foreach (var layer in layers)
            {
                json.WriteStringValue(layer.Digest.ToString());
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteStartObject("config");
            json.WriteEndObject();
            json.WriteEndObject();
        });
    }

    /// <summary>The signature manifest (OCI image manifest) over <paramref name="layers"/> with the config of <paramref name="config"/>'s bytes.</summary>
    public static byte[] Create(IReadOnlyList<SignatureLayer> layers, Descriptor config) => Write(json => WriteManifest(json, layers, config, null));

    /// <summary>
    /// The same signatures as an OCI 1.1 referrer of <paramref name="subject"/> (image spec v1.1 "Guidelines for artifact usage"):
    /// <c>artifactType</c> <see cref="ArtifactType"/>, the empty config, the signature layers, <c>subject</c>.
    /// </summary>
    public static byte[] CreateReferrer(IReadOnlyList<SignatureLayer> layers, Descriptor subject) =>
        Write(json => WriteManifest(json, layers, Images.ArtifactManifest.EmptyConfig, subject));

    /// <summary>The signature layers of a signature manifest (layers of other media types are skipped); <paramref name="error"/> when it is not an image manifest.</summary>
    public static bool TryReadLayers(ReadOnlySpan<byte> manifest, [NotNullWhen(true)] out IReadOnlyList<SignatureLayer>? layers, [NotNullWhen(false)] out string? error)
    {
        layers = null;
        try
        {
            using var document = JsonDocument.Parse(manifest.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("layers", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                error = "it is not an image manifest with 'layers'";
                return false;
            }

            var found = new List<SignatureLayer>();
            foreach (var layer in list.EnumerateArray())
            {
                if (layer.ValueKind != JsonValueKind.Object
                    || !layer.TryGetProperty("mediaType", out var mediaType) || mediaType.GetString() != SimpleSigningPayload.MediaType
                    || !layer.TryGetProperty("digest", out var digestText) || !Digest.TryParse(digestText.GetString(), out var digest, out _)
                    || !layer.TryGetProperty("size", out var size) || !size.TryGetInt64(out var bytes))
                {
                    continue;
                }

                var annotations = new SortedDictionary<string, string>(StringComparer.Ordinal);
                if (layer.TryGetProperty("annotations", out var given) && given.ValueKind == JsonValueKind.Object)
                {
                    foreach (var annotation in given.EnumerateObject().Where(a => a.Value.ValueKind == JsonValueKind.String))
                    {
                        annotations[annotation.Name] = annotation.Value.GetString()!;
                    }
                }

                found.Add(new SignatureLayer(digest, bytes, annotations));
            }

            layers = found;
            error = null;
            return true;
        }
        catch (JsonException)
        {
            error = "it is not JSON";
            return false;
        }
    }

    // go-containerregistry's field order (schemaVersion, mediaType, config, layers; descriptors mediaType, size, digest).
    private static void WriteManifest(Utf8JsonWriter json, IReadOnlyList<SignatureLayer> layers, Descriptor config, Descriptor? subject)
    {
        ArgumentNullException.ThrowIfNull(layers);
        json.WriteStartObject();
        json.WriteNumber("schemaVersion", 2);
        json.WriteString("mediaType", MediaTypes.OciManifest);
        if (subject is not null)
        {
            json.WriteString("artifactType", ArtifactType);
        }

        json.WritePropertyName("config");
        WriteDescriptor(json, config.MediaType, config.Size, config.Digest, null);
        json.WriteStartArray("layers");
        foreach (var layer in layers)
        {
            WriteDescriptor(json, SimpleSigningPayload.MediaType, layer.Size, layer.Digest, layer.Annotations);
        }

        json.WriteEndArray();
        if (subject is not null)
        {
            json.WritePropertyName("subject");
            WriteDescriptor(json, subject.MediaType, subject.Size, subject.Digest, null);
        }

        json.WriteEndObject();
    }

    private static void WriteDescriptor(Utf8JsonWriter json, string mediaType, long size, Digest digest, IReadOnlyDictionary<string, string>? annotations)
    {
        json.WriteStartObject();
        json.WriteString("mediaType", mediaType);
        json.WriteNumber("size", size);
        json.WriteString("digest", digest.ToString());
        json.WriteAnnotations(annotations);
        json.WriteEndObject();
    }

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(json);
        }

        return buffer.ToArray();
    }
}

/// <summary>One signature layer: the payload blob's digest and size, and its annotations (the signature among them).</summary>
public sealed record SignatureLayer(Digest Digest, long Size, IReadOnlyDictionary<string, string> Annotations)
{
    /// <summary>The base64 signature, or null when the layer has none.</summary>
    public string? Signature => Annotations.TryGetValue(CosignSignatureManifest.SignatureAnnotation, out var value) ? value : null;

    /// <summary>A layer for <paramref name="payload"/> signed as <paramref name="signatureBase64"/>.</summary>
    public static SignatureLayer For(ReadOnlySpan<byte> payload, string signatureBase64) =>
        new(Digest.Sha256Of(payload), payload.Length, new Dictionary<string, string>(StringComparer.Ordinal) { [CosignSignatureManifest.SignatureAnnotation] = signatureBase64 });
}
