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
}
