using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// A promotion record as an in-toto Statement v1 (in-toto attestation framework, spec/v1/statement.md):
/// <c>_type</c> <c>https://in-toto.io/Statement/v1</c>, one <c>subject</c> (the target repository and the
/// promoted digest), <see cref="PredicateType"/>, and a predicate holding the record: source and target
/// references, stages, tags, validation id, who and when. Attached to the target digest as an OCI
/// referrer with artifact type <see cref="MediaType"/> (unsigned: it says what Orchestrator recorded).
/// The same record always gives the same bytes, so attaching it twice adds one referrer.
/// </summary>
public static class PromotionStatement
{
    /// <summary>The media type of an in-toto statement (the artifact type and layer type of the referrer).</summary>
    public const string MediaType = "application/vnd.in-toto+json";

    /// <summary>The statement type, in-toto Statement v1.</summary>
    public const string StatementType = "https://in-toto.io/Statement/v1";

    /// <summary>The predicate type of a promotion (an identifier; no document is served there).</summary>
    public const string PredicateType = "https://orchestrator.io/promotion/v1";

    /// <summary>The JSON bytes of the statement about <paramref name="record"/> (its <see cref="PromotionRecord.Id"/> included).</summary>
    /// <exception cref="ArgumentException">The record's target has no digest.</exception>
    public static byte[] Create(PromotionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var digest = record.Target.Digest ?? throw new ArgumentException($"promotion {record.Id} names no target digest", nameof(record));
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("_type", StatementType);
            json.WriteStartArray("subject");
            json.WriteStartObject();
            json.WriteString("name", record.Target.Name);
            json.WriteStartObject("digest");
            json.WriteString(digest.Algorithm, digest.Encoded);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteString("predicateType", PredicateType);
            json.WriteStartObject("predicate");
            json.WriteNumber("promotionId", record.Id);
            json.WriteString("pipeline", record.Pipeline);
            json.WriteString("source", record.Source.ToString());
            json.WriteString("target", record.Target.ToString());
            json.WriteString("fromStage", record.FromStage);
            json.WriteString("toStage", record.ToStage);
            json.WriteStartArray("tags");
            foreach (var tag in record.Tags)
            {
                json.WriteStringValue(tag);
            }

            json.WriteEndArray();
            if (record.ValidationId is { } validation)
            {
                json.WriteNumber("validationId", validation);
            }
            else
            {
                json.WriteNull("validationId");
            }

            json.WriteString("promotedBy", record.Actor);
            json.WriteString("promotedAt", Timestamp(record.At));
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>RFC 3339 in UTC, whole seconds, as the OCI <c>created</c> annotation writes it.</summary>
    internal static string Timestamp(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
