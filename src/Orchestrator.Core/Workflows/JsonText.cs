using System.Text;
using System.Text.Json;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// JSON string and string-array literals for generated text (a Dockerfile's exec form, a Python literal, a YAML
/// scalar): what <c>JsonSerializer.Serialize</c> wrote for a string or string[], byte for byte (default encoder,
/// no whitespace), without reflection so it stays trim- and AOT-safe.
/// </summary>
internal static class JsonText
{
    /// <summary><paramref name="value"/> as a quoted, escaped JSON string.</summary>
    public static string Quote(string value)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStringValue(value);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary><paramref name="values"/> as a JSON array of strings: <c>["a","b"]</c>.</summary>
    public static string Array(IEnumerable<string> values)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var value in values)
            {
                json.WriteStringValue(value);
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
