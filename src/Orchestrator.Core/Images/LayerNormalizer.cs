using System.Formats.Tar;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Images;

/// <summary>
/// Rewrites a layer tar so that the same files always give the same bytes, whatever the build's
/// clock, the engine's walk order or the host's user names: entries sorted by name, modification
/// times clamped to the source date (reproducible-builds.org's <c>SOURCE_DATE_EPOCH</c> rule),
/// numeric owners only, no access or change times, hard links pointing at the first name of their
/// group, and files that differ on every run (logs, apt lists and caches, ldconfig's aux cache,
/// debconf backups) dropped. Whiteouts (<c>.wh.*</c>) are kept as they are.
/// </summary>
/// <remarks>
/// Memory stays flat in the layer size: file contents are spooled to a temporary file next to
/// <see cref="LayerNormalizationOptions.ScratchDirectory"/>, only the entry list is held.
/// </remarks>
public static class LayerNormalizer
{
    /// <summary>
    /// Paths dropped from every layer (relative, no leading slash): they hold the time, the order of
    /// a run or a cache that the next apt or ldconfig run rebuilds. A trailing <c>/</c> drops the files
    /// below a folder but keeps the folder.
    /// </summary>
    public static IReadOnlyList<string> DroppedPaths { get; } =
    [
        "var/cache/ldconfig/aux-cache",
        "var/cache/apt/pkgcache.bin",
        "var/cache/apt/srcpkgcache.bin",
        "var/cache/debconf/config.dat-old",
        "var/cache/debconf/templates.dat-old",
        "var/cache/debconf/passwords.dat-old",
        "var/lib/apt/lists/",
        "var/log/apt/",
        "var/log/alternatives.log",
        "var/log/bootstrap.log",
        "var/log/dpkg.log",
    ];

    /// <summary>
    /// Reads the uncompressed layer tar <paramref name="input"/> and writes its normalized form to
    /// <paramref name="output"/> (uncompressed; the caller hashes it for the diff id and compresses it).
    /// </summary>
    /// <returns>The entries written, in order.</returns>
    /// <exception cref="InvalidDataException">The input is not a readable tar.</exception>
    public static async Task<IReadOnlyList<LayerFile>> NormalizeAsync(Stream input, Stream output, LayerNormalizationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(options);
        Directory.CreateDirectory(options.ScratchDirectory);
        var spoolPath = Path.Combine(options.ScratchDirectory, $"spool-{Guid.NewGuid():N}");
        await using var spool = new FileStream(spoolPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);

        var entries = new Dictionary<string, Spooled>(StringComparer.Ordinal);
        var reader = new PosixTarReader(input);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } entry)
        {
            var name = NormalizeName(entry.Name, entry.Type is TarEntryType.Directory);
            if (name.Length == 0 || IsDropped(name, entry.Type) || options.DroppedWhiteouts?.Contains(name) == true)
            {
                continue;
            }

            entries[name] = await SpoolAsync(entry, name, spool, options, cancellationToken).ConfigureAwait(false); // a later entry of the same name replaces the earlier one, as on extraction
        }

        var ordered = CanonicalizeHardLinks(entries);
        var writer = new DeterministicTarWriter(output);
        foreach (var (file, offset) in ordered)
        {
            if (file.Type is TarEntryType.RegularFile && file.Size > 0)
            {
                spool.Position = offset;
                await writer.WriteEntryAsync(file, spool, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await writer.WriteEntryAsync(file, null, cancellationToken).ConfigureAwait(false);
            }
        }

        await writer.FinishAsync(cancellationToken).ConfigureAwait(false);
        return ordered.Select(o => o.File).ToList();
    }

    /// <summary>
    /// A tar entry name as layers hold it: no leading <c>./</c> or <c>/</c>, no <c>.</c> segments, and a
    /// trailing <c>/</c> for directories. Empty for the root folder itself.
    /// </summary>
    internal static string NormalizeName(string name, bool isDirectory)
    {
        var segments = name.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => s != ".");
        var joined = string.Join('/', segments);
        return joined.Length > 0 && isDirectory ? joined + "/" : joined;
    }

    /// <summary>True when <paramref name="name"/> is one of <see cref="DroppedPaths"/> (folders themselves and whiteouts are kept).</summary>
    internal static bool IsDropped(string name, TarEntryType type)
    {
        if (type is TarEntryType.Directory || Path.GetFileName(name).StartsWith(".wh.", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var dropped in DroppedPaths)
        {
            if (dropped.EndsWith('/') ? name.StartsWith(dropped, StringComparison.Ordinal) && name != dropped + "lock" : name == dropped)
            {
                return true;
            }
        }

        return false;
    }

    private static async Task<Spooled> SpoolAsync(TarHeader entry, string name, FileStream spool, LayerNormalizationOptions options, CancellationToken cancellationToken)
    {
        var offset = spool.Length;
        Digest? content = null;
        var size = 0L;
        if (entry.Type is TarEntryType.RegularFile)
        {
            spool.Position = offset;
            using var hashing = new HashingWriteStream(spool);
            await entry.Data.CopyToAsync(hashing, cancellationToken).ConfigureAwait(false);
            content = hashing.GetDigest();
            size = hashing.BytesWritten;
        }

        var isDevice = entry.Type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice;
        var mtime = Math.Min(entry.ModificationTime, options.SourceDateEpoch);
        var linkName = entry.Type is TarEntryType.HardLink ? NormalizeName(entry.LinkName, isDirectory: false) : entry.Type is TarEntryType.SymbolicLink ? entry.LinkName : string.Empty;
        var file = new LayerFile(
            name, entry.Type, entry.Mode, entry.Uid, entry.Gid, mtime, size, linkName, content,
            isDevice ? entry.DeviceMajor : 0, isDevice ? entry.DeviceMinor : 0, entry.ExtendedAttributes);
        return new Spooled(file, offset);
    }

    // A hard link must follow the file it names, so after sorting the first name of each link group
    // carries the content and every other name links to it.
    private static List<(LayerFile File, long Offset)> CanonicalizeHardLinks(Dictionary<string, Spooled> entries)
    {
        var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (name, spooled) in entries)
        {
            if (spooled.File.Type is not TarEntryType.HardLink)
            {
                continue;
            }

            var root = RootOf(entries, spooled.File.LinkName);
            if (root is null)
            {
                continue; // names a file outside this layer: left as it is
            }

            if (!groups.TryGetValue(root, out var members))
            {
                groups[root] = members = [root];
            }

            members.Add(name);
        }

        var result = new Dictionary<string, (LayerFile File, long Offset)>(StringComparer.Ordinal);
        foreach (var (name, spooled) in entries)
        {
            result[name] = (spooled.File, spooled.Offset);
        }

        foreach (var (root, members) in groups)
        {
            var target = entries[root];
            var first = members.Min(StringComparer.Ordinal)!;
            foreach (var member in members)
            {
                result[member] = member == first
                    ? (target.File with { Name = first }, target.Offset)
                    : (target.File with { Name = member, Type = TarEntryType.HardLink, Size = 0, ContentDigest = null, LinkName = first }, 0);
            }
        }

        return result.Values.OrderBy(r => r.File.Name, StringComparer.Ordinal).ToList();
    }

    private static string? RootOf(Dictionary<string, Spooled> entries, string name)
    {
        var current = name;
        for (var hops = 0; hops < 64; hops++)
        {
            if (!entries.TryGetValue(current, out var spooled))
            {
                return null;
            }

            if (spooled.File.Type is not TarEntryType.HardLink)
            {
                return spooled.File.Type is TarEntryType.RegularFile ? current : null;
            }

            current = spooled.File.LinkName;
        }

        return null;
    }

    private sealed record Spooled(LayerFile File, long Offset);
}

/// <summary>What <see cref="LayerNormalizer"/> needs to know.</summary>
public sealed class LayerNormalizationOptions
{
    /// <summary>
    /// Seconds since the Unix epoch: every modification time later than this is set to it. Use the
    /// lock's source date (the newest <c>Date:</c> of the mirror's Release files).
    /// </summary>
    public required long SourceDateEpoch { get; init; }

    /// <summary>Where the spool file for file contents is written; created when missing.</summary>
    public required string ScratchDirectory { get; init; }

    /// <summary>
    /// Whiteout entries (normalized names, <c>dir/.wh.NAME</c>) to leave out: those of files that only a dropped staging
    /// layer held (the package cache's <c>.deb</c>s), which deleted nothing the image has. <value>The default is none.</value>
    /// </summary>
    public IReadOnlySet<string>? DroppedWhiteouts { get; init; }
}
