namespace Orchestrator.Definitions.Tests;

/// <summary>base-images/NAME.yaml.</summary>
public sealed class BaseImageTests
{
    private const string File = "base-images/debian-bookworm.yaml";

    [Fact]
    public async Task LoadAsync_VariantOverridesAndInherits_Resolved()
    {
        // Given top-level defaults and a variant overriding some of them, plus an upstream variant
        using var ws = new TestWorkspace();
        var digest = "sha256:" + new string('a', 64);
        ws.Write(File, $"""
            repository: base/debian-bookworm
            default-variant: full
            suite: bookworm
            mirror: http://deb.debian.org/debian
            components: [main, contrib]
            include: [ca-certificates]
            variants:
              full:
              slim:
                debootstrap-variant: minbase
                slim: true
                components: [main]
                security-mirror: http://deb.debian.org/debian-security
              upstream:
                from: registry.example/library/debian@{digest}
            """);

        // When loaded
        var bookworm = (await ws.LoadAsync()).Bases["debian-bookworm"];

        // Then each variant has its own settings over the inherited ones
        var full = bookworm.Variants["full"];
        Assert.Equal(("bookworm", "http://deb.debian.org/debian", (string?)null, false), (full.Suite, full.Mirror, full.SecurityMirror, full.Slim));
        Assert.Equal(["main", "contrib"], full.Components);
        Assert.Equal(["ca-certificates"], full.Include);
        var slim = bookworm.Variants["slim"];
        Assert.Equal(["main"], slim.Components);
        Assert.Equal("http://deb.debian.org/debian-security", slim.SecurityMirror);
        var upstream = bookworm.Variants["upstream"];
        Assert.Equal("registry.example", upstream.From!.Registry);
        Assert.Equal(digest, upstream.From.Digest!.ToString());
    }

    [Fact]
    public async Task LoadAsync_TagOnlyFrom_RefusedWithPinByDigestFix()
    {
        // Given an upstream variant pinned by tag only
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Base + "\n  upstream:\n    from: registry.example/library/debian:bookworm\n";
        var path = ws.Write(File, text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the value is named with the digest fix
        error.AssertAt(path, text, "registry.example/library");
        error.AssertSays("not pinned by digest", "pin it by digest: from: registry.example/library/debian@sha256:…");
    }

    [Fact]
    public async Task LoadAsync_FromWithoutRegistry_Refused()
    {
        // Given an upstream reference pinned by digest but naming no registry
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Base + $"\n  upstream:\n    from: library/debian@sha256:{new string('b', 64)}\n";
        var path = ws.Write(File, text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the missing registry is named
        error.AssertAt(path, text, "library/debian");
        error.AssertSays("names no registry", "from: REGISTRY/library/debian@sha256:");
    }

    [Fact]
    public async Task LoadAsync_NoSuiteAnywhere_ReportedPerVariant()
    {
        // Given a base with no suite at the top or in its variant
        using var ws = new TestWorkspace();
        var text = "repository: base/x\ndefault-variant: full\nvariants:\n  full: {}\n";
        var path = ws.Write("base-images/x.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the variant is named
        error.AssertAt(path, text, "full:");
        error.AssertSays("variant 'full' has no suite", "suite: bookworm");
    }

    [Fact]
    public async Task LoadAsync_DefaultVariantNotAVariant_Refused()
    {
        // Given default-variant naming a variant that is not there
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Base.Replace("default-variant: full", "default-variant: ful", StringComparison.Ordinal);
        var path = ws.Write(File, text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then it is refused with the variants
        error.AssertAt(path, text, "ful\n");
        error.AssertSays("default-variant 'ful' is not one of the variants", "did you mean 'full'?");
    }

    [Fact]
    public async Task LoadAsync_BadVariantSettings_EachReported()
    {
        // Given a bad debootstrap variant, a non-bool slim, an ftp mirror, a bad variant name and a name mismatch
        using var ws = new TestWorkspace();
        var text = """
            name: debian-bullseye
            repository: base/debian-bookworm
            default-variant: full
            suite: bookworm
            mirror: ftp://deb.debian.org/debian
            variants:
              full:
                debootstrap-variant: minbse
                slim: yes please
              .bad: {}
            """;
        var path = ws.Write(File, text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then all five are reported in order
        Assert.Equal(5, errors.Count);
        errors[0].AssertAt(path, text, "debian-bullseye");
        errors[0].AssertSays("differs from the file name", "name: debian-bookworm");
        errors[1].AssertAt(path, text, "ftp://");
        errors[1].AssertSays("is not an http:// or https:// URL", "mirror: http://");
        errors[2].AssertAt(path, text, "minbse");
        errors[2].AssertSays("debootstrap-variant 'minbse'", "did you mean 'minbase'?");
        errors[3].AssertAt(path, text, "yes please");
        errors[3].AssertSays("must be true or false", "slim: true");
        errors[4].AssertAt(path, text, ".bad");
        errors[4].AssertSays("variant name '.bad' is not a valid tag", "rename the variant");
    }

    [Fact]
    public async Task LoadAsync_MissingRequiredKeys_ReportedAtMappingStart()
    {
        // Given a base with neither repository, default-variant nor variants
        using var ws = new TestWorkspace();
        var path = ws.Write("base-images/x.yaml", "suite: bookworm\n");

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then each missing key is named at 1:1 with an example
        Assert.Equal(3, errors.Count);
        Assert.All(errors, e => Assert.Equal((path, 1, 1), (e.File, e.Line, e.Column)));
        Assert.Contains(errors, e => e.Message.Contains("'repository'", StringComparison.Ordinal) && e.Fix!.Contains("repository: base/x", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains("'default-variant'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains("'variants'", StringComparison.Ordinal));
    }
    [Fact]
    public async Task LoadAsync_SnapshotAtTopAndInVariant_InheritedOrOverriddenMirrorsNull()
    {
        // Given a top-level snapshot, a variant overriding it, and a variant that only inherits
        using var ws = new TestWorkspace();
        ws.Write(File, """
            repository: base/debian-bookworm
            default-variant: full
            suite: bookworm
            snapshot: 20250520T000000Z
            variants:
              full: {}
              slim:
                snapshot: 20240102T030405Z
            """);

        // When loaded
        var bookworm = (await ws.LoadAsync()).Bases["debian-bookworm"];

        // Then each variant has its snapshot and no mirrors of its own
        Assert.Equal(("20250520T000000Z", (string?)null, (string?)null), (bookworm.Variants["full"].Snapshot, bookworm.Variants["full"].Mirror, bookworm.Variants["full"].SecurityMirror));
        Assert.Equal("20240102T030405Z", bookworm.Variants["slim"].Snapshot);
    }

    [Fact]
    public async Task LoadAsync_NoSnapshot_SnapshotNull()
    {
        // Given the usual base without a snapshot
        using var ws = new TestWorkspace();
        ws.Write(File, TestWorkspace.Base);

        // When loaded
        var bookworm = (await ws.LoadAsync()).Bases["debian-bookworm"];

        // Then no variant has a snapshot
        Assert.All(bookworm.Variants.Values, v => Assert.Null(v.Snapshot));
    }

    [Theory]
    [InlineData("2025-05-20")]
    [InlineData("20250520")]
    [InlineData("20251320T000000Z")]
    [InlineData("20250520T000000")]
    [InlineData("20250520T250000Z")]
    public async Task LoadAsync_MalformedSnapshot_RefusedAtTheValueWithExample(string snapshot)
    {
        // Given a variant whose snapshot is not a yyyyMMddTHHmmssZ timestamp
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Base + $"\n  pinned:\n    snapshot: '{snapshot}'\n";
        var path = ws.Write(File, text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the value is named with the format and an example
        error.AssertAt(path, text, $"'{snapshot}'");
        error.AssertSays($"snapshot '{snapshot}' is not a snapshot.debian.org timestamp (yyyyMMddTHHmmssZ, UTC)", "snapshot: 20250520T000000Z");
    }

    [Theory]
    [InlineData("mirror: http://deb.debian.org/debian", "http://snapshot.debian.org/archive/debian/20250520T000000Z")]
    [InlineData("security-mirror: http://deb.debian.org/debian-security", "http://snapshot.debian.org/archive/debian-security/20250520T000000Z")]
    public async Task LoadAsync_SnapshotAndMirrorInOneVariant_RefusedAtTheMirrorKey(string mirrorLine, string snapshotUrl)
    {
        // Given a variant naming both a snapshot and a mirror
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Base + $"\n  pinned:\n    snapshot: 20250520T000000Z\n    {mirrorLine}\n";
        var path = ws.Write(File, text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the mirror key is named, with the snapshot URL it clashes with and both ways out
        var key = mirrorLine[..mirrorLine.IndexOf(':', StringComparison.Ordinal)];
        error.AssertAt(path, text, "    " + mirrorLine, skip: 4);
        error.AssertSays($"'{key}' and 'snapshot: 20250520T000000Z' in variant 'pinned': a snapshot is its own mirror ({snapshotUrl})",
            $"remove '{key}:' to use snapshot.debian.org, or remove 'snapshot:' to use the mirror");
    }

    [Fact]
    public async Task LoadAsync_SnapshotAndMirrorAtTheTop_RefusedOnce()
    {
        // Given both at the top of the file
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Base.Replace("suite: bookworm", "suite: bookworm\nmirror: http://deb.debian.org/debian\nsnapshot: 20250520T000000Z", StringComparison.Ordinal);
        var path = ws.Write(File, text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the top-level mirror is named once (not again per variant)
        error.AssertAt(path, text, "mirror:");
        error.AssertSays("'mirror' and 'snapshot: 20250520T000000Z' in the base image", "remove 'mirror:'");
    }

    [Fact]
    public async Task LoadAsync_VariantSnapshotUnderTopMirror_RefusedAtTheVariantSnapshot()
    {
        // Given a top-level mirror and a variant naming a snapshot
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Base.Replace("suite: bookworm", "suite: bookworm\nmirror: http://deb.debian.org/debian", StringComparison.Ordinal)
            + "\n  pinned:\n    snapshot: 20250520T000000Z\n";
        var path = ws.Write(File, text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the variant's snapshot is named, saying what it inherits
        error.AssertAt(path, text, "snapshot:");
        error.AssertSays("variant 'pinned' names snapshot 20250520T000000Z but inherits 'mirror: http://deb.debian.org/debian'", "move 'mirror:' from the top of the file");
    }

    [Fact]
    public async Task LoadAsync_VariantMirrorUnderTopSnapshot_RefusedAtTheVariantMirror()
    {
        // Given a top-level snapshot and a variant naming a security mirror
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Base.Replace("suite: bookworm", "suite: bookworm\nsnapshot: 20250520T000000Z", StringComparison.Ordinal)
            + "\n  live:\n    security-mirror: http://deb.debian.org/debian-security\n";
        var path = ws.Write(File, text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the variant's security-mirror is named
        error.AssertAt(path, text, "security-mirror:");
        error.AssertSays("variant 'live' sets 'security-mirror' but inherits 'snapshot: 20250520T000000Z'", "move 'snapshot:' from the top of the file");
    }

    [Fact]
    public async Task LoadAsync_SnapshotWithFrom_RefusedAsIgnored()
    {
        // Given an upstream variant that also names a snapshot
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Base + $"\n  upstream:\n    from: registry.example/library/debian@sha256:{new string('c', 64)}\n    snapshot: 20250520T000000Z\n";
        var path = ws.Write(File, text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the snapshot is named as ignored
        error.AssertAt(path, text, "snapshot:");
        error.AssertSays("so 'snapshot' would be ignored", "remove 'snapshot'");
    }

    [Fact]
    public async Task LoadAsync_DistrolessVariant_ReadAndOthersNot()
    {
        // Given a base with full, slim and a distroless variant
        using var ws = new TestWorkspace();
        ws.Write(File, TestWorkspace.Base + "\n  distroless:\n    distroless: true\n");

        // When loaded
        var bookworm = (await ws.LoadAsync()).Bases["debian-bookworm"];

        // Then only that variant is distroless
        Assert.True(bookworm.Variants["distroless"].Distroless);
        Assert.All(bookworm.Variants.Values.Where(v => v.Name != "distroless"), v => Assert.False(v.Distroless));
    }

    [Fact]
    public async Task LoadAsync_DistrolessWithFrom_RefusedAsIgnored()
    {
        // Given an upstream variant that also says distroless
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Base + $"\n  upstream:\n    from: registry.example/library/debian@sha256:{new string('c', 64)}\n    distroless: true\n";
        var path = ws.Write(File, text);

        // When loaded, Then 'distroless' is named as ignored with both ways out
        var error = await ws.SingleErrorAsync();
        error.AssertAt(path, text, "distroless: true");
        error.AssertSays("so 'distroless' would be ignored", "remove 'distroless'");
    }
}
