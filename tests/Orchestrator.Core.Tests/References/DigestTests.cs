using System.Text;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Tests.References;

public sealed class DigestTests
{
    private const string EmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    private const string EmptySha512 = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    private static readonly string Hex64 = new('f', 64);

    [Theory]
    [InlineData("sha256:" + EmptySha256, "sha256", EmptySha256)]
    [InlineData("sha512:" + EmptySha512, "sha512", EmptySha512)]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "sha256", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public void Parse_ValidDigest_SplitsAlgorithmAndEncodedAndRoundTrips(string text, string algorithm, string encoded)
    {
        // Given a well-formed digest, When parsed
        var digest = Digest.Parse(text);

        // Then its parts are split and ToString gives the text back
        Assert.Equal(algorithm, digest.Algorithm);
        Assert.Equal(encoded, digest.Encoded);
        Assert.Equal(text, digest.ToString());
    }

    [Theory]
    [InlineData(null, "required")]
    [InlineData("", "required")]
    [InlineData("sha256", "not a digest")]
    [InlineData(":" + EmptySha256, "not a digest")]
    [InlineData("sha256:ffffffffffffffffffffffffffffffffff", "34 hex characters")]
    [InlineData("sha256:" + EmptySha256 + "0", "65 hex characters")]
    [InlineData("sha512:" + EmptySha256, "128 are required")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "lower-case")]
    [InlineData("sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "contains 'g'")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest algorithm 'md5'")]
    [InlineData("invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "unsupported digest algorithm")]
    [InlineData("SHA256:" + EmptySha256, "unsupported digest algorithm 'SHA256'")]
    [InlineData("sha256:" + EmptySha256 + "\n", "65 hex characters")]
    public void TryParse_InvalidDigest_FailsWithReason(string? text, string reason)
    {
        // Given a malformed digest, When parsed
        var ok = Digest.TryParse(text, out var digest, out var error);

        // Then it fails with a message naming the problem
        Assert.False(ok);
        Assert.Null(digest);
        Assert.Contains(reason, error);
    }

    [Fact]
    public void Parse_Invalid_ThrowsFormatExceptionWithTheSameReason()
    {
        // Given a digest with a bad length, When parsed, Then a FormatException says so
        var error = Assert.Throws<FormatException>(() => Digest.Parse("sha256:abc"));
        Assert.Contains("3 hex characters", error.Message);
    }

    [Fact]
    public void Sha256Of_EmptyInput_IsTheKnownVector()
    {
        // Given no bytes, When hashed, Then the result is sha256("") from FIPS 180-4 test vectors
        Assert.Equal("sha256:" + EmptySha256, Digest.Sha256Of([]).ToString());
    }

    [Fact]
    public void Sha256Of_Abc_IsTheKnownVector()
    {
        // Given "abc", When hashed, Then the result is the FIPS 180-4 example digest
        Assert.Equal(
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            Digest.Sha256Of(Encoding.ASCII.GetBytes("abc")).ToString());
    }

    [Fact]
    public async Task Sha256OfAsync_Stream_MatchesSpanVersion()
    {
        // Given a stream of 1 MB of bytes
        var bytes = Enumerable.Range(0, 1 << 20).Select(i => (byte)i).ToArray();
        await using var stream = new MemoryStream(bytes);

        // When hashed as a stream, Then it equals the in-memory hash
        Assert.Equal(Digest.Sha256Of(bytes), await Digest.Sha256OfAsync(stream));
    }

    [Fact]
    public void Matches_SameAndOtherContent_TrueOnlyForSame()
    {
        // Given the digest of some content
        var content = Encoding.UTF8.GetBytes("{\"schemaVersion\":2}");
        var digest = Digest.Sha256Of(content);

        // When matched, Then only those exact bytes match
        Assert.True(digest.Matches(content));
        Assert.False(digest.Matches(Encoding.UTF8.GetBytes("{\"schemaVersion\": 2}")));
        Assert.False(digest.Matches([]));
    }

    [Fact]
    public void Matches_Sha512Digest_UsesSha512()
    {
        // Given the sha512 digest of the empty input
        var digest = Digest.Parse("sha512:" + EmptySha512);

        // When matched, Then the empty input matches and other content does not
        Assert.True(digest.Matches([]));
        Assert.False(digest.Matches([0]));
    }

    [Fact]
    public void FromHash_HashBytes_EncodesLowerHex()
    {
        // Given raw hash bytes, When turned into a digest, Then they are lower-case hex
        var digest = Digest.FromHash("sha256", Convert.FromHexString(EmptySha256.ToUpperInvariant()));
        Assert.Equal(Digest.Sha256Of([]), digest);
    }

    [Fact]
    public void Equality_SameText_EqualDigests()
    {
        // Given two digests parsed from the same text, Then they are equal values
        Assert.Equal(Digest.Parse("sha256:" + Hex64), Digest.Parse("sha256:" + Hex64));
        Assert.NotEqual(Digest.Parse("sha256:" + Hex64), Digest.Sha256Of([]));
    }

    [Fact]
    public void ToReferrersTag_Sha256_IsAlgorithmDashHex()
    {
        // Given a sha256 digest, When turned into the referrers fallback tag
        var tag = Digest.Sha256Of([]).ToReferrersTag();

        // Then it is <alg>-<hex>, itself a valid tag
        Assert.Equal("sha256-" + EmptySha256, tag);
        Assert.True(ImageReference.IsValidTag(tag, out _));
    }

    [Fact]
    public void ToReferrersTag_Sha512_IsAValidTag()
    {
        // Given a sha512 digest (128 hex characters)
        var digest = Digest.Parse("sha512:" + EmptySha512);

        // When turned into the referrers fallback tag
        var tag = digest.ToReferrersTag();

        // Then it must still be a valid tag (at most 128 characters): the distribution spec's
        // referrers tag schema limits <ref> to 64 characters, so "sha512-" + 64 hex.
        Assert.True(ImageReference.IsValidTag(tag, out var error), error);
        Assert.Equal("sha512-" + EmptySha512[..64], tag);
    }

    [Fact]
    public void ToShortString_Sha256_First12Hex()
    {
        // Given a digest, When shortened for people, Then it keeps the algorithm and 12 hex characters
        Assert.Equal("sha256:e3b0c44298fc", Digest.Sha256Of([]).ToShortString());
    }
}
