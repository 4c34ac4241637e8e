using System.Formats.Tar;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Images;

/// <summary>
/// One entry of a normalized layer tar, as written: what two layers are compared by when
/// <c>verify-reproducible</c> looks for the first file that differs.
/// </summary>
/// <param name="Name">The path inside the layer, without a leading <c>./</c> or <c>/</c>; directories end in <c>/</c>.</param>
/// <param name="Type">Regular file, directory, symbolic or hard link, device or FIFO.</param>
/// <param name="Mode">Permission bits with set-user-id, set-group-id and sticky (<c>07777</c>).</param>
/// <param name="Uid">Numeric owner.</param>
/// <param name="Gid">Numeric group.</param>
/// <param name="ModificationTime">Seconds since the Unix epoch, after clamping to the source date.</param>
/// <param name="Size">Bytes of content; 0 for everything but regular files.</param>
/// <param name="LinkName">The target of a symbolic or hard link; empty otherwise.</param>
/// <param name="ContentDigest">sha256 of the content of a regular file; null for other types.</param>
/// <param name="DeviceMajor">Major number of a character or block device.</param>
/// <param name="DeviceMinor">Minor number of a character or block device.</param>
/// <param name="ExtendedAttributes">Extended attributes (<c>security.capability</c>, …) with their raw values, as PAX <c>SCHILY.xattr.NAME</c> records carry them, sorted by name.</param>
public sealed record LayerFile(
    string Name,
    TarEntryType Type,
    int Mode,
    int Uid,
    int Gid,
    long ModificationTime,
    long Size,
    string LinkName,
    Digest? ContentDigest,
    int DeviceMajor,
    int DeviceMinor,
    IReadOnlyList<KeyValuePair<string, byte[]>> ExtendedAttributes)
{
    /// <summary>
    /// What differs between this entry and <paramref name="other"/> (same name assumed), in words, e.g.
    /// <c>content sha256:… vs sha256:…</c>; null when they are equal.
    /// </summary>
    public string? DescribeDifference(LayerFile other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var differences = new List<string>();
        Add(differences, "type", Type, other.Type);
        Add(differences, "mode", Convert.ToString(Mode, 8), Convert.ToString(other.Mode, 8));
        Add(differences, "uid", Uid, other.Uid);
        Add(differences, "gid", Gid, other.Gid);
        Add(differences, "mtime", ModificationTime, other.ModificationTime);
        Add(differences, "size", Size, other.Size);
        Add(differences, "link", LinkName, other.LinkName);
        Add(differences, "content", ContentDigest?.ToShortString(), other.ContentDigest?.ToShortString());
        Add(differences, "device", $"{DeviceMajor},{DeviceMinor}", $"{other.DeviceMajor},{other.DeviceMinor}");
        Add(differences, "xattrs", string.Join(',', ExtendedAttributes.Select(a => a.Key)), string.Join(',', other.ExtendedAttributes.Select(a => a.Key)));
        if (differences.Count == 0 && !ExtendedAttributes.Select(a => a.Value).Zip(other.ExtendedAttributes.Select(a => a.Value)).All(p => p.First.AsSpan().SequenceEqual(p.Second)))
        {
            differences.Add("xattr values differ");
        }

        return differences.Count == 0 ? null : string.Join("; ", differences);
    }

    private static void Add<T>(List<string> differences, string what, T mine, T theirs)
    {
        if (!EqualityComparer<T>.Default.Equals(mine, theirs))
        {
            differences.Add($"{what} {mine} vs {theirs}");
        }
    }
}
