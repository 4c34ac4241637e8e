using System.Globalization;
using System.Text.Json;

namespace Orchestrator.Cli.Infrastructure;

/// <summary>A plain-text table: upper-case headers, columns padded to their widest cell, two spaces apart.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public int Count => _rows.Count;

    public void Add(params string?[] cells) => _rows.Add(cells.Select(c => string.IsNullOrEmpty(c) ? "-" : c).ToArray());

    public void Write(TextWriter writer)
    {
        var widths = headers.Select((h, i) => _rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        foreach (var row in _rows.Prepend(headers))
        {
            writer.WriteLine(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }
    }

    /// <summary>A time as people read it in a table: UTC, to the second.</summary>
    public static string? Time(DateTimeOffset? time) =>
        time?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A duration as people read it: 4s, 2m05s, 1h03m.</summary>
    public static string Duration(TimeSpan duration) => duration switch
    {
        { TotalSeconds: < 60 } => $"{Math.Max(0, (int)duration.TotalSeconds)}s",
        { TotalMinutes: < 60 } => $"{(int)duration.TotalMinutes}m{duration.Seconds:00}s",
        _ => $"{(int)duration.TotalHours}h{duration.Minutes:00}m",
    };

    /// <summary><c>sha256:</c> and the first 12 hex digits, as <c>docker images</c> shortens ids.</summary>
    public static string? ShortDigest(string? digest) =>
        digest is null ? null : digest.IndexOf(':', StringComparison.Ordinal) is var colon and > 0 && digest.Length > colon + 13 ? digest[..(colon + 13)] : digest;

    // Helpers for rendering the API's JSON documents (which in-process verbs also produce, so both print alike).
    public static string? Text(JsonElement json, string name) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
                _ => null,
            }
            : null;

    public static DateTimeOffset? TimeOf(JsonElement json, string name) =>
        Text(json, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time) ? time : null;

    public static IEnumerable<JsonElement> Array(JsonElement json, string name) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array ? value.EnumerateArray() : [];
}
