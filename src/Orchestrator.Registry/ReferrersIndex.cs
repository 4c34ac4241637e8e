using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Registry;

/// <summary>
/// The image index that lists referrers (distribution spec v1.1 "Listing Referrers": the API's answer, and
/// "Referrers Tag Schema": the fallback tag's content): reading its <c>manifests</c> as <see cref="Referrer"/>s,
/// and adding referrers to it while keeping every entry and field it already has.
/// </summary>
internal static class ReferrersIndex
{
    private static readonly JsonSerializerOptions WriteOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The fallback index with every referrer of <paramref name="referrers"/> it lacks appended, or null
    /// when nothing is missing. <paramref name="current"/> null starts an empty index.
    /// </summary>
    /// <exception cref="JobFailedException"><paramref name="current"/> is not an image index.</exception>
    public static byte[]? Add(ReadOnlyMemory<byte>? current, IReadOnlyList<Referrer> referrers, string where)
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
            Parse(current.Value, where);
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

            manifests.Add((JsonNode)entry);
            added = true;
        }

        return added ? Encoding.UTF8.GetBytes(index.ToJsonString(WriteOptions)) : null;
    }

    /// <summary>Reads the referrers listed by an image index (a referrers API answer or a fallback tag's index).</summary>
    /// <exception cref="JobFailedException">The bytes are not an image index, or an entry lacks a digest or size.</exception>
    public static IReadOnlyList<Referrer> Parse(ReadOnlyMemory<byte> content, string where)
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
}
