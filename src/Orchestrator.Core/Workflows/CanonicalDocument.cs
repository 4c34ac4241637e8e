using System.Security.Cryptography;
using System.Text.Json;
using Orchestrator.Core.Definitions;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// The one canonical JSON that checksums hash: the lock's inputs checksum (<see cref="Locks.InputsChecksum"/>) and
/// the build cache key (<see cref="BuildCacheKey"/>), the Python inputs of both included. One object; keys in the order
/// written; no whitespace; nulls written, never omitted; lists and pairs in the order given; strings escaped by the
/// default encoder; files by the SHA-256 of their bytes. One value always gives one byte sequence.
/// </summary>
/// <remarks>
/// These rules are frozen: committed locks and recorded cache keys hash these bytes (pinned by
/// CanonicalDocumentPinTests). A change of what a checksum covers is made by its caller, under a new version.
/// </remarks>
internal sealed class CanonicalDocument : IDisposable
{
    private readonly MemoryStream _buffer = new();
    private readonly Utf8JsonWriter _json;

    public CanonicalDocument()
    {
        _json = new Utf8JsonWriter(_buffer);
        _json.WriteStartObject();
    }

    public void String(string name, string value) => _json.WriteString(name, value);

    public void Number(string name, long value) => _json.WriteNumber(name, value);

    public void Nullable(string name, string? value)
    {
        if (value is null)
        {
            _json.WriteNull(name);
        }
        else
        {
            _json.WriteString(name, value);
        }
    }

    /// <summary>A list of strings, or null.</summary>
    public void List(string name, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            _json.WriteNull(name);
            return;
        }

        _json.WriteStartArray(name);
        foreach (var value in values)
        {
            _json.WriteStringValue(value);
        }

        _json.WriteEndArray();
    }

    /// <summary>Pairs as <c>[key, value]</c> arrays in the order given: a later ENV may refer to an earlier one.</summary>
    public void Pairs(string name, IEnumerable<KeyValuePair<string, string>> pairs)
    {
        _json.WriteStartArray(name);
        foreach (var (key, value) in pairs)
        {
            _json.WriteStartArray();
            _json.WriteStringValue(key);
            _json.WriteStringValue(value);
            _json.WriteEndArray();
        }

        _json.WriteEndArray();
    }

    /// <summary>Packages as <c>[name, version]</c> arrays in the order given; a null version is written as null (unpinned).</summary>
    public void Packages(string name, IEnumerable<(string Name, string? Version)> packages)
    {
        _json.WriteStartArray(name);
        foreach (var (package, version) in packages)
        {
            _json.WriteStartArray();
            _json.WriteStringValue(package);
            if (version is null)
            {
                _json.WriteNullValue();
            }
            else
            {
                _json.WriteStringValue(version);
            }

            _json.WriteEndArray();
        }

        _json.WriteEndArray();
    }

    /// <summary>
    /// Files as <c>{NAMEKEY: name, "mode": mode-or-null, "sha256": hex}</c> in the order given, each read from its path.
    /// </summary>
    /// <exception cref="IOException">A file cannot be read.</exception>
    public void Files(string name, string nameKey, IEnumerable<(string Name, int? Mode, string Path)> files)
    {
        _json.WriteStartArray(name);
        foreach (var (fileName, mode, path) in files)
        {
            _json.WriteStartObject();
            _json.WriteString(nameKey, fileName);
            if (mode is { } value)
            {
                _json.WriteNumber("mode", value);
            }
            else
            {
                _json.WriteNull("mode");
            }

            _json.WriteString("sha256", FileSha256(path));
            _json.WriteEndObject();
        }

        _json.WriteEndArray();
    }

    /// <summary>What the image runs with, in the order both checksums have always hashed it: env, user, workdir, entrypoint, cmd, labels.</summary>
    public void RuntimeSettings(PipelineDefinition pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        Pairs("env", pipeline.Env);
        Nullable("user", pipeline.User);
        Nullable("workdir", pipeline.WorkingDirectory);
        List("entrypoint", pipeline.Entrypoint);
        List("cmd", pipeline.Cmd);
        Pairs("labels", pipeline.Labels);
    }

    /// <summary>Opens a nested object under <paramref name="name"/>; close it with <see cref="EndObject"/>.</summary>
    public void StartObject(string name) => _json.WriteStartObject(name);

    public void EndObject() => _json.WriteEndObject();

    /// <summary>Closes the document and returns its UTF-8 bytes; write nothing after.</summary>
    public byte[] ToArray()
    {
        _json.WriteEndObject();
        _json.Flush();
        return _buffer.ToArray();
    }

    /// <summary>Lower-case hex SHA-256 of a file's bytes, streamed.</summary>
    public static string FileSha256(string path)
    {
        using var content = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(content));
    }

    public void Dispose()
    {
        _json.Dispose();
        _buffer.Dispose();
    }
}
