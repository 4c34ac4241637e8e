using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Orchestrator.Core.Tests.Fakes;

/// <summary>Small tars for tests, written with ustar headers (no PAX header names that vary by process).</summary>
internal static class TestTars
{
    /// <summary>A tar of regular files (path, content), each with mode 0644, owner 0:0 and the given modification time.</summary>
    public static byte[] Files(DateTimeOffset modified, params (string Path, string Content)[] files)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (path, content) in files)
            {
                writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, path)
                {
                    DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
                    Mode = (UnixFileMode)0b110_100_100,
                    ModificationTime = modified,
                });
            }
        }

        return buffer.ToArray();
    }

    /// <summary>Every entry of a tar: name, type and, for regular files, the content as UTF-8.</summary>
    public static List<(string Name, TarEntryType Type, string? Content, TarEntry Entry)> Read(byte[] tar)
    {
        var result = new List<(string, TarEntryType, string?, TarEntry)>();
        using var reader = new TarReader(new MemoryStream(tar));
        while (reader.GetNextEntry(copyData: true) is { } entry)
        {
            string? content = null;
            if (entry.DataStream is { } data)
            {
                using var text = new StreamReader(data, Encoding.UTF8);
                content = text.ReadToEnd();
            }

            result.Add((entry.Name, entry.EntryType, content, entry));
        }

        return result;
    }

    public static byte[] Gunzip(byte[] gzip)
    {
        using var input = new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
