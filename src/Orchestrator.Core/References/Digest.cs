using System.Security.Cryptography;

namespace Orchestrator.Core.References;

/// <summary>
/// A content digest, <c>algorithm:encoded</c>, as defined by the OCI image spec
/// (descriptor.md, "Digests"). Only the registered algorithms <c>sha256</c> (64 hex characters)
/// and <c>sha512</c> (128 hex characters) are accepted, lower-case hex only, so two digests of the
/// same content always compare equal as strings.
/// </summary>
public sealed record Digest
{
    private Digest(string algorithm, string encoded)
    {
        Algorithm = algorithm;
        Encoded = encoded;
    }

    /// <summary>The algorithm, <c>sha256</c> or <c>sha512</c>.</summary>
    public string Algorithm { get; }

    /// <summary>The lower-case hex encoding of the hash.</summary>
    public string Encoded { get; }

    /// <summary>Parses <paramref name="value"/>.</summary>
    /// <exception cref="FormatException">The value is not a registered, well-formed digest; the message says which part is wrong.</exception>
    public static Digest Parse(string value)
    {
        if (TryParse(value, out var digest, out var error))
        {
            return digest;
        }

        throw new FormatException(error);
    }

    /// <summary>Parses <paramref name="value"/> without throwing; <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out Digest? digest, [NotNullWhen(false)] out string? error)
    {
        digest = null;
        if (string.IsNullOrEmpty(value))
        {
            error = "a digest is required, in the form sha256:<64 hex characters>";
            return false;
        }

        var colon = value.IndexOf(':');
        if (colon <= 0)
        {
            error = $"'{value}' is not a digest: expected 'sha256:<64 hex characters>'";
            return false;
        }

        var algorithm = value[..colon];
        var encoded = value[(colon + 1)..];
        int expectedLength;
        switch (algorithm)
        {
            case "sha256":
                expectedLength = 64;
                break;
            case "sha512":
                expectedLength = 128;
                break;
            default:
                error = $"'{value}' uses the unsupported digest algorithm '{algorithm}': use sha256 or sha512";
                return false;
        }

        if (encoded.Length != expectedLength)
        {
            error = $"'{value}' has {encoded.Length} hex characters after '{algorithm}:', {expectedLength} are required";
            return false;
        }

        foreach (var c in encoded)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                error = $"'{value}' contains '{c}': a digest's hex part is lower-case 0-9 and a-f only";
                return false;
            }
        }

        digest = new Digest(algorithm, encoded);
        error = null;
        return true;
    }

    /// <summary>The sha256 digest of <paramref name="content"/>.</summary>
    public static Digest Sha256Of(ReadOnlySpan<byte> content) =>
        new("sha256", Convert.ToHexStringLower(SHA256.HashData(content)));

    /// <summary>The sha256 digest of everything read from <paramref name="content"/> (read to its end, not rewound).</summary>
    public static async Task<Digest> Sha256OfAsync(Stream content, CancellationToken cancellationToken = default) =>
        new("sha256", Convert.ToHexStringLower(await SHA256.HashDataAsync(content, cancellationToken).ConfigureAwait(false)));

    /// <summary>Creates a digest from a finished hash of this digest's algorithm.</summary>
    public static Digest FromHash(string algorithm, ReadOnlySpan<byte> hash) => Parse($"{algorithm}:{Convert.ToHexStringLower(hash)}");

    /// <summary>An incremental hasher for this digest's algorithm, for verifying streamed content.</summary>
    public IncrementalHash CreateHasher() => IncrementalHash.CreateHash(Algorithm == "sha512" ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256);

    /// <summary>True when <paramref name="content"/> hashes to this digest.</summary>
    public bool Matches(ReadOnlySpan<byte> content)
    {
        using var hasher = CreateHasher();
        hasher.AppendData(content);
        return FromHash(Algorithm, hasher.GetHashAndReset()) == this;
    }

    /// <summary>
    /// The fallback tag of the OCI referrers tag schema (distribution spec v1.1, "Referrers Tag Schema"):
    /// <c>&lt;alg&gt;-&lt;ref&gt;</c>, the algorithm cut to 32 characters and the hex to 64, so a sha512 digest
    /// still gives a valid tag (at most 128 characters).
    /// </summary>
    public string ToReferrersTag() => $"{Algorithm[..Math.Min(Algorithm.Length, 32)]}-{Encoded[..Math.Min(Encoded.Length, 64)]}";

    /// <summary>A short form for people, <c>sha256:0123456789ab</c>.</summary>
    public string ToShortString() => $"{Algorithm}:{Encoded[..12]}";

    /// <inheritdoc />
    public override string ToString() => $"{Algorithm}:{Encoded}";
}
