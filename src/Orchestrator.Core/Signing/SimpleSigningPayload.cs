using System.Text.Json;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Signing;

/// <summary>
/// The payload cosign signs: the "simple signing" format of containers/image (docs/containers-signature.5.md,
/// "JSON Data Format"), as cosign writes it (sigstore/cosign pkg/cosign/payload, type
/// <c>cosign container image signature</c>, <c>optional</c> null), media type <see cref="MediaType"/>.
/// </summary>
public static class SimpleSigningPayload
{
    /// <summary>The media type of the payload layer.</summary>
    public const string MediaType = "application/vnd.dev.cosign.simplesigning.v1+json";

    /// <summary>The <c>critical.type</c> cosign writes and checks.</summary>
    public const string Type = "cosign container image signature";

    /// <summary>
    /// <c>{"critical":{"identity":{"docker-reference":REFERENCE},"image":{"docker-manifest-digest":DIGEST},"type":…},"optional":null}</c>,
    /// the bytes cosign's Go encoder writes (key order as its structs declare them, no whitespace).
    /// </summary>
    /// <param name="dockerReference"><c>HOST/REPOSITORY</c>, without tag or digest.</param>
    /// <param name="digest">The manifest digest signed.</param>
    public static byte[] Create(string dockerReference, Digest digest)
    {
        ArgumentNullException.ThrowIfNull(digest);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteStartObject("critical");
            json.WriteStartObject("identity");
            json.WriteString("docker-reference", dockerReference);
            json.WriteEndObject();
            json.WriteStartObject("image");
            json.WriteString("docker-manifest-digest", digest.ToString());
            json.WriteEndObject();
            json.WriteString("type", Type);
            json.WriteEndObject();
            json.WriteNull("optional");
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Reads a payload; <paramref name="error"/> says what is missing or wrong.</summary>
    public static bool TryParse(ReadOnlySpan<byte> payload, [NotNullWhen(true)] out SimpleSigningClaim? claim, [NotNullWhen(false)] out string? error)
    {
        claim = null;
        try
        {
            using var document = JsonDocument.Parse(payload.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("critical", out var critical) || critical.ValueKind != JsonValueKind.Object)
            {
                error = "the payload has no 'critical' object";
                return false;
            }

            if (!critical.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != Type)
            {
                error = $"the payload's critical.type is not '{Type}'";
                return false;
            }

            if (!critical.TryGetProperty("image", out var image) || image.ValueKind != JsonValueKind.Object
                || !image.TryGetProperty("docker-manifest-digest", out var digestText) || digestText.ValueKind != JsonValueKind.String
                || !Digest.TryParse(digestText.GetString(), out var digest, out _))
            {
                error = "the payload has no valid critical.image.docker-manifest-digest";
                return false;
            }

            var reference = critical.TryGetProperty("identity", out var identity) && identity.ValueKind == JsonValueKind.Object
                && identity.TryGetProperty("docker-reference", out var name) && name.ValueKind == JsonValueKind.String
                ? name.GetString()!
                : string.Empty;
            claim = new SimpleSigningClaim(reference, digest);
            error = null;
            return true;
        }
        catch (JsonException)
        {
            error = "the payload is not JSON";
            return false;
        }
    }
}

/// <summary>What a simple-signing payload claims: the manifest digest and the reference it was signed for.</summary>
public sealed record SimpleSigningClaim(string DockerReference, Digest Digest);
