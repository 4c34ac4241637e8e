using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using NpgsqlTypes;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;

namespace Orchestrator.State.Postgres;

/// <summary>Typed parameters and the parsers of stored text shared by the PostgreSQL stores.</summary>
internal static class PostgresRows
{
    // Typed, so a null value still tells PostgreSQL the parameter's type ("@x IS NULL OR …" needs one).
    internal static void Text(NpgsqlCommand command, string name, string? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value });

    internal static void Bigint(NpgsqlCommand command, string name, long? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Bigint) { Value = (object?)value ?? DBNull.Value });

    internal static void Integer(NpgsqlCommand command, string name, int? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Integer) { Value = (object?)value ?? DBNull.Value });

    internal static void Boolean(NpgsqlCommand command, string name, bool value) =>
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Boolean) { Value = value });

    internal static string Tags(IReadOnlyList<string> tags) => JsonSerializer.Serialize(tags, PostgresJsonContext.Default.IReadOnlyListString);

    internal static long ToMilliseconds(TimeSpan duration) => (long)Math.Round(duration.TotalMilliseconds, MidpointRounding.AwayFromZero);

    internal static DateTimeOffset ParseTimestamp(string text, string table, long id) =>
        PostgresStateDatabase.TryParseTimestamp(text, out var value)
            ? value
            : throw Corrupt(table, id, $"the timestamp '{text}' is not ISO-8601 UTC");

    internal static ImageReference ParseReference(string text, string table, long id) =>
        ImageReference.TryParse(text, out var reference, out var error) ? reference : throw Corrupt(table, id, error);

    internal static Digest ParseDigest(string text, string table, long id) =>
        Digest.TryParse(text, out var digest, out var error) ? digest : throw Corrupt(table, id, error);

    internal static IReadOnlyList<string> ParseTags(string json, string table, long id)
    {
        try
        {
            return JsonSerializer.Deserialize(json, PostgresJsonContext.Default.StringArray) ?? [];
        }
        catch (JsonException ex)
        {
            throw Corrupt(table, id, $"the tags are not a JSON array of strings ({ex.Message})");
        }
    }

    internal static JobFailedException Corrupt(string table, long id, string problem) =>
        new($"The state database has an unreadable row {(table is "jobs" or "job_log" ? "for job " : "")}{id} in '{table}': {problem}. " +
            "It was edited outside Orchestrator; fix or delete that row.");
}

/// <summary>Tags as a JSON array of strings, the same text the SQLite store writes, generated at compile time for the native binary.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class PostgresJsonContext : JsonSerializerContext;
