namespace Orchestrator.BaseOs.Tests;

public sealed class AptSourcesTests : IDisposable
{
    private const string MachineDeb822 = """
        Types: deb
        # http://snapshot.debian.org/archive/debian/20250520T000000Z
        URIs: http://deb.debian.org/debian
        Suites: bookworm bookworm-updates
        Components: main
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

        Types: deb
        # http://snapshot.debian.org/archive/debian-security/20250520T000000Z
        URIs: http://deb.debian.org/debian-security
        Suites: bookworm-security
        Components: main
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
        """;

    private readonly string _apt = Path.Combine(Path.GetTempPath(), "orchestrator-apt-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_apt))
        {
            Directory.Delete(_apt, recursive: true);
        }
    }

    [Fact]
    public void ParseDeb822_TwoStanzasWithComments_ReadsEachField()
    {
        // Given the deb822 file Debian 12 ships, with comment lines inside stanzas
        // When parsed
        var entries = AptSources.ParseDeb822(MachineDeb822);

        // Then both stanzas come back with their fields, comments ignored
        Assert.Equal(2, entries.Count);
        Assert.Equal(["deb"], entries[0].Types);
        Assert.Equal(["http://deb.debian.org/debian"], entries[0].Uris);
        Assert.Equal(["bookworm", "bookworm-updates"], entries[0].Suites);
        Assert.Equal(["main"], entries[0].Components);
        Assert.True(entries[0].Enabled);
        Assert.Equal(["bookworm-security"], entries[1].Suites);
    }

    [Fact]
    public void ParseDeb822_EnabledNoAndContinuationLines_Honoured()
    {
        // Given a disabled stanza and one whose URIs continue on the next line
        var text = "Types: deb deb-src\nURIs: http://a.example/debian\n  http://b.example/debian\nSuites: bookworm\nComponents: main contrib\n\n" +
                   "Enabled: no\nTypes: deb\nURIs: http://c.example/debian\nSuites: trixie\n";

        // When parsed
        var entries = AptSources.ParseDeb822(text);

        // Then the continuation joins the field and the second stanza is disabled
        Assert.Equal(["http://a.example/debian", "http://b.example/debian"], entries[0].Uris);
        Assert.Equal(["deb", "deb-src"], entries[0].Types);
        Assert.Equal(["main", "contrib"], entries[0].Components);
        Assert.False(entries[1].Enabled);
    }

    [Fact]
    public void ParseOneLine_OptionsCommentsAndDebSrc_ParsedPerLine()
    {
        // Given one-line sources with a comment, options in brackets and a deb-src line
        var text = """
            # deb http://commented.example/debian bookworm main
            deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://mirror.example/debian/ bookworm main contrib # trailing
            deb-src http://src.example/debian bookworm main

            deb http://security.example/debian-security bookworm-security main
            """;

        // When parsed
        var entries = AptSources.ParseOneLine(text);

        // Then three entries come back, options skipped, comments ignored
        Assert.Equal(3, entries.Count);
        Assert.Equal(["deb"], entries[0].Types);
        Assert.Equal(["http://mirror.example/debian/"], entries[0].Uris);
        Assert.Equal(["bookworm"], entries[0].Suites);
        Assert.Equal(["main", "contrib"], entries[0].Components);
        Assert.Equal(["deb-src"], entries[1].Types);
        Assert.Equal(["bookworm-security"], entries[2].Suites);
    }

    [Fact]
    public void DetectMirrors_MachineLayoutWithDisabledFiles_TakesDebianSourcesOnly()
    {
        // Given the layout of this machine: debian.sources plus files renamed *.disabled-* that would otherwise win
        WriteApt("sources.list.d/debian.sources", MachineDeb822);
        WriteApt("sources.list.d/aaa.list.disabled-by-farm", "deb http://disabled.example/debian bookworm main\n");
        WriteApt("sources.list.d/aaa.sources.disabled-by-farm", "Types: deb\nURIs: http://disabled2.example/debian\nSuites: bookworm\n");

        // When mirrors are detected
        var (mirror, security) = AptSources.DetectMirrors(_apt, "bookworm");

        // Then the enabled Debian sources are used
        Assert.Equal("http://deb.debian.org/debian", mirror);
        Assert.Equal("http://deb.debian.org/debian-security", security);
    }

    [Fact]
    public void DetectMirrors_OneLineSourcesListFirst_TakesItsMirrorAndSecurity()
    {
        // Given a one-line sources.list (read before sources.list.d) naming a local mirror
        WriteApt("sources.list", "deb http://apt.local:3142/debian/ bookworm main\ndeb http://apt.local:3142/security bookworm-security main\n");
        WriteApt("sources.list.d/debian.sources", MachineDeb822);

        // When mirrors are detected
        var (mirror, security) = AptSources.DetectMirrors(_apt, "bookworm");

        // Then sources.list wins, trailing '/' trimmed
        Assert.Equal("http://apt.local:3142/debian", mirror);
        Assert.Equal("http://apt.local:3142/security", security);
    }

    [Fact]
    public void DetectMirrors_ThirdPartyRepositoryFirst_SkipsNonDebianSuites()
    {
        // Given a third-party repository listed before the Debian one
        WriteApt("sources.list", "deb https://packages.example.com/apt cloud-sdk-bookworm main\n");
        WriteApt("sources.list.d/nodesource.sources", "Types: deb\nURIs: https://deb.nodesource.example/node_20.x\nSuites: nodistro\nComponents: main\n");
        WriteApt("sources.list.d/zz-debian.list", "deb http://ftp.example.org/debian bookworm main\n");

        // When mirrors are detected for any suite
        var (mirror, security) = AptSources.DetectMirrors(_apt, null);

        // Then the Debian one is the mirror and its sibling serves security
        Assert.Equal("http://ftp.example.org/debian", mirror);
        Assert.Equal("http://ftp.example.org/debian-security", security);
    }

    [Fact]
    public void DetectMirrors_MultipleUris_TakesFirstServingTheSuite()
    {
        // Given one stanza with two URIs for trixie, and another stanza for bookworm
        WriteApt("sources.list.d/debian.sources",
            "Types: deb\nURIs: http://one.example/debian http://two.example/debian\nSuites: trixie\n\n" +
            "Types: deb\nURIs: http://three.example/debian\nSuites: bookworm\n");

        // When mirrors are detected for bookworm, then for trixie
        var bookworm = AptSources.DetectMirrors(_apt, "bookworm");
        var trixie = AptSources.DetectMirrors(_apt, "trixie");

        // Then the stanza serving that suite is preferred, and its first URI
        Assert.Equal("http://three.example/debian", bookworm.Mirror);
        Assert.Equal("http://one.example/debian", trixie.Mirror);
    }

    [Fact]
    public void DetectMirrors_NoSources_FallsBackToDebDebianOrg()
    {
        // Given an apt folder without any sources
        Directory.CreateDirectory(_apt);

        // When mirrors are detected
        var (mirror, security) = AptSources.DetectMirrors(_apt, "bookworm");

        // Then the public defaults are used
        Assert.Equal(AptSources.DefaultMirror, mirror);
        Assert.Equal(AptSources.DefaultSecurityMirror, security);
    }

    [Fact]
    public void DetectMirrors_OnlySecuritySource_DoesNotTakeItAsMirror()
    {
        // Given sources naming only a security suite
        WriteApt("sources.list", "deb http://sec.example/debian-security bookworm-security main\n");

        // When mirrors are detected
        var (mirror, security) = AptSources.DetectMirrors(_apt, "bookworm");

        // Then the mirror falls back, the security mirror is kept
        Assert.Equal(AptSources.DefaultMirror, mirror);
        Assert.Equal("http://sec.example/debian-security", security);
    }

    [Theory]
    [InlineData("http://mirror.example/debian", "http://mirror.example/debian-security")]
    [InlineData("http://mirror.example/debian/", "http://mirror.example/debian-security")]
    [InlineData("http://mirror.example/pub/linux", AptSources.DefaultSecurityMirror)]
    public void SecurityMirrorFor_Mirror_SiblingOrDefault(string mirror, string expected)
    {
        // Given a mirror, When its security mirror is derived, Then it is the sibling folder when there is an obvious one
        Assert.Equal(expected, AptSources.SecurityMirrorFor(mirror));
    }

    [Fact]
    public void RenderDebianSources_Bookworm_MatchesOfficialLayout()
    {
        // Given a stable suite
        // When the sources file is rendered
        var text = AptSources.RenderDebianSources("bookworm", "http://m.example/debian/", "http://s.example/debian-security", ["main", "contrib"]);

        // Then it has the two stanzas of the official image, exactly
        Assert.Equal(
            "Types: deb\nURIs: http://m.example/debian\nSuites: bookworm bookworm-updates\nComponents: main contrib\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n" +
            "Types: deb\nURIs: http://s.example/debian-security\nSuites: bookworm-security\nComponents: main contrib\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
            text);
        Assert.Equal(2, AptSources.ParseDeb822(text).Count);
    }

    [Fact]
    public void RenderDebianSources_Sid_HasNoUpdatesOrSecurity()
    {
        // Given the rolling suite, which has neither -updates nor -security
        // When rendered
        var entries = AptSources.ParseDeb822(AptSources.RenderDebianSources("sid", "http://m.example/debian", "http://s.example/debian-security", []));

        // Then one stanza for sid, main by default
        var entry = Assert.Single(entries);
        Assert.Equal(["sid"], entry.Suites);
        Assert.Equal(["main"], entry.Components);
    }

    private void WriteApt(string relativePath, string content)
    {
        var path = Path.Combine(_apt, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }
}
