using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Sbom;

/// <summary>
/// A manifest that refers to another one through its <c>subject</c> (image spec v1.1 manifest.md
/// "subject"), as listed by the referrers API or the fallback tag's index: its descriptor, its
/// <c>artifactType</c> and its annotations.
/// </summary>
public sealed record Referrer(Descriptor Descriptor, string? ArtifactType, IReadOnlyDictionary<string, string> Annotations)
{
    public Digest Digest => Descriptor.Digest;
}

/// <summary>
/// OCI 1.1 referrers on top of <see cref="IRegistryClient"/> (distribution spec v1.1, "Listing
/// Referrers" and "Referrers Tag Schema"): pushes artifacts with a <c>subject</c>, lists a digest's
/// referrers through the API when the registry has one (<see cref="IRegistryClient.GetReferrersAsync"/>),
/// else through the fallback tag <c>&lt;alg&gt;-&lt;hex&gt;</c>, an image index whose <c>manifests</c> are
/// the referrers' descriptors, and keeps that index up to date on registries without the API.
/// The fallback index is updated read-modify-write: two writers racing on one subject can lose an
/// entry (the spec accepts this; a rerun adds it back).
/// </summary>
public static class OciReferrers
{
    /// <summary>The empty JSON object <c>{}</c>, the config blob of an artifact manifest (image spec "Guidance for an Empty Descriptor").</summary>
    public static ReadOnlyMemory<byte> EmptyConfigContent { get; } = "{}"u8.ToArray();

    /// <summary>The descriptor of <see cref="EmptyConfigContent"/>: <c>application/vnd.oci.empty.v1+json</c>, sha256:44136f…, 2 bytes.</summary>
    public static Descriptor EmptyConfig { get; } = new(MediaTypes.OciEmpty, Digest.Parse("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"), 2);

    /// <summary>The annotation key of an artifact's creation time (annotations.md).</summary>
    public const string CreatedAnnotation = "org.opencontainers.image.created";

    /// <summary>
    /// The OCI image manifest of an artifact: <c>artifactType</c>, the empty config, one layer
    /// (<paramref name="layer"/>), <c>subject</c>, and <paramref name="annotations"/> (sorted by key, so the
    /// same inputs give the same bytes).
    /// </summary>
    public static byte[] CreateArtifactManifest(string artifactType, Descriptor layer, Descriptor subject, IReadOnlyDictionary<string, string>? annotations = null)
    {
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

    /// <summary>
    /// Pushes <paramref name="content"/> as an artifact referring to <paramref name="subject"/> in
    /// <paramref name="repository"/>: the empty config and the content as blobs (each only when missing),
    /// then the manifest by digest, then — on a registry without the referrers API — the fallback index.
    /// </summary>
    /// <returns>The referrer as the subject's index lists it.</returns>
    /// <exception cref="DigestMismatchException">The registry stored the manifest under another digest.</exception>
    /// <exception cref="RegistryException">The registry refused a blob, the manifest or the index.</exception>
    public static async Task<Referrer> PushArtifactAsync(
        IRegistryClient client,
        string repository,
        Descriptor subject,
        string artifactType,
        string contentMediaType,
        ReadOnlyMemory<byte> content,
        IReadOnlyDictionary<string, string>? annotations = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(subject);
        await UploadIfMissingAsync(client, repository, EmptyConfig.Digest, EmptyConfigContent, cancellationToken).ConfigureAwait(false);
        var layer = new Descriptor(contentMediaType, Digest.Sha256Of(content.Span), content.Length);
        await UploadIfMissingAsync(client, repository, layer.Digest, content, cancellationToken).ConfigureAwait(false);

        var manifest = CreateArtifactManifest(artifactType, layer, subject, annotations);
        var digest = Digest.Sha256Of(manifest);
        var confirmed = await client.PutManifestAsync(repository, digest.ToString(), manifest, MediaTypes.OciManifest, cancellationToken).ConfigureAwait(false);
        if (confirmed != digest)
        {
            throw new DigestMismatchException(
                $"{client.Endpoint.Host}/{repository} stored the {artifactType} artifact of {subject.Digest} as {confirmed}, not {digest}: the registry rewrote the manifest; use a registry that stores manifests unchanged");
        }

        var referrer = new Referrer(new Descriptor(MediaTypes.OciManifest, digest, manifest.Length), artifactType, annotations ?? new Dictionary<string, string>());
        await IndexAsync(client, repository, subject.Digest, [referrer], cancellationToken).ConfigureAwait(false);
        return referrer;
    }

    /// <summary>
    /// The referrers of <paramref name="subject"/>: from the referrers API when the registry has it,
    /// else from the fallback tag's index (empty when the tag does not exist).
    /// </summary>
    /// <exception cref="JobFailedException">The fallback tag holds something that is not an image index.</exception>
    public static async Task<IReadOnlyList<Referrer>> ListAsync(IRegistryClient client, string repository, Digest subject, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(subject);
        var listed = await client.GetReferrersAsync(repository, subject, cancellationToken).ConfigureAwait(false);
        if (listed is not null)
        {
            return listed;
        }

        var index = await ReadFallbackIndexAsync(client, repository, subject, cancellationToken).ConfigureAwait(false);
        return index is null ? [] : ParseIndex(index.Content, $"{client.Endpoint.Host}/{repository}:{subject.ToReferrersTag()}");
    }

    /// <summary>
    /// Makes <paramref name="referrers"/> (already pushed) discoverable from <paramref name="subject"/>:
    /// nothing on a registry with the referrers API (it indexes a manifest's <c>subject</c> itself);
    /// otherwise the fallback index gains every referrer it lacks.
    /// </summary>
    /// <returns>True when the fallback index was written.</returns>
    public static async Task<bool> IndexAsync(IRegistryClient client, string repository, Digest subject, IReadOnlyList<Referrer> referrers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(referrers);
        if (await client.GetReferrersAsync(repository, subject, cancellationToken).ConfigureAwait(false) is not null)
        {
            return false;
        }

        return await AddToFallbackIndexAsync(client, repository, subject, referrers, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds every referrer absent from the fallback index of <paramref name="subject"/> (GET the tag or
    /// start empty, append, PUT the index back under the tag). Entries already there, and any fields
    /// this code does not know, are kept as they are.
    /// </summary>
    /// <returns>True when the index was written; false when it already listed every referrer.</returns>
    public static async Task<bool> AddToFallbackIndexAsync(IRegistryClient client, string repository, Digest subject, IReadOnlyList<Referrer> referrers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(subject);
        var tag = subject.ToReferrersTag();
        var current = await ReadFallbackIndexAsync(client, repository, subject, cancellationToken).ConfigureAwait(false);
        var updated = AddToIndex(current?.Content, referrers, $"{client.Endpoint.Host}/{repository}:{tag}");
        if (updated is null)
        {
            return false;
        }

        var digest = Digest.Sha256Of(updated);
        var confirmed = await client.PutManifestAsync(repository, tag, updated, MediaTypes.OciIndex, cancellationToken).ConfigureAwait(false);
        if (confirmed != digest)
        {
            throw new DigestMismatchException(
                $"{client.Endpoint.Host}/{repository} stored the referrers index '{tag}' as {confirmed}, not {digest}: the registry rewrote the index; use a registry that stores manifests unchanged");
        }

        return true;
    }

    /// <summary>
    /// The fallback index with every referrer of <paramref name="referrers"/> it lacks appended, or null
    /// when nothing is missing. <paramref name="current"/> null starts an empty index.
    /// </summary>
    /// <exception cref="JobFailedException"><paramref name="current"/> is not an image index.</exception>
    public static byte[]? AddToIndex(ReadOnlyMemory<byte>? current, IReadOnlyList<Referrer> referrers, string where)
    {
        ArgumentNullException.ThrowIfNull(referrers);
        JsonObject index;
        if (current is null)
        {
            index = new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = MediaTypes.OciIndex,
                ["manifests"] = new JsonArray(),
            };
        }
        else
        {
            ParseIndex(current.Value, where);
            index = JsonNode.Parse(current.Value.Span)!.AsObject();
            if (index["manifests"] is not JsonArray)
            {
                index["manifests"] = new JsonArray();
            }
        }

        var manifests = index["manifests"]!.AsArray();
        var listed = new HashSet<string>(
            manifests.Select(m => m?["digest"]?.GetValue<string>()).OfType<string>(), StringComparer.Ordinal);
        var added = false;
        foreach (var referrer in referrers)
        {
            if (!listed.Add(referrer.Digest.ToString()))
            {
                continue;
            }

            var entry = new JsonObject
            {
                ["mediaType"] = referrer.Descriptor.MediaType,
                ["digest"] = referrer.Digest.ToString(),
                ["size"] = referrer.Descriptor.Size,
            };
            if (referrer.ArtifactType is not null)
            {
                entry["artifactType"] = referrer.ArtifactType;
            }

            if (referrer.Annotations.Count > 0)
            {
                var annotations = new JsonObject();
                foreach (var (key, value) in referrer.Annotations.OrderBy(a => a.Key, StringComparer.Ordinal))
                {
                    annotations[key] = value;
                }

                entry["annotations"] = annotations;
            }

            manifests.Add(entry);
            added = true;
        }

        return added ? Encoding.UTF8.GetBytes(index.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping })) : null;
    }

    /// <summary>Reads the referrers listed by an image index (a referrers API answer or a fallback tag's index).</summary>
    /// <exception cref="JobFailedException">The bytes are not an image index, or an entry lacks a digest or size.</exception>
    public static IReadOnlyList<Referrer> ParseIndex(ReadOnlyMemory<byte> content, string where)
    {
        try
        {
            using var document = JsonDocument.Parse(content);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || (root.TryGetProperty("mediaType", out var type) && type.GetString() is { } mediaType && !MediaTypes.IsIndex(mediaType)))
            {
                throw new JobFailedException($"{where} is not an image index, so it cannot list referrers: delete that tag, then attach the referrers again");
            }

            var referrers = new List<Referrer>();
            if (!root.TryGetProperty("manifests", out var manifests) || manifests.ValueKind != JsonValueKind.Array)
            {
                return referrers;
            }

            foreach (var entry in manifests.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object
                    || !entry.TryGetProperty("digest", out var digestElement) || !Digest.TryParse(digestElement.GetString(), out var digest, out _)
                    || !entry.TryGetProperty("size", out var sizeElement) || !sizeElement.TryGetInt64(out var size))
                {
                    throw new JobFailedException($"{where} lists a referrer without a valid digest or size: the index is malformed; delete that tag, then attach the referrers again");
                }

                var entryType = entry.TryGetProperty("mediaType", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : MediaTypes.OciManifest;
                var artifactType = entry.TryGetProperty("artifactType", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
                var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
                if (entry.TryGetProperty("annotations", out var notes) && notes.ValueKind == JsonValueKind.Object)
                {
                    foreach (var note in notes.EnumerateObject().Where(n => n.Value.ValueKind == JsonValueKind.String))
                    {
                        annotations[note.Name] = note.Value.GetString()!;
                    }
                }

                referrers.Add(new Referrer(new Descriptor(entryType, digest, size), artifactType, annotations));
            }

            return referrers;
        }
        catch (JsonException ex)
        {
            throw new JobFailedException($"{where} is not valid JSON ({ex.Message}): delete that tag, then attach the referrers again", ex);
        }
    }

    private static async Task<ManifestContent?> ReadFallbackIndexAsync(IRegistryClient client, string repository, Digest subject, CancellationToken cancellationToken)
    {
        var tag = subject.ToReferrersTag();
        if (await client.HeadManifestAsync(repository, tag, cancellationToken).ConfigureAwait(false) is null)
        {
            return null;
        }

        return await client.GetManifestAsync(repository, tag, cancellationToken).ConfigureAwait(false);
    }

    private static async Task UploadIfMissingAsync(IRegistryClient client, string repository, Digest digest, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        if (await client.HeadBlobAsync(repository, digest, cancellationToken).ConfigureAwait(false) == content.Length)
        {
            return;
        }

        await using var stream = new MemoryStream(content.ToArray(), writable: false);
        await client.UploadBlobAsync(repository, digest, content.Length, stream, cancellationToken).ConfigureAwait(false);
    }
}
