using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Core.Definitions;

namespace Orchestrator.Core.Packages;

/// <summary>
/// The package cache's folder: <c>sha256/HEX</c> holds each file under the SHA-256 of its bytes, <c>index/HEX.json</c>
/// says what it is (name, version, architecture, kind, size, when fetched and last used). Files are written to
/// <c>tmp/</c>, hashed while written, and renamed into place only when they match: two processes filling the cache at
/// once each write their own temporary file, and a half-written file never carries a hash name.
/// </summary>
public sealed class PackageStore
{
    private readonly TimeProvider _time;

    /// <summary>A store over <paramref name="folder"/> (created on first write).</summary>
    public PackageStore(string folder, TimeProvider? time = null)
    {
        Folder = Path.GetFullPath(folder);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The cache folder.</summary>
    public string Folder { get; }

    /// <summary>The cache folder of a workspace: <c>cache/</c> beside the state file (by default <c>.orchestrator/cache</c>).</summary>
    public static string FolderFor(OrchestratorConfig config) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(config.StatePath)) ?? config.RootDirectory, "cache");

    /// <summary>The path a file with SHA-256 <paramref name="sha256"/> has in the cache (whether or not it is there).</summary>
    public string PathOf(string sha256) => Path.Combine(Folder, "sha256", Hex(sha256));

    /// <summary>
    /// The cached file with SHA-256 <paramref name="sha256"/>, hashed again now; null when the cache lacks it. Its
    /// last-used time is updated.
    /// </summary>
    /// <exception cref="PackageIntegrityException">The file's bytes no longer hash to its name; it is removed.</exception>
    public async Task<string?> TryGetVerifiedAsync(string sha256, string what, CancellationToken cancellationToken = default)
    {
        var path = PathOf(sha256);
        if (!File.Exists(path))
        {
            return null;
        }

        string actual;
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, useAsync: true))
        {
            actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false));
        }

        if (!string.Equals(actual, Hex(sha256), StringComparison.Ordinal))
        {
            TryDelete(path);
            throw new PackageIntegrityException(what, Hex(sha256), actual, path);
        }

        Touch(sha256);
        return path;
    }

    /// <summary>
    /// Copies <paramref name="content"/> into the cache as <paramref name="entry"/>, hashing it on the way; stores it
    /// only when its SHA-256 is <see cref="PackageCacheEntry.Sha256"/>.
    /// </summary>
    /// <returns>The cached file's path.</returns>
    /// <exception cref="PackageIntegrityException">The bytes hash to something else; nothing is stored.</exception>
    public async Task<string> AddAsync(Stream content, PackageCacheEntry entry, string source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(entry);
        var tmp = Path.Combine(Folder, "tmp");
        Directory.CreateDirectory(tmp);
        Directory.CreateDirectory(Path.Combine(Folder, "sha256"));
        var partial = Path.Combine(tmp, $"{Hex(entry.Sha256)}.{Guid.NewGuid():N}");
        try
        {
            string actual;
            long size;
            await using (var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[1 << 16];
                size = 0;
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    size += read;
                }

                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            }

            if (!string.Equals(actual, Hex(entry.Sha256), StringComparison.Ordinal))
            {
                throw new PackageIntegrityException(entry.Describe(), Hex(entry.Sha256), actual, source);
            }

            var path = PathOf(entry.Sha256);
            File.Move(partial, path, overwrite: true); // same bytes whoever wins: the name is their hash
            var now = _time.GetUtcNow();
            WriteEntry(entry with { Sha256 = Hex(entry.Sha256), Size = size, Fetched = now, LastUsed = now });
            return path;
        }
        finally
        {
            TryDelete(partial);
        }
    }

    /// <summary>Every cached file with its index entry, sorted by kind, name and version. A file without an entry is listed with what is known.</summary>
    public IReadOnlyList<PackageCacheEntry> List()
    {
        var files = Path.Combine(Folder, "sha256");
        if (!Directory.Exists(files))
        {
            return [];
        }

        var entries = new List<PackageCacheEntry>();
        foreach (var path in Directory.EnumerateFiles(files))
        {
            var hex = Path.GetFileName(path);
            var info = new FileInfo(path);
            var entry = ReadEntry(hex) ?? new PackageCacheEntry(hex, "?", "?", "?", "unknown", hex) { Fetched = info.LastWriteTimeUtc, LastUsed = info.LastWriteTimeUtc };
            entries.Add(entry with { Size = info.Length });
        }

        return [.. entries.OrderBy(e => e.Kind, StringComparer.Ordinal).ThenBy(e => e.Name, StringComparer.Ordinal).ThenBy(e => e.Version, StringComparer.Ordinal).ThenBy(e => e.Sha256, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Removes every entry (<paramref name="all"/>) or those last used before <paramref name="olderThan"/> ago;
    /// with <paramref name="dryRun"/> only says which.
    /// </summary>
    /// <returns>The entries removed (or that would be).</returns>
    public IReadOnlyList<PackageCacheEntry> Prune(TimeSpan? olderThan, bool all, bool dryRun)
    {
        var cutoff = _time.GetUtcNow() - (olderThan ?? TimeSpan.Zero);
        var pruned = List().Where(e => all || e.LastUsed < cutoff).ToList();
        if (!dryRun)
        {
            foreach (var entry in pruned)
            {
                TryDelete(PathOf(entry.Sha256));
                TryDelete(EntryPath(entry.Sha256));
            }
        }

        return pruned;
    }

    /// <summary>Marks the file as used now (its index entry's last-used time).</summary>
    private void Touch(string sha256)
    {
        if (ReadEntry(Hex(sha256)) is { } entry)
        {
            WriteEntry(entry with { LastUsed = _time.GetUtcNow() });
        }
    }

    private string EntryPath(string sha256) => Path.Combine(Folder, "index", Hex(sha256) + ".json");

    private PackageCacheEntry? ReadEntry(string hex)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(EntryPath(hex)), PackageCacheJsonContext.Default.PackageCacheEntry);
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            return null; // a missing or broken entry: the file is still listed, by its hash
        }
    }

    // temp + rename: a reader sees the old entry or the new one, never half of one.
    private void WriteEntry(PackageCacheEntry entry)
    {
        var folder = Path.Combine(Folder, "index");
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{entry.Sha256}.{Guid.NewGuid():N}");
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(entry, PackageCacheJsonContext.Default.PackageCacheEntry));
        File.Move(temporary, EntryPath(entry.Sha256), overwrite: true);
    }

    private static string Hex(string sha256)
    {
        var hex = sha256.StartsWith("sha256:", StringComparison.Ordinal) ? sha256[7..] : sha256;
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"not a SHA-256 (64 hex digits): '{sha256}'", nameof(sha256));
        }

        return hex.ToLowerInvariant();
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Another process may be using it; the next prune takes it.
        }
    }
}

/// <summary>What a cached file is.</summary>
/// <param name="Sha256">The file's SHA-256 (its name in the cache), 64 lower-case hex digits.</param>
/// <param name="Name">The package or distribution name.</param>
/// <param name="Version">Its version.</param>
/// <param name="Architecture">The Debian architecture (<c>amd64</c>, <c>all</c>), or <c>python</c> for a distribution.</param>
/// <param name="Kind"><c>deb</c> or <c>python</c>.</param>
/// <param name="FileName">The file's name at its source (<c>hello_2.10-3_amd64.deb</c>, <c>greet-1.0-py3-none-any.whl</c>).</param>
public sealed record PackageCacheEntry(string Sha256, string Name, string Version, string Architecture, string Kind, string FileName)
{
    /// <summary>Bytes.</summary>
    public long Size { get; init; }

    /// <summary>When it was stored.</summary>
    public DateTimeOffset Fetched { get; init; }

    /// <summary>When a build or lock last took it.</summary>
    public DateTimeOffset LastUsed { get; init; }

    /// <summary><c>NAME VERSION ARCH</c>, for messages.</summary>
    public string Describe() => $"{Name} {Version} {Architecture}";
}

/// <summary>Source-generated JSON for the cache's index entries and the CLI's <c>cache --json</c> (Native AOT).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(PackageCacheEntry))]
[JsonSerializable(typeof(List<PackageCacheEntry>))]
[JsonSerializable(typeof(CacheListDocument))]
[JsonSerializable(typeof(CachePruneDocument))]
public sealed partial class PackageCacheJsonContext : JsonSerializerContext;

/// <summary>What <c>orchestrator cache ls --json</c> prints.</summary>
/// <param name="Folder">The cache folder.</param>
/// <param name="Entries">Every cached file.</param>
/// <param name="TotalBytes">Their size together.</param>
public sealed record CacheListDocument(string Folder, List<PackageCacheEntry> Entries, long TotalBytes);

/// <summary>What <c>orchestrator cache prune --json</c> prints.</summary>
/// <param name="Folder">The cache folder.</param>
/// <param name="DryRun">True when nothing was removed, only listed.</param>
/// <param name="Removed">The entries removed (or that would be).</param>
/// <param name="FreedBytes">Their size together.</param>
/// <param name="Kept">How many entries stay.</param>
public sealed record CachePruneDocument(string Folder, bool DryRun, List<PackageCacheEntry> Removed, long FreedBytes, int Kept);
