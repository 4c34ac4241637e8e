using System.Buffers;
using System.Formats.Tar;
using System.Globalization;
using System.Text;

namespace Orchestrator.Core.Images;

/// <summary>
/// Writes a POSIX tar (ustar headers, PAX extended headers only where ustar cannot hold a value) in
/// which equal entries always give equal bytes: no user or group names, no access or change times,
/// a fixed name for PAX headers, PAX records sorted by key. <see cref="TarWriter"/> cannot be used for
/// this: its PAX headers are named after the writing process's id.
/// </summary>
/// <remarks>Implements the pax interchange format of POSIX.1-2008 (IEEE Std 1003.1, the <c>pax</c> utility, "ustar Interchange Format" and "pax Extended Header").</remarks>
internal sealed class DeterministicTarWriter(Stream output)
{
    private const int BlockSize = 512;
    private const long MaxOctal11 = 0x1FFFFFFFF; // 077777777777: what an 11-digit octal field holds
    private const int MaxOctal7 = 0x1FFFFF;      // 07777777
    private const string PaxHeaderName = "././@PaxHeader";

    /// <summary>Writes one entry; <paramref name="content"/> must hold exactly <see cref="LayerFile.Size"/> bytes for a regular file.</summary>
    /// <exception cref="InvalidDataException">The content is shorter than the entry's size.</exception>
    public async Task WriteEntryAsync(LayerFile entry, Stream? content, CancellationToken cancellationToken = default)
    {
        var records = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        var (prefix, name) = SplitName(entry.Name);
        if (name is null)
        {
            records["path"] = Encoding.UTF8.GetBytes(entry.Name);
            (prefix, name) = (string.Empty, Truncate(entry.Name, 100));
        }

        var linkName = entry.LinkName;
        if (Encoding.UTF8.GetByteCount(linkName) > 100)
        {
            records["linkpath"] = Encoding.UTF8.GetBytes(linkName);
            linkName = Truncate(linkName, 100);
        }

        if (entry.Size > MaxOctal11)
        {
            records["size"] = Encoding.UTF8.GetBytes(entry.Size.ToString(CultureInfo.InvariantCulture));
        }

        if (entry.Uid is < 0 or > MaxOctal7)
        {
            records["uid"] = Encoding.UTF8.GetBytes(entry.Uid.ToString(CultureInfo.InvariantCulture));
        }

        if (entry.Gid is < 0 or > MaxOctal7)
        {
            records["gid"] = Encoding.UTF8.GetBytes(entry.Gid.ToString(CultureInfo.InvariantCulture));
        }

        if (entry.ModificationTime is < 0 or > MaxOctal11)
        {
            records["mtime"] = Encoding.UTF8.GetBytes(entry.ModificationTime.ToString(CultureInfo.InvariantCulture));
        }

        foreach (var (key, value) in entry.ExtendedAttributes)
        {
            records["SCHILY.xattr." + key] = value;
        }

        if (records.Count > 0)
        {
            var body = PaxBody(records);
            var paxHeader = new LayerFile(
                PaxHeaderName, TarEntryType.ExtendedAttributes, 0b110_100_100, 0, 0, Math.Clamp(entry.ModificationTime, 0, MaxOctal11), body.Length,
                string.Empty, null, 0, 0, []);
            await output.WriteAsync(Header(paxHeader, string.Empty, PaxHeaderName, string.Empty, (byte)'x'), cancellationToken).ConfigureAwait(false);
            await output.WriteAsync(body, cancellationToken).ConfigureAwait(false);
            await PadAsync(body.Length, cancellationToken).ConfigureAwait(false);
        }

        await output.WriteAsync(Header(entry, prefix, name, linkName, TypeFlag(entry.Type)), cancellationToken).ConfigureAwait(false);
        if (entry.Type is TarEntryType.RegularFile && entry.Size > 0)
        {
            if (content is null)
            {
                throw new InvalidDataException($"tar entry {entry.Name}: {entry.Size} bytes of content expected, none given");
            }

            await CopyExactlyAsync(content, entry.Size, entry.Name, cancellationToken).ConfigureAwait(false);
            await PadAsync(entry.Size, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes the two zero blocks that end an archive.</summary>
    public async Task FinishAsync(CancellationToken cancellationToken = default) =>
        await output.WriteAsync(new byte[2 * BlockSize], cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Splits a name into ustar's prefix (up to 155 bytes) and name (up to 100 bytes) at a slash;
    /// name is null when no split fits, and a PAX <c>path</c> record is needed.
    /// </summary>
    internal static (string Prefix, string? Name) SplitName(string path)
    {
        if (!IsAscii(path))
        {
            // Non-ASCII names go to PAX, which is defined as UTF-8; ustar fields have no encoding.
            return (string.Empty, null);
        }

        if (path.Length <= 100)
        {
            return (string.Empty, path);
        }

        // The split point must leave a non-empty name: search from the end of the allowed prefix.
        var trimmed = path.EndsWith('/') ? path[..^1] : path;
        for (var slash = Math.Min(155, trimmed.Length - 1); slash > 0; slash--)
        {
            if (trimmed[slash] == '/' && path.Length - slash - 1 <= 100 && path.Length - slash - 1 > 0)
            {
                return (path[..slash], path[(slash + 1)..]);
            }
        }

        return (string.Empty, null);
    }

    private static bool IsAscii(string value)
    {
        foreach (var c in value)
        {
            if (c > 127)
            {
                return false;
            }
        }

        return true;
    }

    private static byte[] PaxBody(SortedDictionary<string, byte[]> records)
    {
        using var body = new MemoryStream();
        foreach (var (key, value) in records)
        {
            // "LEN key=value\n", where LEN counts its own digits too; values are bytes (xattrs may be binary).
            var rest = Encoding.UTF8.GetByteCount(key) + value.Length + 3; // ' ', '=', '\n'
            var length = rest + 1;
            while (length != rest + length.ToString(CultureInfo.InvariantCulture).Length)
            {
                length = rest + length.ToString(CultureInfo.InvariantCulture).Length;
            }

            body.Write(Encoding.UTF8.GetBytes($"{length.ToString(CultureInfo.InvariantCulture)} {key}="));
            body.Write(value);
            body.WriteByte((byte)'\n');
        }

        return body.ToArray();
    }

    private static byte[] Header(LayerFile entry, string prefix, string name, string linkName, byte typeFlag)
    {
        var header = new byte[BlockSize];
        WriteText(header, 0, 100, name);
        WriteOctal(header, 100, 8, entry.Mode & 0xFFF);
        WriteOctal(header, 108, 8, Math.Clamp(entry.Uid, 0, MaxOctal7));
        WriteOctal(header, 116, 8, Math.Clamp(entry.Gid, 0, MaxOctal7));
        WriteOctal(header, 124, 12, entry.Type is TarEntryType.RegularFile or TarEntryType.ExtendedAttributes ? Math.Min(entry.Size, MaxOctal11) : 0);
        WriteOctal(header, 136, 12, Math.Clamp(entry.ModificationTime, 0, MaxOctal11));
        header[156] = typeFlag;
        WriteText(header, 157, 100, linkName);
        WriteText(header, 257, 6, "ustar");
        header[263] = (byte)'0';
        header[264] = (byte)'0';
        if (entry.Type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice)
        {
            WriteOctal(header, 329, 8, entry.DeviceMajor);
            WriteOctal(header, 337, 8, entry.DeviceMinor);
        }

        WriteText(header, 345, 155, prefix);

        // The checksum is taken with its own field as eight spaces, then written as six octal digits, NUL, space.
        header.AsSpan(148, 8).Fill((byte)' ');
        var sum = 0;
        foreach (var b in header)
        {
            sum += b;
        }

        WriteText(header, 148, 7, Convert.ToString(sum, 8).PadLeft(6, '0'));
        header[155] = (byte)' ';
        return header;
    }

    private static void WriteOctal(byte[] header, int offset, int length, long value) =>
        WriteText(header, offset, length - 1, Convert.ToString(value, 8).PadLeft(length - 1, '0'));

    private static void WriteText(byte[] header, int offset, int length, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        bytes.AsSpan(0, Math.Min(bytes.Length, length)).CopyTo(header.AsSpan(offset, length));
    }

    private static string Truncate(string value, int bytes)
    {
        var result = value;
        while (Encoding.UTF8.GetByteCount(result) > bytes)
        {
            result = result[..^1];
        }

        return result;
    }

    private static byte TypeFlag(TarEntryType type) => type switch
    {
        TarEntryType.RegularFile => (byte)'0',
        TarEntryType.HardLink => (byte)'1',
        TarEntryType.SymbolicLink => (byte)'2',
        TarEntryType.CharacterDevice => (byte)'3',
        TarEntryType.BlockDevice => (byte)'4',
        TarEntryType.Directory => (byte)'5',
        TarEntryType.Fifo => (byte)'6',
        _ => throw new InvalidDataException($"tar entry type {type} cannot be written to a layer"),
    };

    private async Task PadAsync(long written, CancellationToken cancellationToken)
    {
        var remainder = (int)(written % BlockSize);
        if (remainder != 0)
        {
            await output.WriteAsync(new byte[BlockSize - remainder], cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CopyExactlyAsync(Stream content, long size, string name, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            var left = size;
            while (left > 0)
            {
                var read = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new InvalidDataException($"tar entry {name}: content ended {left} bytes short of its size {size}");
                }

                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                left -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
