using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Locks;

namespace Orchestrator.BaseOs.Tests;

/// <summary>snapshot.debian.org mirrors and the package set read from dpkg's status file (issue 4).</summary>
public sealed class SnapshotAndProvenanceTests
{
    private const string Timestamp = "20250520T000000Z";

    [Fact]
    public void ResolveMirrors_Snapshot_SnapshotArchivesAtTheTimestampWithoutAskingTheMachine()
    {
        // Given a variant pinned to a snapshot
        var variant = Variant() with { Snapshot = Timestamp };
        var asked = false;

        // When its mirrors are resolved
        var (mirror, security) = DebootstrapRootfsBuilder.ResolveMirrors(variant, _ =>
        {
            asked = true;
            return ("http://machine.example/debian", "http://machine.example/debian-security");
        });

        // Then both point into snapshot.debian.org at that timestamp, and the machine's sources were not consulted
        Assert.Equal("http://snapshot.debian.org/archive/debian/20250520T000000Z", mirror);
        Assert.Equal("http://snapshot.debian.org/archive/debian-security/20250520T000000Z", security);
        Assert.False(asked);
    }

    [Theory]
    [InlineData("http://own.example/debian", null)]
    [InlineData(null, "http://own.example/debian-security")]
    public void ResolveMirrors_SnapshotAndAMirror_InputExceptionSayingWhichToRemove(string? mirror, string? securityMirror)
    {
        // Given a variant naming a snapshot and a mirror (the definition reader refuses this; a hand-made definition may not)
        var variant = Variant() with { Snapshot = Timestamp, Mirror = mirror, SecurityMirror = securityMirror };

        // When its mirrors are resolved
        var error = Assert.Throws<InputException>(() => DebootstrapRootfsBuilder.ResolveMirrors(variant, _ => ("http://m", "http://s")));

        // Then the message names the conflict and the fix
        Assert.Contains(Timestamp, error.Message, StringComparison.Ordinal);
        Assert.Contains("Remove 'mirror:' and 'security-mirror:', or remove 'snapshot:'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildDebootstrapArguments_Snapshot_MirrorArgumentIsTheSnapshotArchive()
    {
        // Given a slim variant pinned to a snapshot
        var variant = Variant() with { Snapshot = Timestamp };
        var (mirror, _) = DebootstrapRootfsBuilder.ResolveMirrors(variant, _ => throw new InvalidOperationException("not asked"));

        // When debootstrap's command line is computed
        var arguments = DebootstrapRootfsBuilder.BuildDebootstrapArguments(variant, "/w/rootfs", mirror);

        // Then the positional mirror is the snapshot archive
        Assert.Equal(["--variant=minbase", "--components=main", "bookworm", "/w/rootfs", "http://snapshot.debian.org/archive/debian/20250520T000000Z"], arguments);
    }

    [Fact]
    public void RenderDebianSources_Snapshot_EveryStanzaSaysCheckValidUntilNo()
    {
        // Given snapshot mirrors
        var (mirror, security) = AptSources.SnapshotMirrors(Timestamp);

        // When the sources file is rendered for a snapshot
        var text = AptSources.RenderDebianSources("bookworm", mirror, security, ["main"], snapshot: true);

        // Then both stanzas point at the snapshot and turn off the Valid-Until check (a snapshot's Release files expire)
        Assert.Equal(
            "Types: deb\nURIs: http://snapshot.debian.org/archive/debian/20250520T000000Z\nSuites: bookworm bookworm-updates\nComponents: main\n" +
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\nCheck-Valid-Until: no\n\n" +
            "Types: deb\nURIs: http://snapshot.debian.org/archive/debian-security/20250520T000000Z\nSuites: bookworm-security\nComponents: main\n" +
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\nCheck-Valid-Until: no\n",
            text);
        Assert.Equal(2, AptSources.ParseDeb822(text).Count);
    }

    [Fact]
    public void RenderDebianSources_NoSnapshot_NoValidityOverride()
    {
        // Given a live mirror
        // When rendered without snapshot
        var text = AptSources.RenderDebianSources("bookworm", "http://m.example/debian", "http://s.example/debian-security", ["main"]);

        // Then apt keeps checking Valid-Until
        Assert.DoesNotContain("Check-Valid-Until", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseInstalled_MixedStatuses_OnlyInstalledSortedByNameThenArchitecture()
    {
        // Given a status file with installed, removed-but-configured, half-installed and multi-arch packages, in dpkg's order
        const string status = """
            Package: zlib1g
            Status: install ok installed
            Priority: optional
            Architecture: amd64
            Multi-Arch: same
            Version: 1:1.2.13.dfsg-1
            Description: compression library - runtime
             zlib is a library implementing the deflate compression method found
             in gzip and PKZIP.

            Package: dpkg
            Essential: yes
            Status: install ok installed
            Architecture: amd64
            Version: 1.21.22
            Conffiles:
             /etc/dpkg/dpkg.cfg f4413ffb515f8f753624ae3bb365b81b

            Package: old-tool
            Status: deinstall ok config-files
            Architecture: amd64
            Version: 1.0-1

            Package: broken
            Status: install reinstreq half-installed
            Architecture: amd64
            Version: 2.0-1

            Package: libc6
            Status: install ok installed
            Architecture: i386
            Version: 2.36-9+deb12u10

            Package: libc6
            Status: install ok installed
            Architecture: amd64
            Version: 2.36-9+deb12u10

            Package: no-version
            Status: install ok installed
            Architecture: all
            """;

        // When parsed (with CRLF line ends, too)
        var packages = DpkgStatusFile.ParseInstalled(status.Replace("\n", "\r\n", StringComparison.Ordinal));

        // Then only complete, installed packages remain, sorted by name then architecture
        Assert.Equal(
            ["dpkg 1.21.22 amd64", "libc6 2.36-9+deb12u10 amd64", "libc6 2.36-9+deb12u10 i386", "zlib1g 1:1.2.13.dfsg-1 amd64"],
            packages.Select(p => p.ToString()));
        Assert.Equal(new InstalledPackage("zlib1g", "1:1.2.13.dfsg-1", "amd64"), packages[^1]);
    }

    [Fact]
    public void ParseInstalled_Empty_Empty()
    {
        // Given an empty status file
        // When parsed
        // Then there are no packages
        Assert.Empty(DpkgStatusFile.ParseInstalled(string.Empty));
    }

    [Fact]
    public async Task ReadInstalledAsync_NoStatusFile_JobFailedNamingThePath()
    {
        // Given a tree without var/lib/dpkg/status
        var rootfs = Path.Combine(Path.GetTempPath(), "orchestrator-dpkg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(rootfs);
        try
        {
            // When its packages are read
            var error = await Assert.ThrowsAsync<JobFailedException>(() => DpkgStatusFile.ReadInstalledAsync(rootfs));

            // Then the message names the missing file
            Assert.Contains(Path.Combine(rootfs, "var/lib/dpkg/status"), error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(rootfs, recursive: true);
        }
    }

    [Fact]
    public async Task ReadInstalledAsync_StatusFile_ReadsItFromTheTree()
    {
        // Given a tree with a one-package status file
        var rootfs = Path.Combine(Path.GetTempPath(), "orchestrator-dpkg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(rootfs, "var/lib/dpkg"));
        try
        {
            await File.WriteAllTextAsync(Path.Combine(rootfs, "var/lib/dpkg/status"), "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b7\n");

            // When its packages are read
            var packages = await DpkgStatusFile.ReadInstalledAsync(rootfs);

            // Then that package is listed
            Assert.Equal(new InstalledPackage("bash", "5.2.15-2+b7", "amd64"), Assert.Single(packages));
        }
        finally
        {
            Directory.Delete(rootfs, recursive: true);
        }
    }

    private static BaseVariantDefinition Variant() =>
        new("slim", "bookworm", null, null, ["main"], "minbase", true, [], null);
}
