using System.Globalization;
using System.Text.Json;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Images;

/// <summary>One <c>history</c> entry of an image config.</summary>
public sealed record ImageHistory(DateTimeOffset Created, string? CreatedBy, string? Comment, bool EmptyLayer);

/// <summary>
/// An OCI image configuration (image-spec <c>config.md</c>) holding only what an image's meaning needs:
/// platform, the run config (user, ports, env, entrypoint, cmd, volumes, workdir, labels, stop signal),
/// the layers' diff ids and the history. It has no container id, host name, engine version or build
/// clock in it, and <see cref="ToJson"/> writes it in one fixed order, so equal values give an equal digest.
/// </summary>
public sealed record ImageConfig
{
    public required string Architecture { get; init; }

    public string Os { get; init; } = "linux";

    public string? Variant { get; init; }

    /// <summary>The image's creation time: the source date, never the build clock.</summary>
    public required DateTimeOffset Created { get; init; }

    public string? User { get; init; }

    public IReadOnlyList<string> ExposedPorts { get; init; } = [];

    public IReadOnlyList<string> Env { get; init; } = [];

    public IReadOnlyList<string>? Entrypoint { get; init; }

    public IReadOnlyList<string>? Cmd { get; init; }

    public IReadOnlyList<string> Volumes { get; init; } = [];

    public string? WorkingDir { get; init; }

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public string? StopSignal { get; init; }

    public required IReadOnlyList<Digest> DiffIds { get; init; }

    public IReadOnlyList<ImageHistory> History { get; init; } = [];

    /// <summary>
    /// The config of an image the engine built on <paramref name="baseConfig"/>: the engine's run config
    /// and its history past the base's, every new history entry dated <paramref name="created"/>, the
    /// base's own history kept as the base has it, and <paramref name="diffIds"/> as the layers.
    /// </summary>
    /// <param name="engineConfig">The config JSON the engine wrote (<c>docker save</c>'s <c>*.json</c>).</param>
    /// <param name="baseConfig">The base image's config as the registry serves it.</param>
    /// <param name="diffIds">Every layer's diff id, the base's first.</param>
    /// <param name="created">The source date.</param>
    /// <param name="dropFirstNewLayer">Leave out the history entry of the first layer the build added (a staging layer that was dropped).</param>
    /// <exception cref="InvalidDataException">A config lacks its architecture, or the engine's history is shorter than the base's.</exception>
    public static ImageConfig FromEngineBuild(JsonElement engineConfig, JsonElement baseConfig, IReadOnlyList<Digest> diffIds, DateTimeOffset created, bool dropFirstNewLayer = false)
    {
        var run = engineConfig.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        var baseHistory = ReadHistory(baseConfig);
        var engineHistory = ReadHistory(engineConfig);
        if (engineHistory.Count < baseHistory.Count)
        {
            throw new InvalidDataException($"the engine's image has {engineHistory.Count} history entries, fewer than its base's {baseHistory.Count}");
        }

        var added = engineHistory.Skip(baseHistory.Count).ToList();
        if (dropFirstNewLayer && added.FindIndex(h => !h.EmptyLayer) is var first and >= 0)
        {
            added.RemoveAt(first);
        }

        var history = baseHistory.Concat(added.Select(h => h with { Created = created })).ToList();
        return new ImageConfig
        {
            Architecture = String(engineConfig, "architecture") ?? throw new InvalidDataException("the engine's image config has no architecture"),
            Os = String(engineConfig, "os") ?? "linux",
            Variant = String(engineConfig, "variant"),
            Created = created,
            User = NullIfEmpty(String(run, "User")),
            ExposedPorts = Keys(run, "ExposedPorts"),
            Env = Strings(run, "Env") ?? [],
            Entrypoint = Strings(run, "Entrypoint"),
            Cmd = Strings(run, "Cmd"),
            Volumes = Keys(run, "Volumes"),
            WorkingDir = NullIfEmpty(String(run, "WorkingDir")),
            Labels = Map(run, "Labels"),
            StopSignal = NullIfEmpty(String(run, "StopSignal")),
            DiffIds = diffIds,
            History = history,
        };
    }

    /// <summary>The config as canonical JSON: fixed key order, sorted maps, no insignificant white space, UTF-8.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("architecture", Architecture);
            json.WriteString("created", Timestamp(Created));
            json.WriteString("os", Os);
            if (Variant is not null)
            {
                json.WriteString("variant", Variant);
            }

            json.WriteStartObject("config");
            if (User is not null)
            {
                json.WriteString("User", User);
            }

            WriteSet(json, "ExposedPorts", ExposedPorts);
            if (Env.Count > 0)
            {
                WriteArray(json, "Env", Env);
            }

            if (Entrypoint is not null)
            {
                WriteArray(json, "Entrypoint", Entrypoint);
            }

            if (Cmd is not null)
            {
                WriteArray(json, "Cmd", Cmd);
            }

            WriteSet(json, "Volumes", Volumes);
            if (WorkingDir is not null)
            {
                json.WriteString("WorkingDir", WorkingDir);
            }

            if (Labels.Count > 0)
            {
                json.WriteStartObject("Labels");
                foreach (var (key, value) in Labels.OrderBy(l => l.Key, StringComparer.Ordinal))
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            if (StopSignal is not null)
            {
                json.WriteString("StopSignal", StopSignal);
            }

            json.WriteEndObject();
            json.WriteStartObject("rootfs");
            json.WriteString("type", "layers");
            WriteArray(json, "diff_ids", DiffIds.Select(d => d.ToString()).ToList());
            json.WriteEndObject();
            json.WriteStartArray("history");
            foreach (var entry in History)
            {
                json.WriteStartObject();
                json.WriteString("created", Timestamp(entry.Created));
                if (entry.CreatedBy is not null)
                {
                    json.WriteString("created_by", entry.CreatedBy);
                }

                if (entry.Comment is not null)
                {
                    json.WriteString("comment", entry.Comment);
                }

                if (entry.EmptyLayer)
                {
                    json.WriteBoolean("empty_layer", true);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The diff ids a config lists under <c>rootfs.diff_ids</c>.</summary>
    /// <exception cref="InvalidDataException">A diff id is not a digest.</exception>
    public static IReadOnlyList<Digest> ReadDiffIds(JsonElement config)
    {
        if (!config.TryGetProperty("rootfs", out var rootfs) || !rootfs.TryGetProperty("diff_ids", out var ids) || ids.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        return ids.EnumerateArray().Select(id => Digest.TryParse(id.GetString(), out var digest, out var error)
            ? digest
            : throw new InvalidDataException($"the image config lists a diff id that is not a digest: {error}")).ToList();
    }

    /// <summary>RFC 3339 in UTC with a <c>Z</c> and whole seconds, as the image spec's examples write it.</summary>
    internal static string Timestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static List<ImageHistory> ReadHistory(JsonElement config)
    {
        if (config.ValueKind != JsonValueKind.Object || !config.TryGetProperty("history", out var history) || history.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        return history.EnumerateArray().Select(h => new ImageHistory(
            String(h, "created") is { } created && DateTimeOffset.TryParse(created, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : DateTimeOffset.UnixEpoch,
            String(h, "created_by"),
            NullIfEmpty(String(h, "comment")),
            h.TryGetProperty("empty_layer", out var empty) && empty.ValueKind == JsonValueKind.True)).ToList();
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static List<string>? Strings(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Select(v => v.GetString() ?? string.Empty).ToList()
            : null;

    private static List<string> Keys(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
            ? value.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList()
            : [];

    private static Dictionary<string, string> Map(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
            ? value.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? string.Empty, StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);

    private static void WriteArray(Utf8JsonWriter json, string name, IReadOnlyList<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static void WriteSet(Utf8JsonWriter json, string name, IReadOnlyList<string> keys)
    {
        if (keys.Count == 0)
        {
            return;
        }

        json.WriteStartObject(name);
        foreach (var key in keys.Order(StringComparer.Ordinal))
        {
            json.WriteStartObject(key);
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }
}
