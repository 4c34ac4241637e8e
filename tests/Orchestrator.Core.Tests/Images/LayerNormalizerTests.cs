using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using Orchestrator.Core.Images;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Fakes;

namespace Orchestrator.Core.Tests.Images;

public sealed class LayerNormalizerTests : IDisposable
{
    private const long SourceDate = 1_700_000_000; // 2023-11-14T22:13:20Z
    private static readonly DateTimeOffset Old = DateTimeOffset.FromUnixTimeSeconds(1_600_000_000);
    private static readonly DateTimeOffset BuildClock = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    private readonly string _scratch = Directory.CreateTempSubdirectory("orchestrator-layer-tests-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public async Task NormalizeAsync_SameFilesInAnotherOrderWithOtherNamesAndTimes_SameBytes()
    {
        // Given two tars of the same files: another order, user names, and build-time stamps on the new files
        var first = Tar(TarEntryFormat.Pax, ("usr/bin/b", "bee", BuildClock, "alice"), ("etc/a", "ay", Old, "root"));
        var second = Tar(TarEntryFormat.Gnu, ("etc/a", "ay", Old, "daemon"), ("usr/bin/b", "bee", BuildClock.AddDays(3), "bob"));

        // When both are normalized
        var (one, _) = await Normalize(first);
        var (two, _) = await Normalize(second);

        // Then the bytes are equal
        Assert.Equal(one, two);
    }

    [Fact]
    public async Task NormalizeAsync_Times_OlderKeptNewerClampedToTheSourceDate()
    {
        // Given a file from a package (older than the source date) and one written during the build
        var tar = Tar(TarEntryFormat.Pax, ("usr/share/doc/x", "doc", Old, "root"), ("etc/generated", "new", BuildClock, "root"));

        // When normalized
        var (bytes, files) = await Normalize(tar);

        // Then the old time stays and the new one is the source date; no user names are written
        var entries = TestTars.Read(bytes).ToDictionary(e => e.Name, e => e.Entry);
        Assert.Equal(Old, entries["usr/share/doc/x"].ModificationTime);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(SourceDate), entries["etc/generated"].ModificationTime);
        Assert.All(entries.Values, e => Assert.Equal(string.Empty, ((PosixTarEntry)e).UserName));
        Assert.Equal(["etc/generated", "usr/share/doc/x"], files.Select(f => f.Name));
    }

    [Fact]
    public async Task NormalizeAsync_RunToRunFiles_DroppedButFoldersLockAndWhiteoutsKept()
    {
        // Given a layer holding apt's logs and lists, ldconfig's aux cache, a debconf backup, a whiteout and the lists lock
        var tar = Tar(
            TarEntryFormat.Pax,
            ("var/log/apt/history.log", "x", Old, "root"),
            ("var/log/dpkg.log", "x", Old, "root"),
            ("var/log/wtmp", string.Empty, Old, "root"),
            ("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "x", Old, "root"),
            ("var/lib/apt/lists/lock", string.Empty, Old, "root"),
            ("var/cache/ldconfig/aux-cache", "x", Old, "root"),
            ("var/cache/debconf/templates.dat-old", "x", Old, "root"),
            ("var/log/apt/.wh.eipp.log.xz", string.Empty, Old, "root"),
            ("etc/keep", "k", Old, "root"));

        // When normalized
        var (_, files) = await Normalize(tar);

        // Then only the run-to-run files are gone
        Assert.Equal(
            ["etc/keep", "var/lib/apt/lists/lock", "var/log/apt/.wh.eipp.log.xz", "var/log/wtmp"],
            files.Select(f => f.Name));
    }

    [Fact]
    public async Task NormalizeAsync_HardLinkSortingBeforeItsTarget_FirstNameCarriesTheContent()
    {
        // Given a file z/target and a hard link a/link to it (the link sorts first)
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Ustar, leaveOpen: true))
        {
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "z/target") { DataStream = new MemoryStream("shared"u8.ToArray()), ModificationTime = Old });
            writer.WriteEntry(new UstarTarEntry(TarEntryType.HardLink, "a/link") { LinkName = "z/target", ModificationTime = Old });
        }

        // When normalized
        var (bytes, files) = await Normalize(buffer.ToArray());

        // Then a/link is the file with the content and z/target links to it, so extraction works in order
        var entries = TestTars.Read(bytes);
        Assert.Equal(("a/link", TarEntryType.RegularFile, "shared"), (entries[0].Name, entries[0].Type, entries[0].Content));
        Assert.Equal(("z/target", TarEntryType.HardLink, "a/link"), (entries[1].Name, entries[1].Type, entries[1].Entry.LinkName));
        Assert.Equal(files[0].ContentDigest, Digest.Sha256Of("shared"u8));
    }

    [Fact]
    public async Task NormalizeAsync_LongAndNonAsciiNamesAndLinks_RoundTripThroughPax()
    {
        // Given names past ustar's limits and outside ASCII, and a long symbolic link target
        var longName = string.Join('/', Enumerable.Repeat("segment-of-twenty-ch", 15)) + "/file";
        var unicode = "usr/share/locale/für/ünïcödé.mo";
        var target = "/" + string.Join('/', Enumerable.Repeat("link-target-part", 10));
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, longName) { DataStream = new MemoryStream("long"u8.ToArray()), ModificationTime = Old });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, unicode) { DataStream = new MemoryStream("u"u8.ToArray()), ModificationTime = Old });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "usr/bin/linked") { LinkName = target, ModificationTime = Old });
        }

        // When normalized
        var (bytes, _) = await Normalize(buffer.ToArray());

        // Then .NET's reader and GNU tar both read every name and the link target back
        var entries = TestTars.Read(bytes).ToDictionary(e => e.Name);
        Assert.Equal("long", entries[longName].Content);
        Assert.Equal("u", entries[unicode].Content);
        Assert.Equal(target, entries["usr/bin/linked"].Entry.LinkName);
        var listing = await GnuTarListAsync(bytes);
        Assert.Contains(longName, listing, StringComparison.Ordinal);
        Assert.Contains(unicode, listing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NormalizeAsync_BinaryCapabilityXattr_KeptByteForByte()
    {
        // Given ping with a binary security.capability value (as setcap writes it), in a PAX header written by hand
        byte[] capability = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0xfe, 0x80, 0x00];
        var tar = TarWithXattr("usr/bin/ping", "elf", "security.capability", capability);

        // When normalized
        var (bytes, files) = await Normalize(tar);

        // Then the value is the same bytes, as this reader and the record list show
        var reread = await new PosixTarReader(new MemoryStream(bytes)).ReadAsync();
        Assert.Equal("usr/bin/ping", reread!.Name);
        var xattr = Assert.Single(reread.ExtendedAttributes);
        Assert.Equal("security.capability", xattr.Key);
        Assert.Equal(capability, xattr.Value);
        Assert.Equal(capability, Assert.Single(files[0].ExtendedAttributes).Value);
    }

    [Fact]
    public async Task NormalizeAsync_DevicesDirectoriesAndModes_Kept()
    {
        // Given a directory, a character device, a FIFO and a set-user-id file owned by 0:42
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Ustar, leaveOpen: true))
        {
            writer.WriteEntry(new UstarTarEntry(TarEntryType.Directory, "./dev/") { Mode = (UnixFileMode)0b111_101_101, ModificationTime = BuildClock });
            writer.WriteEntry(new UstarTarEntry(TarEntryType.CharacterDevice, "./dev/null") { DeviceMajor = 1, DeviceMinor = 3, Mode = (UnixFileMode)0b110_110_110, ModificationTime = Old });
            writer.WriteEntry(new UstarTarEntry(TarEntryType.Fifo, "./run/initctl") { ModificationTime = Old });
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "./usr/bin/su") { Mode = (UnixFileMode)0b100_111_101_101, Gid = 42, DataStream = new MemoryStream("su"u8.ToArray()), ModificationTime = Old });
        }

        // When normalized
        var (bytes, _) = await Normalize(buffer.ToArray());

        // Then each keeps its type, numbers, mode and owner; leading ./ is gone and the folder ends in /
        var entries = TestTars.Read(bytes).ToDictionary(e => e.Name, e => (PosixTarEntry)e.Entry);
        Assert.Equal(TarEntryType.Directory, entries["dev/"].EntryType);
        Assert.Equal((1, 3), (entries["dev/null"].DeviceMajor, entries["dev/null"].DeviceMinor));
        Assert.Equal(TarEntryType.Fifo, entries["run/initctl"].EntryType);
        Assert.Equal((UnixFileMode)0b100_111_101_101, entries["usr/bin/su"].Mode);
        Assert.Equal(42, entries["usr/bin/su"].Gid);
    }

    [Fact]
    public async Task WriteAsync_SameLayerTwice_SameDiffIdAndBlobDigest()
    {
        // Given one layer
        var tar = Tar(TarEntryFormat.Pax, ("app/main.py", "print(1)\n", BuildClock, "root"));

        // When written as a blob twice
        var options = new LayerNormalizationOptions { SourceDateEpoch = SourceDate, ScratchDirectory = _scratch };
        var one = await LayerBlob.WriteAsync(new MemoryStream(tar), Path.Combine(_scratch, "a"), options);
        var two = await LayerBlob.WriteAsync(new MemoryStream(tar), Path.Combine(_scratch, "b"), options);

        // Then diff id and digest repeat, the digest is the gzip file's sha256, and the diff id that of its content
        Assert.Equal(one.DiffId, two.DiffId);
        Assert.Equal(one.Descriptor, two.Descriptor);
        var blob = await File.ReadAllBytesAsync(one.BlobPath!);
        Assert.Equal(one.Descriptor.Digest, Digest.Sha256Of(blob));
        Assert.Equal(blob.LongLength, one.Descriptor.Size);
        Assert.Equal(one.DiffId, Digest.Sha256Of(TestTars.Gunzip(blob)));
    }

    [Theory]
    [InlineData("./etc/passwd", false, "etc/passwd")]
    [InlineData("/usr/bin/", true, "usr/bin/")]
    [InlineData("usr/./lib//x", false, "usr/lib/x")]
    [InlineData("./", true, "")]
    public void NormalizeName_DotSlashAndDoubleSlashForms_RelativeCleanPathFoldersEndingInSlash(string name, bool isDirectory, string expected) =>
        Assert.Equal(expected, LayerNormalizer.NormalizeName(name, isDirectory));

    private async Task<(byte[] Bytes, IReadOnlyList<LayerFile> Files)> Normalize(byte[] tar)
    {
        using var output = new MemoryStream();
        var files = await LayerNormalizer.NormalizeAsync(new MemoryStream(tar), output, new LayerNormalizationOptions { SourceDateEpoch = SourceDate, ScratchDirectory = _scratch });
        return (output.ToArray(), files);
    }

    private static byte[] Tar(TarEntryFormat format, params (string Path, string Content, DateTimeOffset Modified, string User)[] files)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, format, leaveOpen: true))
        {
            foreach (var (path, content, modified, user) in files)
            {
                PosixTarEntry entry = format == TarEntryFormat.Gnu ? new GnuTarEntry(TarEntryType.RegularFile, path) : new PaxTarEntry(TarEntryType.RegularFile, path);
                entry.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content));
                entry.ModificationTime = modified;
                entry.UserName = user;
                entry.Mode = (UnixFileMode)0b110_100_100;
                writer.WriteEntry(entry);
            }
        }

        return buffer.ToArray();
    }

    // A PAX header carrying a binary xattr, written as GNU tar --xattrs does, since .NET's writer cannot hold binary values.
    private static byte[] TarWithXattr(string name, string content, string attribute, byte[] value)
    {
        using var buffer = new MemoryStream();
        var key = Encoding.UTF8.GetBytes($" SCHILY.xattr.{attribute}=");
        var length = 0;
        for (var digits = 1; digits < 5; digits++)
        {
            var candidate = digits + key.Length + value.Length + 1;
            if (candidate.ToString(System.Globalization.CultureInfo.InvariantCulture).Length == digits)
            {
                length = candidate;
                break;
            }
        }

        var record = Encoding.ASCII.GetBytes(length.ToString(System.Globalization.CultureInfo.InvariantCulture)).Concat(key).Concat(value).Append((byte)'\n').ToArray();
        buffer.Write(Header("PaxHeaders/" + name, 'x', record.Length));
        buffer.Write(record);
        buffer.Write(new byte[(512 - (record.Length % 512)) % 512]);
        var data = Encoding.UTF8.GetBytes(content);
        buffer.Write(Header(name, '0', data.Length));
        buffer.Write(data);
        buffer.Write(new byte[(512 - (data.Length % 512)) % 512]);
        buffer.Write(new byte[1024]);
        return buffer.ToArray();
    }

    private static byte[] Header(string name, char type, long size)
    {
        var header = new byte[512];
        Encoding.ASCII.GetBytes(name).CopyTo(header, 0);
        Encoding.ASCII.GetBytes("0000755\0").CopyTo(header, 100);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 108);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 116);
        Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(header, 124);
        Encoding.ASCII.GetBytes(Convert.ToString(1_600_000_000L, 8).PadLeft(11, '0') + "\0").CopyTo(header, 136);
        header[156] = (byte)type;
        Encoding.ASCII.GetBytes("ustar\0" + "00").CopyTo(header, 257);
        for (var i = 148; i < 156; i++)
        {
            header[i] = (byte)' ';
        }

        var sum = header.Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
        return header;
    }

    private async Task<string> GnuTarListAsync(byte[] tar)
    {
        var path = Path.Combine(_scratch, "listing.tar");
        await File.WriteAllBytesAsync(path, tar);
        using var process = Process.Start(new ProcessStartInfo("tar", ["--numeric-owner", "-tvf", path]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"GNU tar could not read the layer: {errors}");
        return output;
    }
}
