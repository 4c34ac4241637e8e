using Orchestrator.Core.Errors;

namespace Orchestrator.BaseOs.Tests;

public sealed class RootfsCustomizerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "orchestrator-rootfs-tests", Guid.NewGuid().ToString("N"));
    private readonly string _outside = Path.Combine(Path.GetTempPath(), "orchestrator-rootfs-tests", Guid.NewGuid().ToString("N") + "-outside");

    public RootfsCustomizerTests()
    {
        Directory.CreateDirectory(_root);
        Directory.CreateDirectory(_outside);
    }

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_outside, recursive: true);
    }

    [Fact]
    public void RenderDpkgSlimConfig_Always_ExcludesDocsManLocalesAndKeepsCopyright()
    {
        // Given the slim rules
        // When the dpkg configuration is rendered
        var lines = RootfsCustomizer.RenderDpkgSlimConfig().Split('\n');

        // Then every exclusion and the copyright and locale.alias inclusions are there, in dpkg's syntax
        foreach (var folder in new[] { "doc", "man", "groff", "info", "linda", "lintian/overrides", "locale" })
        {
            Assert.Contains($"path-exclude /usr/share/{folder}/*", lines);
        }

        Assert.Contains("path-include /usr/share/doc/*/copyright", lines);
        Assert.Contains("path-include /usr/share/locale/locale.alias", lines);
        Assert.All(lines.Where(l => l.Length > 0 && !l.StartsWith('#')), l => Assert.Matches("^path-(exclude|include) /usr/share/", l));
    }

    [Theory]
    [InlineData("/usr/share/doc/*/copyright", "/usr/share/doc/bash/copyright", true)]
    [InlineData("/usr/share/doc/*/copyright", "/usr/share/doc/a/b/copyright", true)]
    [InlineData("/usr/share/doc/*/copyright", "/usr/share/doc/bash/changelog.gz", false)]
    [InlineData("/usr/share/locale/locale.alias", "/usr/share/locale/locale.alias", true)]
    [InlineData("/usr/share/locale/locale.alias", "/usr/share/locale/locale_alias", false)]
    public void GlobToRegex_DpkgFnmatch_StarCrossesSlashes(string glob, string path, bool matches)
    {
        // Given a dpkg glob, When matched against a path, Then '*' matches across '/' as fnmatch without FNM_PATHNAME does
        Assert.Equal(matches, RootfsCustomizer.GlobToRegex(glob).IsMatch(path));
    }

    [Fact]
    public void Apply_SlimTree_RemovesExcludedFilesKeepsCopyrightAndWritesConfig()
    {
        // Given a tree as debootstrap leaves it
        Touch("/usr/share/doc/bash/copyright", "GPL");
        Touch("/usr/share/doc/bash/changelog.Debian.gz");
        Touch("/usr/share/doc/bash/examples/x.sh");
        Touch("/usr/share/doc/libc6/README");
        Touch("/usr/share/man/man1/ls.1.gz");
        Touch("/usr/share/info/dir");
        Touch("/usr/share/locale/de/LC_MESSAGES/apt.mo");
        Touch("/usr/share/locale/locale.alias");
        Touch("/usr/share/lintian/overrides/bash");
        Touch("/usr/share/zoneinfo/UTC");
        Touch("/usr/bin/ls");
        Touch("/etc/apt/sources.list", "deb http://m.example/debian bookworm main");

        // When customized as slim
        RootfsCustomizer.Apply(_root, "SOURCES", slim: true);

        // Then excluded files and their emptied folders are gone, copyright and unrelated files stay
        Assert.True(File.Exists(Host("/usr/share/doc/bash/copyright")));
        Assert.False(File.Exists(Host("/usr/share/doc/bash/changelog.Debian.gz")));
        Assert.False(Directory.Exists(Host("/usr/share/doc/bash/examples")));
        Assert.False(Directory.Exists(Host("/usr/share/doc/libc6")));
        Assert.True(Directory.Exists(Host("/usr/share/man")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Host("/usr/share/man")));
        Assert.False(File.Exists(Host("/usr/share/info/dir")));
        Assert.False(Directory.Exists(Host("/usr/share/locale/de")));
        Assert.True(File.Exists(Host("/usr/share/locale/locale.alias")));
        Assert.False(File.Exists(Host("/usr/share/lintian/overrides/bash")));
        Assert.True(File.Exists(Host("/usr/share/zoneinfo/UTC")));
        Assert.True(File.Exists(Host("/usr/bin/ls")));
        Assert.Equal(RootfsCustomizer.RenderDpkgSlimConfig(), File.ReadAllText(Host("/etc/dpkg/dpkg.cfg.d/docker")));
        Assert.Equal("SOURCES", File.ReadAllText(Host("/etc/apt/sources.list.d/debian.sources")));
        Assert.False(File.Exists(Host("/etc/apt/sources.list")));
    }

    [Fact]
    public void Apply_FullTree_KeepsDocsAndWritesNoSlimConfig()
    {
        // Given a tree with documentation
        Touch("/usr/share/doc/bash/changelog.Debian.gz");
        Touch("/usr/share/man/man1/ls.1.gz");

        // When customized as a full (not slim) variant
        RootfsCustomizer.Apply(_root, "SOURCES", slim: false);

        // Then the docs stay and there is no slim rule file, but the apt settings are there
        Assert.True(File.Exists(Host("/usr/share/doc/bash/changelog.Debian.gz")));
        Assert.True(File.Exists(Host("/usr/share/man/man1/ls.1.gz")));
        Assert.False(File.Exists(Host("/etc/dpkg/dpkg.cfg.d/docker")));
        foreach (var name in new[] { "docker-clean", "docker-no-languages", "docker-gzip-indexes", "docker-autoremove-suggests" })
        {
            Assert.True(File.Exists(Host("/etc/apt/apt.conf.d/" + name)), name);
        }

        Assert.Contains("Acquire::GzipIndexes \"true\";", File.ReadAllText(Host("/etc/apt/apt.conf.d/docker-gzip-indexes")));
        Assert.Contains("Dir::Cache::pkgcache \"\";", File.ReadAllText(Host("/etc/apt/apt.conf.d/docker-clean")));
        Assert.Equal(UnixFileMode.UserExecute, File.GetUnixFileMode(Host("/usr/sbin/policy-rc.d")) & UnixFileMode.UserExecute);
    }

    [Fact]
    public void Apply_SlimTree_RemovesDanglingAbsoluteLinksButKeepsLinksResolvingInsideTheTree()
    {
        // Given doc links: one whose absolute target is inside the tree (but not on the host), one dangling
        Touch("/usr/share/doc/libfoo/copyright");
        Touch("/opt/target-only-in-tree");
        Directory.CreateDirectory(Host("/usr/share/doc/links"));
        File.CreateSymbolicLink(Host("/usr/share/doc/links/kept"), "/opt/target-only-in-tree");
        File.CreateSymbolicLink(Host("/usr/share/doc/links/gone"), "/usr/share/doc/libfoo/changelog.gz");

        // When customized as slim
        RootfsCustomizer.Apply(_root, "S", slim: true);

        // Then the link resolving inside the tree stays, the dangling one is removed
        Assert.NotNull(new FileInfo(Host("/usr/share/doc/links/kept")).LinkTarget);
        Assert.False(Path.Exists(Host("/usr/share/doc/links/gone")) || new FileInfo(Host("/usr/share/doc/links/gone")).LinkTarget is not null);
    }

    [Fact]
    public void Apply_SlimTree_ResolvesAlternativesChainsInsideTheTreeNotOnTheHost()
    {
        // Given man page links through /etc/alternatives, as update-alternatives makes them:
        // one ends at a file only the host has (/bin/sh), one at a file in the tree
        Directory.CreateDirectory(Host("/etc/alternatives"));
        Directory.CreateDirectory(Host("/usr/share/man/man1"));
        Touch("/usr/share/keep/real.txt");
        File.CreateSymbolicLink(Host("/etc/alternatives/which.1.gz"), "/bin/sh");
        File.CreateSymbolicLink(Host("/usr/share/man/man1/which.1.gz"), "/etc/alternatives/which.1.gz");
        File.CreateSymbolicLink(Host("/etc/alternatives/kept"), "../../usr/share/keep/real.txt");
        File.CreateSymbolicLink(Host("/usr/share/man/man1/kept.1.gz"), "/etc/alternatives/kept");

        // When customized as slim
        RootfsCustomizer.Apply(_root, "S", slim: true);

        // Then the link that only resolves on the host is gone, the one resolving in the tree stays
        Assert.Null(new FileInfo(Host("/usr/share/man/man1/which.1.gz")).LinkTarget);
        Assert.NotNull(new FileInfo(Host("/usr/share/man/man1/kept.1.gz")).LinkTarget);
        Assert.True(RootfsCustomizer.ExistsInTree(_root, "/usr/share/man/man1/kept.1.gz"));
        Assert.False(RootfsCustomizer.ExistsInTree(_root, "/etc/alternatives/which.1.gz"));
    }

    [Fact]
    public void Apply_AnyTree_CleansCachesLogsAndHostIdentity()
    {
        // Given what debootstrap leaves: lists, caches, logs, the host's resolv.conf and hostname
        Touch("/var/lib/apt/lists/lock");
        Touch("/var/lib/apt/lists/partial/half");
        Touch("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease");
        Touch("/var/cache/apt/pkgcache.bin");
        Touch("/var/cache/apt/srcpkgcache.bin");
        Touch("/var/cache/apt/archives/bash_5.2_amd64.deb");
        Touch("/var/cache/apt/archives/lock");
        Touch("/var/cache/ldconfig/aux-cache");
        Touch("/var/log/dpkg.log", "lots");
        Touch("/var/log/apt/eipp.log.xz");
        Touch("/etc/resolv.conf", "nameserver 10.0.0.1");
        Touch("/etc/hostname", "build-host");
        Touch("/etc/machine-id", "0123456789abcdef0123456789abcdef");

        // When customized
        RootfsCustomizer.Apply(_root, "S", slim: false);

        // Then caches and logs are gone (folders and locks kept) and identity files are empty
        Assert.Equal(["lock", "partial"], Directory.EnumerateFileSystemEntries(Host("/var/lib/apt/lists")).Select(Path.GetFileName).Order());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Host("/var/lib/apt/lists/partial")));
        Assert.Empty(Directory.EnumerateFiles(Host("/var/cache/apt"), "*.bin"));
        Assert.Equal(["lock"], Directory.EnumerateFileSystemEntries(Host("/var/cache/apt/archives")).Select(Path.GetFileName));
        Assert.False(File.Exists(Host("/var/cache/ldconfig/aux-cache")));
        Assert.Empty(Directory.EnumerateFiles(Host("/var/log"), "*", SearchOption.AllDirectories));
        Assert.True(Directory.Exists(Host("/var/log/apt")));
        Assert.Equal(0, new FileInfo(Host("/etc/resolv.conf")).Length);
        Assert.Equal(0, new FileInfo(Host("/etc/hostname")).Length);
        Assert.Equal(0, new FileInfo(Host("/etc/machine-id")).Length);
    }

    [Fact]
    public void Apply_ResolvConfIsSymlinkToHostFile_ReplacesLinkAndLeavesHostFileAlone()
    {
        // Given resolv.conf in the tree linking to a file outside it
        var hostFile = Path.Combine(_outside, "resolv.conf");
        File.WriteAllText(hostFile, "nameserver 10.0.0.1");
        Directory.CreateDirectory(Host("/etc"));
        File.CreateSymbolicLink(Host("/etc/resolv.conf"), hostFile);

        // When customized
        RootfsCustomizer.Apply(_root, "S", slim: false);

        // Then the outside file is untouched and the tree has an empty regular file
        Assert.Equal("nameserver 10.0.0.1", File.ReadAllText(hostFile));
        Assert.Null(new FileInfo(Host("/etc/resolv.conf")).LinkTarget);
        Assert.Equal(0, new FileInfo(Host("/etc/resolv.conf")).Length);
    }

    [Fact]
    public void Apply_EtcIsSymlinkOutOfTree_ThrowsWithoutWritingOutside()
    {
        // Given a tree whose /etc links outside it
        Directory.CreateSymbolicLink(Path.Combine(_root, "etc"), _outside);

        // When customized, Then it refuses and nothing was written outside
        Assert.Throws<JobFailedException>(() => RootfsCustomizer.Apply(_root, "S", slim: false));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_outside));
    }

    [Fact]
    public void ParseMountPoints_EscapedSpaces_DecodedAndFilteredByFolder()
    {
        // Given mountinfo lines, one with an escaped space
        var text = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n" +
                   "90 22 0:21 / /work/a\\040b/rootfs/proc rw - proc proc rw\n" +
                   "91 22 0:5 / /work/a\\040b/rootfs-other rw - devtmpfs udev rw\n";

        // When parsed
        var points = Mounts.ParseMountPoints(text).ToList();

        // Then the points are decoded, and only those below the folder count as inside it
        Assert.Equal(["/proc", "/work/a b/rootfs/proc", "/work/a b/rootfs-other"], points);
        Assert.Equal(["/work/a b/rootfs/proc"], points.Where(p => Mounts.IsAtOrBelow(p, "/work/a b/rootfs")));
    }

    private string Host(string path) => Path.Combine(_root, path.TrimStart('/'));

    private void Touch(string path, string content = "x")
    {
        var host = Host(path);
        Directory.CreateDirectory(Path.GetDirectoryName(host)!);
        File.WriteAllText(host, content);
    }
}
