using Orchestrator.Core.References;

namespace Orchestrator.Core.Tests.References;

/// <summary>
/// Table tests taken from github.com/distribution/reference (reference_test.go, normalize_test.go),
/// adapted to Core's documented rules: the first component is a registry only when it has '.' or
/// ':', is <c>localhost</c> or has upper case (as the docker CLI), and no default registry is filled in.
/// </summary>
public sealed class ImageReferenceTests
{
    private const string Sha256F = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    private const string Sha512F = "sha512:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    private const string Sha256E = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    public static TheoryData<string, string?, string, string?, string?> Valid => new()
    {
        // input, registry, repository, tag, digest
        { $"localhost:5000/a/b:tag@{Sha256E}", "localhost:5000", "a/b", "tag", Sha256E },
        { "localhost/x", "localhost", "x", null, null },
        { "localhost", null, "localhost", null, null },
        { "localhost:5000", null, "localhost", "5000", null },
        { "127.0.0.1:5001/apps/x", "127.0.0.1:5001", "apps/x", null, null },
        { "[::1]:5000/a", "[::1]:5000", "a", null, null },
        { $"repo:tag@{Sha256E}", null, "repo", "tag", Sha256E },
        { "a/b/c", null, "a/b/c", null, null },
        { "example.com/foo__bar", "example.com", "foo__bar", null, null },
        { "foo.bar/baz:v1.2.3", "foo.bar", "baz", "v1.2.3", null },
        { "test_com", null, "test_com", null, null },
        { "test.com:tag", null, "test.com", "tag", null },
        { "test.com:5000", null, "test.com", "5000", null },
        { "test.com/repo:tag", "test.com", "repo", "tag", null },
        { "test:5000/repo", "test:5000", "repo", null, null },
        { "test:5000/repo:tag", "test:5000", "repo", "tag", null },
        { $"test:5000/repo@{Sha256F}", "test:5000", "repo", null, Sha256F },
        { $"test:5000/repo:tag@{Sha256F}", "test:5000", "repo", "tag", Sha256F },
        { "lowercase:Uppercase", null, "lowercase", "Uppercase", null },
        { "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux", null, null },
        { "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", null },
        { "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app", "test.example.com", null },
        { "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", null },
        { $"xn--7o8h.com/myimage:xn--7o8h.com@{Sha512F}", "xn--7o8h.com", "myimage", "xn--7o8h.com", Sha512F },
        { "foo_bar.com:8080", null, "foo_bar.com", "8080", null },
        { "foo/foo_bar.com:8080", null, "foo/foo_bar.com", "8080", null },
        { "192.168.1.1", null, "192.168.1.1", null, null },
        { "192.168.1.1:tag", null, "192.168.1.1", "tag", null },
        { "192.168.1.1/repo", "192.168.1.1", "repo", null, null },
        { "192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", null },
        { "[2001:db8::1]/repo", "[2001:db8::1]", "repo", null, null },
        { "[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", null },
        { $"[2001:db8::1]:5000/repo:tag@{Sha256F}", "[2001:db8::1]:5000", "repo", "tag", Sha256F },
        { "[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo", null, null },
        { "test-com:8080/foo", "test-com:8080", "foo", null, null },
        { "xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", null, null },
        { "a-----b/c.d_e__f", null, "a-----b/c.d_e__f", null, null },
        { "Uppercase/lowercase:tag", "Uppercase", "lowercase", "tag", null },
        { "r:" + new string('t', 128), null, "r", new string('t', 128), null },
        { "r:_underscore.first-ok", null, "r", "_underscore.first-ok", null },
        { string.Concat(Enumerable.Repeat("a/", 127)) + "a:tag-puts-this-over-max", null, string.Concat(Enumerable.Repeat("a/", 127)) + "a", "tag-puts-this-over-max", null },
    };

    public static TheoryData<string, string> Invalid => new()
    {
        // input, a fragment of the reason
        { "", "required" },
        { "   ", "required" },
        { ":justtag", "repository name is required" },
        { $"@{Sha256F}", "repository name is required" },
        { "Uppercase:tag", "upper-case" },
        { "apps/Hello", "upper-case" },
        { "test:5000/Uppercase/lowercase:tag", "upper-case" },
        { "a//b", "empty path component" },
        { "a/", "empty path component" },
        { "/a", "empty path component" },
        { "127.0.0.1:5001/apps/", "empty path component" },
        { "r:" + new string('t', 129), "129 characters long" },
        { "r:.tag", "is invalid" },
        { "r:-tag", "is invalid" },
        { "r:", "a tag is required" },
        { "r:tag with space", "is invalid" },
        { "repo@sha256:ffffffffffffffffffffffffffffffffff", "34 hex characters" },
        { "repo@sha256:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "lower-case" },
        { "validname@invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "unsupported digest algorithm" },
        { "repo@", "digest is required" },
        { "aa/asdf$$^/aa", "invalid component" },
        { "foo___bar", "invalid component" },
        { "foo..bar", "invalid component" },
        { "-foo", "invalid component" },
        { "foo-", "invalid component" },
        { string.Concat(Enumerable.Repeat("a/", 128)) + "a:tag", "longer than 255" },
        { "example.com/" + new string('a', 244), "longer than 255" },
        { "[2001:db8::1]", "invalid" },
        { "[2001:db8::1]:5000", "invalid" },
        { "[2001:db8::1]:tag", "invalid" },
        { "[fe80::1%eth0]:5000/repo", "not a registry host" },
        { "[fe80::1%@invalidzone]:5000/repo", "" },
        { "-bad.example.com/repo", "not a registry host" },
        { "bad_host.com:5000/repo", "not a registry host" },
    };

    /// <summary>Inputs a strict implementation of the grammar rejects; .NET regex quirks can let them through.</summary>
    public static TheoryData<string, string> InvalidStrict => new()
    {
        // '$' in a .NET regex also matches before a final '\n', so a trailing newline must still be rejected.
        { "repo\n", "newline after the repository" },
        { "repo:tag\n", "newline after the tag" },
        { "host.example\n/repo", "newline in the registry" },
        // The grammar's \w is ASCII [A-Za-z0-9_]; .NET's \w also matches non-ASCII letters.
        { "repo:café", "non-ASCII letter in the tag" },
        { "repo:标签", "non-ASCII tag" },
        { "repo:١٢٣", "Arabic-Indic digits in the tag" },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Parse_ValidReference_SplitsIntoParts(string input, string? registry, string repository, string? tag, string? digest)
    {
        // Given a reference the grammar accepts, When parsed
        var reference = ImageReference.Parse(input);

        // Then registry, repository, tag and digest are split as expected
        Assert.Equal(registry, reference.Registry);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(digest, reference.Digest?.ToString());
        Assert.Equal(registry is null ? repository : $"{registry}/{repository}", reference.Name);
    }

    [Theory]
    [MemberData(nameof(Valid))]
    public void ToString_ValidReference_RoundTripsExactly(string input, string? registry, string repository, string? tag, string? digest)
    {
        // Given a parsed reference
        _ = (registry, repository, tag, digest);
        var reference = ImageReference.Parse(input);

        // When printed and parsed again, Then the text and the value are unchanged
        Assert.Equal(input, reference.ToString());
        Assert.Equal(reference, ImageReference.Parse(reference.ToString()));
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void TryParse_InvalidReference_FailsWithReason(string input, string reason)
    {
        // Given a reference the grammar rejects, When parsed
        var ok = ImageReference.TryParse(input, out var reference, out var error);

        // Then it fails, saying why
        Assert.False(ok);
        Assert.Null(reference);
        Assert.Contains(reason, error);
        Assert.Throws<FormatException>(() => ImageReference.Parse(input));
    }

    [Theory]
    [MemberData(nameof(InvalidStrict))]
    public void TryParse_InputOutsideTheAsciiGrammar_Fails(string input, string why)
    {
        // Given a reference with characters the distribution grammar does not allow
        // When parsed, Then it is rejected
        Assert.False(ImageReference.TryParse(input, out var reference, out _), $"accepted {why}: parsed as '{reference}'");
    }

    [Fact]
    public void TryParse_Null_FailsWithExample()
    {
        // Given no text, When parsed, Then the error shows the expected form
        Assert.False(ImageReference.TryParse(null, out _, out var error));
        Assert.Contains("127.0.0.1:5001/apps/hello:1.0", error);
    }

    [Fact]
    public void Parse_NameOf255Characters_AcceptedAnd256Rejected()
    {
        // Given names with registry of exactly 255 and 256 characters
        var ok = "example.com/" + new string('a', 255 - "example.com/".Length);
        var tooLong = ok + "a";

        // When parsed, Then the limit is inclusive
        Assert.Equal(255, ImageReference.Parse(ok).Name.Length);
        Assert.False(ImageReference.TryParse(tooLong, out _, out _));
    }

    [Fact]
    public void WithTag_DigestReference_ReplacesTagAndDropsDigest()
    {
        // Given a reference with a tag and a digest
        var reference = ImageReference.Parse($"127.0.0.1:5001/apps/x:1@{Sha256E}");

        // When given another tag
        var tagged = reference.WithTag("2.0");

        // Then it names the same repository with the new tag only
        Assert.Equal("127.0.0.1:5001/apps/x:2.0", tagged.ToString());
        Assert.Null(tagged.Digest);
        Assert.Equal("127.0.0.1:5001/apps/x:1@" + Sha256E, reference.ToString());
    }

    [Fact]
    public void WithTag_InvalidTag_Throws()
    {
        // Given a reference, When given a tag starting with '-', Then it is refused
        var error = Assert.Throws<FormatException>(() => ImageReference.Parse("apps/x").WithTag("-bad"));
        Assert.Contains("-bad", error.Message);
    }

    [Fact]
    public void WithDigest_TaggedReference_PinsDigestAndDropsTag()
    {
        // Given a tagged reference
        var reference = ImageReference.Parse("127.0.0.1:5001/apps/x:1.0");

        // When pinned to a digest
        var pinned = reference.WithDigest(Digest.Parse(Sha256E));

        // Then it is name@digest
        Assert.Equal($"127.0.0.1:5001/apps/x@{Sha256E}", pinned.ToString());
        Assert.Null(pinned.Tag);
    }

    [Fact]
    public void InRegistry_OtherRegistry_KeepsRepositoryTagAndDigest()
    {
        // Given a staging reference with tag and digest
        var staging = ImageReference.Parse($"127.0.0.1:5001/apps/x:1.0@{Sha256E}");

        // When moved to the production registry
        var production = staging.InRegistry("127.0.0.1:5002");

        // Then only the registry changed
        Assert.Equal($"127.0.0.1:5002/apps/x:1.0@{Sha256E}", production.ToString());
        Assert.Equal(staging.Repository, production.Repository);
    }

    [Theory]
    [InlineData("not a host")]
    [InlineData("host:port")]
    [InlineData("-host.example")]
    public void InRegistry_InvalidHost_Throws(string registry)
    {
        // Given a reference, When moved to a malformed registry, Then it is refused naming the host
        var error = Assert.Throws<FormatException>(() => ImageReference.Parse("apps/x").InRegistry(registry));
        Assert.Contains(registry, error.Message);
    }

    [Fact]
    public void InRegistry_NameWouldExceed255_Throws()
    {
        // Given a repository that fits alone, When its name with a long registry exceeds 255, Then it is refused
        var reference = ImageReference.Parse(new string('a', 250));
        Assert.Throws<FormatException>(() => reference.InRegistry("registry.example.com:5000"));
    }

    [Fact]
    public void Create_Parts_EqualsParsed()
    {
        // Given parts, When a reference is created, Then it equals the parsed text
        var created = ImageReference.Create("127.0.0.1:5001", "apps/x", "1.0", Digest.Parse(Sha256E));
        Assert.Equal(ImageReference.Parse($"127.0.0.1:5001/apps/x:1.0@{Sha256E}"), created);
    }

    [Theory]
    [InlineData("example.com/x")]
    [InlineData("localhost/x")]
    public void Create_NoRegistryAndAFirstComponentThatReadsAsOne_IsRefusedNamingTheRegistryItWouldBe(string repository)
    {
        // Given a repository whose first component has a '.' or is localhost, and no registry
        // When a reference is created from it
        var error = Assert.Throws<FormatException>(() => ImageReference.Create(null, repository));

        // Then it is refused (its text would name another image), saying which registry it would read as
        Assert.Contains($"in registry '{repository.Split('/')[0]}'", error.Message, StringComparison.Ordinal);
        Assert.Equal("x", ImageReference.Parse(repository).Repository);
    }

    [Theory]
    [InlineData("apps/x", true)]
    [InlineData("apps/X", false)]
    [InlineData("apps//x", false)]
    [InlineData("", false)]
    public void IsValidRepository_Name_ValidExactlyWhenEveryComponentIsNonEmptyLowerCase(string repository, bool valid)
    {
        // Given a repository name, When checked, Then the answer follows the path-component grammar
        Assert.Equal(valid, ImageReference.IsValidRepository(repository, out var error));
        Assert.Equal(valid, error is null);
    }
}
