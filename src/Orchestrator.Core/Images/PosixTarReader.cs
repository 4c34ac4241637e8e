using System.Buffers;
using System.Formats.Tar;
using System.Globalization;
using System.Text;

namespace Orchestrator.Core.Images;

/// <summary>One entry as <see cref="PosixTarReader"/> reads it; <see cref="Data"/> is valid until the next read.</summary>
internal sealed record TarHeader(
    string Name, TarEntryType Type, int Mode, int Uid, int Gid, long ModificationTime, long Size, string LinkName,
    int DeviceMajor, int DeviceMinor, IReadOnlyList<KeyValuePair<string, byte[]>> ExtendedAttributes)
{
    public Stream Data { get; init; } = Stream.Null;
}

/// <summary>
/// Reads ustar, PAX (local <c>x</c> and global <c>g</c> headers) and GNU (<c>L</c>/<c>K</c> long names,
/// base-256 numbers) tar archives, keeping PAX <c>SCHILY.xattr.*</c> values as the bytes they are:
/// <see cref="TarReader"/> decodes them as UTF-8, which corrupts binary values such as
/// <c>security.capability</c> (the capability of <c>ping</c>).
/// </summary>
/// <remarks>POSIX.1-2008 <c>pax</c> "ustar Interchange Format" and "pax Extended Header"; GNU tar's "Basic Tar Format".</remarks>
internal sealed class PosixTarReader(Stream input)
{
    private const int BlockSize = 512;
    private readonly Stream _input = input;
    private readonly byte[] _header = new byte[BlockSize];
    private long _pendingData;
    private int _pendingPadding;

    /// <summary>The next file entry, or null at the end of the archive.</summary>
    /// <exception cref="InvalidDataException">A header is malformed or the archive ends inside an entry.</exception>
    public async Task<TarHeader?> ReadAsync(CancellationToken cancellationToken = default)
    {
        await SkipPendingAsync(cancellationToken).ConfigureAwait(false);
        Dictionary<string, byte[]>? pax = null;
        string? longName = null, longLink = null;
        while (true)
        {
            if (!await ReadBlockAsync(_header, cancellationToken).ConfigureAwait(false) || _header.All(b => b == 0))
            {
                return null; // the end-of-archive zero block, or an archive cut at an entry boundary
            }

            VerifyChecksum();
            var typeFlag = _header[156];
            var size = ReadNumber(124, 12);
            switch (typeFlag)
            {
                case (byte)'x':
                    pax = ParsePax(await ReadAllAsync(size, cancellationToken).ConfigureAwait(false), pax);
                    continue;
                case (byte)'g':
                    await ReadAllAsync(size, cancellationToken).ConfigureAwait(false); // defaults for the archive: layers carry none we keep
                    continue;
                case (byte)'L':
                    longName = CString(await ReadAllAsync(size, cancellationToken).ConfigureAwait(false));
                    continue;
                case (byte)'K':
                    longLink = CString(await ReadAllAsync(size, cancellationToken).ConfigureAwait(false));
                    continue;
            }

            var name = CString(_header.AsSpan(0, 100));
            var magic = Encoding.ASCII.GetString(_header, 257, 5);
            if (magic == "ustar" && _header[345] != 0)
            {
                name = CString(_header.AsSpan(345, 155)) + "/" + name;
            }

            name = longName ?? name;
            var linkName = longLink ?? CString(_header.AsSpan(157, 100));
            var uid = (int)ReadNumber(108, 8);
            var gid = (int)ReadNumber(116, 8);
            var mtime = ReadNumber(136, 12);
            var xattrs = new List<KeyValuePair<string, byte[]>>();
            if (pax is not null)
            {
                foreach (var (key, value) in pax)
                {
                    switch (key)
                    {
                        case "path": name = Encoding.UTF8.GetString(value); break;
                        case "linkpath": linkName = Encoding.UTF8.GetString(value); break;
                        case "size": size = long.Parse(Encoding.ASCII.GetString(value), CultureInfo.InvariantCulture); break;
                        case "uid": uid = int.Parse(Encoding.ASCII.GetString(value), CultureInfo.InvariantCulture); break;
                        case "gid": gid = int.Parse(Encoding.ASCII.GetString(value), CultureInfo.InvariantCulture); break;
                        case "mtime": mtime = (long)Math.Floor(double.Parse(Encoding.ASCII.GetString(value), CultureInfo.InvariantCulture)); break;
                        default:
                            if (key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal))
                            {
                                xattrs.Add(new(key["SCHILY.xattr.".Length..], value));
                            }

                            break;
                    }
                }
            }

            xattrs.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            var type = typeFlag switch
            {
                (byte)'0' or 0 or (byte)'7' => name.EndsWith('/') ? TarEntryType.Directory : TarEntryType.RegularFile,
                (byte)'1' => TarEntryType.HardLink,
                (byte)'2' => TarEntryType.SymbolicLink,
                (byte)'3' => TarEntryType.CharacterDevice,
                (byte)'4' => TarEntryType.BlockDevice,
                (byte)'5' => TarEntryType.Directory,
                (byte)'6' => TarEntryType.Fifo,
                _ => throw new InvalidDataException($"tar entry {name} has type '{(char)typeFlag}', which an image layer cannot hold"),
            };
            var dataSize = type is TarEntryType.RegularFile ? size : (type is TarEntryType.HardLink or TarEntryType.SymbolicLink or TarEntryType.Directory ? 0 : size);
            _pendingData = size;
            _pendingPadding = (int)((BlockSize - (size % BlockSize)) % BlockSize);
            return new TarHeader(
                name, type, (int)ReadNumber(100, 8) & 0xFFF, uid, gid, mtime, dataSize, linkName,
                (int)ReadNumber(329, 8), (int)ReadNumber(337, 8), xattrs)
            {
                Data = type is TarEntryType.RegularFile ? new EntryStream(this) : Stream.Null,
            };
        }
    }

    private void VerifyChecksum()
    {
        var stored = ReadNumber(148, 8);
        long sum = 0;
        for (var i = 0; i < BlockSize; i++)
        {
            sum += i is >= 148 and < 156 ? (byte)' ' : _header[i];
        }

        if (sum != stored)
        {
            throw new InvalidDataException($"a tar header's checksum is {stored} but its bytes sum to {sum}: the archive is corrupt");
        }
    }

    /// <summary>An octal field, or GNU's base-256 form (high bit of the first byte set).</summary>
    private long ReadNumber(int offset, int length)
    {
        var field = _header.AsSpan(offset, length);
        if ((field[0] & 0x80) != 0)
        {
            long value = field[0] & 0x7F;
            for (var i = 1; i < field.Length; i++)
            {
                value = (value << 8) | field[i];
            }

            return value;
        }

        var text = Encoding.ASCII.GetString(field).Trim('\0', ' ');
        return text.Length == 0 ? 0 : Convert.ToInt64(text, 8);
    }

    private static string CString(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    private static Dictionary<string, byte[]> ParsePax(byte[] body, Dictionary<string, byte[]>? into)
    {
        var records = into ?? new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var position = 0;
        while (position < body.Length)
        {
            var space = Array.IndexOf(body, (byte)' ', position);
            if (space < 0 || !int.TryParse(Encoding.ASCII.GetString(body, position, space - position), NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                || length <= 0 || position + length > body.Length)
            {
                throw new InvalidDataException("a PAX extended header holds a malformed record");
            }

            var record = body.AsSpan(space + 1, position + length - space - 2); // without the trailing newline
            var equals = record.IndexOf((byte)'=');
            if (equals < 0)
            {
                throw new InvalidDataException("a PAX extended header holds a record without '='");
            }

            records[Encoding.UTF8.GetString(record[..equals])] = record[(equals + 1)..].ToArray();
            position += length;
        }

        return records;
    }

    private async Task<byte[]> ReadAllAsync(long size, CancellationToken cancellationToken)
    {
        if (size > 16 * 1024 * 1024)
        {
            throw new InvalidDataException($"a tar metadata header claims {size} bytes");
        }

        var data = new byte[size];
        await _input.ReadExactlyAsync(data, cancellationToken).ConfigureAwait(false);
        var padding = (int)((BlockSize - (size % BlockSize)) % BlockSize);
        if (padding > 0)
        {
            await _input.ReadExactlyAsync(new byte[padding], cancellationToken).ConfigureAwait(false);
        }

        return data;
    }

    private async Task<bool> ReadBlockAsync(byte[] block, CancellationToken cancellationToken)
    {
        var read = await _input.ReadAtLeastAsync(block, BlockSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            return false;
        }

        return read == BlockSize ? true : throw new InvalidDataException("the tar archive ends inside a header");
    }

    private async Task SkipPendingAsync(CancellationToken cancellationToken)
    {
        var skip = _pendingData + _pendingPadding;
        _pendingData = 0;
        _pendingPadding = 0;
        if (skip == 0)
        {
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            while (skip > 0)
            {
                var read = await _input.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, skip)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new InvalidDataException("the tar archive ends inside an entry's data");
                }

                skip -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Reads the current entry's data; what it leaves unread is skipped by the next ReadAsync.
    private sealed class EntryStream(PosixTarReader reader) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (reader._pendingData == 0)
            {
                return 0;
            }

            var read = await reader._input.ReadAsync(buffer[..(int)Math.Min(buffer.Length, reader._pendingData)], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new InvalidDataException("the tar archive ends inside an entry's data");
            }

            reader._pendingData -= read;
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
