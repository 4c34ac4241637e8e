using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Docker.Tests.Integration;

/// <summary>
/// A root filesystem made without the network: <c>/bin/sh</c> and <c>/bin/sleep</c> copied from the host with
/// the shared libraries <c>ldd</c> lists for them (and the loader), at the paths the binaries expect.
/// </summary>
internal static partial class TinyRootfs
{
    private const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode Regular = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public static async Task<MemoryStream> CreateTarAsync(CancellationToken cancellationToken = default)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["bin/sh"] = "/bin/sh",
            ["bin/sleep"] = "/bin/sleep",
        };
        foreach (var binary in new[] { "/bin/sh", "/bin/sleep" })
        {
            foreach (var library in await LddAsync(binary, cancellationToken))
            {
                files[library.TrimStart('/')] = library;
            }
        }

        var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            var directories = new SortedSet<string>(StringComparer.Ordinal) { "etc", "tmp", "proc", "sys", "dev", "srv" };
            foreach (var path in files.Keys)
            {
                for (var dir = Path.GetDirectoryName(path); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
                {
                    directories.Add(dir);
                }
            }

            foreach (var dir in directories)
            {
                var mode = dir == "tmp" ? Executable | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit : Executable;
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, dir + "/") { Mode = mode }, cancellationToken);
            }

            foreach (var (path, source) in files)
            {
                // Copy the target, not the host's symlink chain (/bin -> usr/bin, libc.so.6 -> …).
                var bytes = await File.ReadAllBytesAsync(Path.GetFullPath(ResolveLinks(source)), cancellationToken);
                var entry = new PaxTarEntry(TarEntryType.RegularFile, path) { Mode = path.StartsWith("lib", StringComparison.Ordinal) && !path.Contains("ld-linux", StringComparison.Ordinal) ? Regular | UnixFileMode.UserExecute : Executable, DataStream = new MemoryStream(bytes) };
                await writer.WriteEntryAsync(entry, cancellationToken);
            }

            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/ash") { LinkName = "sh", Mode = Executable }, cancellationToken);
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "etc/passwd") { Mode = Regular, DataStream = new MemoryStream("root:x:0:0:root:/:/bin/sh\n"u8.ToArray()) }, cancellationToken);
        }

        tar.Position = 0;
        return tar;
    }

    /// <summary>A tar of the given files (name to UTF-8 content), for build contexts.</summary>
    public static MemoryStream CreateContext(IReadOnlyDictionary<string, string> files)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = Regular, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
            }
        }

        tar.Position = 0;
        return tar;
    }

    private static string ResolveLinks(string path)
    {
        var info = new FileInfo(path);
        return info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
    }

    private static async Task<IReadOnlyList<string>> LddAsync(string binary, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo("ldd", [binary]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("ldd did not start");
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ldd {binary} exited {process.ExitCode}");
        }

        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" and "/lib64/ld-linux-x86-64.so.2 (0x…)"; vdso has no path.
        return LddPath().Matches(output).Select(m => m.Groups["path"].Value).ToList();
    }

    [GeneratedRegex(@"(?:=>\s+|^\s*)(?<path>/\S+)\s+\(0x", RegexOptions.Multiline)]
    private static partial Regex LddPath();
}
