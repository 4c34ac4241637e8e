using System.Text;
using System.Text.RegularExpressions;
using Orchestrator.Core.Errors;

namespace Orchestrator.BaseOs;

/// <summary>
/// The changes made to a fresh debootstrap tree so it matches the official Debian images
/// (debuerreotype's minimizing-config, slimify, fixup and sources-list steps). Works on the folder
/// from the host, never through chroot, and never follows a symlink out of the tree.
/// </summary>
internal static class RootfsCustomizer
{
    /// <summary>What the slim variant excludes: the official images' list (debuerreotype <c>.slimify-excludes</c>).</summary>
    internal static IReadOnlyList<string> SlimExcludes { get; } =
    [
        "/usr/share/doc/*",
        "/usr/share/groff/*",
        "/usr/share/info/*",
        "/usr/share/linda/*",
        "/usr/share/lintian/overrides/*",
        "/usr/share/locale/*",
        "/usr/share/man/*",
    ];

    /// <summary>What the slim variant keeps inside the excluded folders: licences first, and the C-locale bits some tools need.</summary>
    internal static IReadOnlyList<string> SlimIncludes { get; } =
    [
        "/usr/share/doc/*/copyright",
        "/usr/share/doc/kde/HTML/C/*",
        "/usr/share/gnome/help/*/C/*",
        "/usr/share/locale/all_languages",
        "/usr/share/locale/currency/*",
        "/usr/share/locale/l10n/*",
        "/usr/share/locale/languages",
        "/usr/share/locale/locale.alias",
        "/usr/share/omf/*/*-C.emf",
    ];

    /// <summary>The slim variant's dpkg configuration, <c>/etc/dpkg/dpkg.cfg.d/docker</c>, so packages installed later stay slim too.</summary>
    internal static string RenderDpkgSlimConfig()
    {
        var text = new StringBuilder();
        text.Append("# Slim variant: files containers rarely need (documentation, manual pages,\n")
            .Append("# translations) are not installed. Copyright files are always kept.\n")
            .Append("# Delete this file before installing packages to get them back.\n\n");
        foreach (var exclude in SlimExcludes)
        {
            text.Append("path-exclude ").Append(exclude).Append('\n');
        }

        text.Append('\n');
        foreach (var include in SlimIncludes)
        {
            text.Append("path-include ").Append(include).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Files written into every variant, by path inside the root filesystem.</summary>
    internal static IReadOnlyDictionary<string, string> MinimizingConfig { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["/etc/apt/apt.conf.d/docker-clean"] =
            "// Packages are installed in image build steps, where a cache of .deb files only\n" +
            "// makes the layer bigger: drop the downloaded archives and binary caches after\n" +
            "// every dpkg run and every update, as \"apt-get clean\" would.\n" +
            "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };\n" +
            "APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };\n" +
            "\n" +
            "Dir::Cache::pkgcache \"\";\n" +
            "Dir::Cache::srcpkgcache \"\";\n",
        ["/etc/apt/apt.conf.d/docker-no-languages"] =
            "// Translated package descriptions are rarely read in a container; skip them to\n" +
            "// make \"apt-get update\" faster and its lists smaller.\n" +
            "Acquire::Languages \"none\";\n",
        ["/etc/apt/apt.conf.d/docker-gzip-indexes"] =
            "// Keep package lists compressed on disk: an \"apt-get update\" layer that is not\n" +
            "// cleaned up afterwards stays several times smaller.\n" +
            "Acquire::GzipIndexes \"true\";\n",
        ["/etc/apt/apt.conf.d/docker-autoremove-suggests"] =
            "// Let \"apt-get purge --auto-remove\" remove packages that were pulled in only\n" +
            "// because another package suggested them, so build-only dependencies go away.\n" +
            "Apt::AutoRemove::SuggestsImportant \"false\";\n",
        ["/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"] =
            "# Image builds are thrown away on power loss anyway: skip dpkg's fsync calls.\n" +
            "force-unsafe-io\n",
        ["/usr/sbin/policy-rc.d"] =
            "#!/bin/sh\n" +
            "# Services cannot start during an image build; tell invoke-rc.d not to try.\n" +
            "exit 101\n",
    };

    /// <summary>
    /// Applies apt sources, minimizing config and (when <paramref name="slim"/>) the slim rules to
    /// the tree at <paramref name="rootfs"/>, then removes what debootstrap left that an image must not carry.
    /// </summary>
    internal static void Apply(string rootfs, string debianSources, bool slim)
    {
        WriteFile(rootfs, "/etc/apt/sources.list.d/debian.sources", debianSources, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        DeleteFile(rootfs, "/etc/apt/sources.list");

        foreach (var (path, content) in MinimizingConfig)
        {
            var mode = path == "/usr/sbin/policy-rc.d"
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            WriteFile(rootfs, path, content, mode);
        }

        if (slim)
        {
            WriteFile(rootfs, "/etc/dpkg/dpkg.cfg.d/docker", RenderDpkgSlimConfig(), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            RemoveSlimExcluded(rootfs);
        }

        Clean(rootfs);
    }

    /// <summary>
    /// Deletes installed files the slim rules exclude, keeping includes (copyright files), then
    /// empty folders and dangling symlinks, as dpkg would have if the rules had been there first.
    /// </summary>
    internal static void RemoveSlimExcluded(string rootfs)
    {
        var includes = SlimIncludes.Select(GlobToRegex).ToList();
        foreach (var exclude in SlimExcludes)
        {
            // Every exclude is "FOLDER/*": everything below FOLDER.
            var folder = exclude[..^2];
            var hostFolder = HostPath(rootfs, folder);
            if (!IsRealDirectory(hostFolder))
            {
                continue;
            }

            foreach (var entry in Walk(hostFolder))
            {
                if (entry is FileInfo { LinkTarget: null } file && !includes.Any(r => r.IsMatch(RootfsPath(rootfs, file.FullName))))
                {
                    file.Delete();
                }
            }

            // Repeat: deleting a dangling link can empty a folder, and an emptied folder can leave a link dangling.
            bool removed;
            do
            {
                removed = false;
                foreach (var entry in Walk(hostFolder))
                {
                    if (entry.LinkTarget is not null && !LinkResolves(rootfs, entry))
                    {
                        entry.Delete();
                        removed = true;
                    }
                    else if (entry is DirectoryInfo { LinkTarget: null } directory && !directory.EnumerateFileSystemInfos().Any())
                    {
                        directory.Delete();
                        removed = true;
                    }
                }
            }
            while (removed);
        }
    }

    /// <summary>Empties or removes what debootstrap and the host left: logs, apt lists and caches, host identity files.</summary>
    internal static void Clean(string rootfs)
    {
        // Docker bind-mounts its own; the host's must not ship in an image.
        WriteFile(rootfs, "/etc/resolv.conf", string.Empty, null);
        WriteFile(rootfs, "/etc/hostname", string.Empty, null);
        // Empty, not missing: systemd then treats the container as a fresh machine and generates one.
        WriteFile(rootfs, "/etc/machine-id", string.Empty, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        DeleteChildren(rootfs, "/var/lib/apt/lists", keep: name => name is "lock" or "partial", filesOnly: false);
        DeleteChildren(rootfs, "/var/lib/apt/lists/partial", keep: _ => false, filesOnly: false);
        DeleteChildren(rootfs, "/var/cache/apt", keep: name => !name.EndsWith(".bin", StringComparison.Ordinal), filesOnly: true);
        DeleteChildren(rootfs, "/var/cache/apt/archives", keep: name => !name.EndsWith(".deb", StringComparison.Ordinal), filesOnly: true);
        DeleteChildren(rootfs, "/var/cache/apt/archives/partial", keep: _ => false, filesOnly: true);
        DeleteFile(rootfs, "/var/cache/ldconfig/aux-cache");
        DeleteFile(rootfs, "/run/mount/utab");

        // Logs of the bootstrap itself (dpkg.log, bootstrap.log, alternatives.log, apt/*): files go, folders stay.
        var log = HostPath(rootfs, "/var/log");
        if (IsRealDirectory(log))
        {
            foreach (var entry in Walk(log))
            {
                if (entry is FileInfo)
                {
                    entry.Delete();
                }
            }
        }
    }

    /// <summary>The host path of <paramref name="path"/> (absolute inside the root filesystem), refusing any symlinked parent folder.</summary>
    /// <exception cref="JobFailedException">A parent folder is a symlink, which could lead a write outside the tree.</exception>
    internal static string HostPath(string rootfs, string path)
    {
        var current = rootfs;
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length - 1; i++)
        {
            current = Path.Combine(current, parts[i]);
            var info = new DirectoryInfo(current);
            if (info.Exists && info.LinkTarget is not null)
            {
                throw new JobFailedException(
                    $"'{current}' in the new root filesystem is a symlink to '{info.LinkTarget}', so writing '{path}' could leave the tree; " +
                    "this debootstrap layout is not supported: report the suite and variant.");
            }
        }

        return Path.Combine(current, parts.Length == 0 ? string.Empty : parts[^1]);
    }

    internal static Regex GlobToRegex(string glob)
    {
        // dpkg matches with fnmatch(3) without FNM_PATHNAME, so '*' also matches '/'.
        var pattern = new StringBuilder("^");
        foreach (var c in glob)
        {
            pattern.Append(c switch
            {
                '*' => ".*",
                '?' => ".",
                _ => Regex.Escape(c.ToString()),
            });
        }

        return new Regex(pattern.Append('$').ToString(), RegexOptions.CultureInvariant);
    }

    private static void WriteFile(string rootfs, string path, string content, UnixFileMode? mode)
    {
        var hostPath = HostPath(rootfs, path);
        Directory.CreateDirectory(Path.GetDirectoryName(hostPath)!);

        // A symlink here (resolv.conf often is one) would send the write to the host: replace the link itself.
        var existing = new FileInfo(hostPath);
        if (existing.LinkTarget is not null)
        {
            existing.Delete();
        }

        File.WriteAllText(hostPath, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        if (mode is { } unixMode && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(hostPath, unixMode);
        }
    }

    private static void DeleteFile(string rootfs, string path)
    {
        var info = new FileInfo(HostPath(rootfs, path));
        if (info.Exists || info.LinkTarget is not null)
        {
            info.Delete();
        }
    }

    private static void DeleteChildren(string rootfs, string folder, Func<string, bool> keep, bool filesOnly)
    {
        var hostFolder = HostPath(rootfs, folder);
        if (!IsRealDirectory(hostFolder))
        {
            return;
        }

        foreach (var entry in new DirectoryInfo(hostFolder).EnumerateFileSystemInfos())
        {
            if (keep(entry.Name))
            {
                continue;
            }

            if (entry is DirectoryInfo { LinkTarget: null } directory)
            {
                if (!filesOnly)
                {
                    directory.Delete(recursive: true);
                }
            }
            else
            {
                entry.Delete();
            }
        }
    }

    // Depth-first, children before their folder, never descending into a symlinked folder.
    private static IEnumerable<FileSystemInfo> Walk(string folder)
    {
        foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos().ToList())
        {
            if (entry is DirectoryInfo { LinkTarget: null } directory)
            {
                foreach (var child in Walk(directory.FullName))
                {
                    yield return child;
                }
            }

            entry.Refresh();
            if (entry.Exists || entry.LinkTarget is not null)
            {
                yield return entry;
            }
        }
    }

    private static bool LinkResolves(string rootfs, FileSystemInfo link) => ExistsInTree(rootfs, RootfsPath(rootfs, link.FullName));

    /// <summary>
    /// True when <paramref name="treePath"/> exists with every symlink on the way resolved inside
    /// the tree, as a process chrooted there would see it: an absolute target such as
    /// <c>/etc/alternatives/x</c> means the tree's file, never the host's.
    /// </summary>
    internal static bool ExistsInTree(string rootfs, string treePath)
    {
        const int maxLinks = 40;
        var pending = new Queue<string>(treePath.Split('/', StringSplitOptions.RemoveEmptyEntries));
        var current = new List<string>();
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
                if (current.Count > 0)
                {
                    current.RemoveAt(current.Count - 1);
                }

                continue;
            }

            // Every earlier component is a real folder inside the tree, so this host path crosses no symlink.
            var host = Path.Combine([rootfs, .. current, part]);
            var target = new FileInfo(host).LinkTarget;
            if (target is null)
            {
                if (!File.Exists(host) && !Directory.Exists(host))
                {
                    return false;
                }

                current.Add(part);
                continue;
            }

            if (++links > maxLinks)
            {
                return false;
            }

            var rest = pending.ToList();
            pending.Clear();
            if (target.StartsWith('/'))
            {
                current.Clear();
            }

            foreach (var next in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Concat(rest))
            {
                pending.Enqueue(next);
            }
        }

        return true;
    }

    private static bool IsRealDirectory(string path)
    {
        var info = new DirectoryInfo(path);
        return info.Exists && info.LinkTarget is null;
    }

    private static string RootfsPath(string rootfs, string hostPath) =>
        "/" + Path.GetRelativePath(rootfs, hostPath).Replace(Path.DirectorySeparatorChar, '/');
}
