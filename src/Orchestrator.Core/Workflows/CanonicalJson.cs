using System.Text.Json;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// Writers for the canonical JSON that checksums hash (a lock's inputs checksum, the build cache key):
/// nulls written explicitly, lists and pairs kept in the order given, so one value always gives one
/// byte sequence.
/// </summary>
internal static class CanonicalJson
{
    public static void WriteNullable(this Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    public static void WriteList(this Utf8JsonWriter json, string name, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            json.WriteNull(name);
            return;
        }

        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    /// <summary>Pairs as <c>[key, value]</c> arrays in the order given: a later ENV may refer to an earlier one.</summary>
    public static void WritePairs(this Utf8JsonWriter json, string name, IEnumerable<KeyValuePair<string, string>> pairs)
    {
        json.WriteStartArray(name);
        foreach (var (key, value) in pairs)
        {
            json.WriteStartArray();
            json.WriteStringValue(key);
            json.WriteStringValue(value);
            json.WriteEndArray();
        }

        json.WriteEndArray();
    }
}
