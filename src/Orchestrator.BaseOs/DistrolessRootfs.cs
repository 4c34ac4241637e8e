using System.Text;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Locks;

namespace Orchestrator.BaseOs;

/// <summary>
/// Reduces a minbase debootstrap tree to a distroless root filesystem, as gcr.io/distroless builds base-debian12:
/// only the files dpkg lists for <see cref="DistrolessBase.RuntimePackages"/> (<c>var/lib/dpkg/info/PACKAGE.list</c>),
/// the CA bundle alone of ca-certificates, the merged-/usr root links, a <c>var/lib/dpkg/status.d/PACKAGE</c> record
/// per kept package (its dpkg status paragraph, so scanners still see every package), and <c>/etc/passwd</c> and
/// <c>/etc/group</c> with root, nobody and nonroot (65532). No shell, apt or dpkg binary is kept: they belong to
/// packages outside the set. Works from the host on the tree, never through chroot.
/// </summary>
internal static class DistrolessRootfs
{
    /// <summary>The CA bundle ca-certificates' maintainer script generates; the only file of that package kept.</summary>
    internal const string CaBundle = "/etc/ssl/certs/ca-certificates.crt";

    internal const string Passwd =
        "root:x:0:0:root:/root:/sbin/nologin\n" +
        "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";

    internal const string Group =
        "root:x:0:\n" +
        "nobody:x:65534:\n" +
        "nonroot:x:65532:\n";

    /// <summary>
    /// Writes the records and account files into <paramref name="rootfs"/> and returns what the image keeps: every
    /// path (relative, <c>./usr/bin/…</c>, ancestors included, each once, sorted) and the kept packages.
    /// </summary>
    /// <exception cref="JobFailedException">A runtime package is not installed in the tree, or its file list is missing.</exception>
    internal static (IReadOnlyList<string> Paths, IReadOnlyList<InstalledPackage> Packages) Reduce(string rootfs)
    {
        var statusPath = Path.Combine(rootfs, DpkgStatusFile.RelativePath);
        if (!File.Exists(statusPath))
        {
            throw new JobFailedException($"'{statusPath}' does not exist: the distroless variant is cut from a debootstrap tree with a dpkg database; check debootstrap.log");
        }

        var records = SplitParagraphs(File.ReadAllText(statusPath));
        var missing = DistrolessBase.RuntimePackages.Where(p => !records.ContainsKey(p)).ToList();
        if (missing.Count > 0)
        {
            throw new JobFailedException(
                $"{string.Join(", ", missing)} {(missing.Count == 1 ? "is" : "are")} not installed in the debootstrap tree, so the distroless variant cannot keep {(missing.Count == 1 ? "it" : "them")}; " +
                "they are passed to debootstrap --include: check debootstrap.log and that the mirror serves them");
        }

        var keep = new SortedSet<string>(StringComparer.Ordinal);
        var kept = new List<string>();
        foreach (var package in DistrolessBase.RuntimePackages)
        {
            kept.Add(records[package]);
            foreach (var path in FilesOf(rootfs, package))
            {
                AddExisting(rootfs, path, keep);
            }
        }

        AddExisting(rootfs, CaBundle, keep);
        AddExisting(rootfs, "/etc/nsswitch.conf", keep);

        // Merged /usr: /bin, /lib, /lib64 and /sbin are links debootstrap made, listed by no package.
        foreach (var entry in new DirectoryInfo(rootfs).EnumerateFileSystemInfos().Where(e => e.LinkTarget is not null))
        {
            keep.Add("./" + entry.Name);
        }

        WriteFile(rootfs, "/etc/passwd", Passwd, 0b110_100_100, keep);
        WriteFile(rootfs, "/etc/group", Group, 0b110_100_100, keep);
        foreach (var record in kept)
        {
            WriteFile(rootfs, $"/{DistrolessBase.StatusDirectory}/{NameOf(record)}", record.TrimEnd('\n') + "\n", 0b110_100_100, keep);
        }

        foreach (var folder in new[] { "/tmp", "/root", "/home/nonroot", "/var/lib/dpkg/status.d" })
        {
            Directory.CreateDirectory(RootfsCustomizer.HostPath(rootfs, folder));
            AddWithAncestors(folder, keep);
        }

        SetMode(RootfsCustomizer.HostPath(rootfs, "/tmp"), 0b1_111_111_111);
        SetMode(RootfsCustomizer.HostPath(rootfs, "/home/nonroot"), 0b111_000_000);
        return (keep.ToList(), DpkgStatusFile.ParseInstalled(string.Join("\n", kept)));
    }

    /// <summary>
    /// What dpkg lists for <paramref name="package"/> (<c>var/lib/dpkg/info/PACKAGE.list</c> or <c>PACKAGE:ARCH.list</c>);
    /// for ca-certificates only its copyright, since the bundle it generates is kept on its own.
    /// </summary>
    internal static IEnumerable<string> FilesOf(string rootfs, string package)
    {
        var info = Path.Combine(rootfs, "var", "lib", "dpkg", "info");
        var list = Directory.Exists(info)
            ? Directory.EnumerateFiles(info, package + "*.list").FirstOrDefault(f => Path.GetFileNameWithoutExtension(f).Split(':')[0] == package)
            : null;
        if (list is null)
        {
            throw new JobFailedException($"dpkg has no file list for {package} under '{info}'; the debootstrap tree is incomplete, check debootstrap.log");
        }

        var paths = File.ReadAllLines(list).Where(l => l.Length > 1 && l != "/.");
        return package == "ca-certificates" ? paths.Where(p => p.StartsWith("/usr/share/doc/", StringComparison.Ordinal)) : paths;
    }

    /// <summary>dpkg status paragraphs by package name, each as written (continuation lines included).</summary>
    internal static Dictionary<string, string> SplitParagraphs(string statusText)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var paragraph in statusText.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var text = paragraph.Trim('\n');
            if (text.Length > 0 && NameOf(text) is { Length: > 0 } name)
            {
                result[name] = text + "\n";
            }
        }

        return result;
    }

    private static string NameOf(string paragraph) =>
        paragraph.Split('\n').FirstOrDefault(l => l.StartsWith("Package:", StringComparison.Ordinal))?["Package:".Length..].Trim() ?? string.Empty;

    // A listed path through a linked folder (/lib64/ld-linux… with /lib64 -> usr/lib64) is kept at its real place, so the
    // layer never holds a file below a symlink; paths the slim rules removed are skipped.
    private static void AddExisting(string rootfs, string path, SortedSet<string> keep)
    {
        if (Canonical(rootfs, path) is { } canonical)
        {
            AddWithAncestors(canonical, keep);
        }
    }

    private static void AddWithAncestors(string path, SortedSet<string> keep)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 1; i <= parts.Length; i++)
        {
            keep.Add("./" + string.Join('/', parts.Take(i)));
        }
    }

    /// <summary>
    /// <paramref name="path"/> with every folder on the way resolved inside the tree (the last component is not
    /// followed), or null when it does not exist there.
    /// </summary>
    internal static string? Canonical(string rootfs, string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (parts.Count == 0)
        {
            return null;
        }

        var folder = new List<string>();
        var pending = new Queue<string>(parts.Take(parts.Count - 1));
        var links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Dequeue();
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (folder.Count > 0)
                {
                    folder.RemoveAt(folder.Count - 1);
                }

                continue;
            }

            var host = Path.Combine([rootfs, .. folder, part]);
            var target = new FileInfo(host).LinkTarget;
            if (target is null)
            {
                if (!Directory.Exists(host))
                {
                    return null;
                }

                folder.Add(part);
                continue;
            }

            if (++links > 40)
            {
                return null;
            }

            var rest = pending.ToList();
            pending.Clear();
            if (target.StartsWith('/'))
            {
                folder.Clear();
            }

            foreach (var next in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Concat(rest))
            {
                pending.Enqueue(next);
            }
        }

        var result = "/" + string.Join('/', folder.Append(parts[^1]));
        var last = new FileInfo(Path.Combine(rootfs, result.TrimStart('/')));
        return last.Exists || last.LinkTarget is not null || Directory.Exists(last.FullName) ? result : null;
    }

    private static void WriteFile(string rootfs, string path, string content, int mode, SortedSet<string> keep)
    {
        var host = RootfsCustomizer.HostPath(rootfs, path);
        Directory.CreateDirectory(Path.GetDirectoryName(host)!);
        var existing = new FileInfo(host);
        if (existing.LinkTarget is not null)
        {
            existing.Delete();
        }

        File.WriteAllText(host, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        SetMode(host, mode);
        AddWithAncestors(path, keep);
    }

    private static void SetMode(string path, int mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, (UnixFileMode)mode);
        }
    }
}
