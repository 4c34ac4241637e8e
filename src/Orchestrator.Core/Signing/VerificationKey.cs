using System.Security.Cryptography;

namespace Orchestrator.Core.Signing;

/// <summary>
/// An ECDSA P-256 public key that verifies cosign signatures, as a <c>require-signature</c> entry or a
/// <c>--key</c> names it.
/// </summary>
/// <param name="Source">Where it came from: the path as written, for messages.</param>
/// <param name="SubjectPublicKeyInfo">The DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).</param>
public sealed record VerificationKey(string Source, ReadOnlyMemory<byte> SubjectPublicKeyInfo)
{
    /// <summary><c>sha256:HEX</c> of <see cref="SubjectPublicKeyInfo"/>: the same key gives the same fingerprint whatever file holds it.</summary>
    public string Fingerprint { get; } = $"sha256:{Convert.ToHexStringLower(SHA256.HashData(SubjectPublicKeyInfo.Span))}";

    /// <summary><c>PATH (sha256:…12 hex)</c>, as refusals name a key.</summary>
    public string Describe() => $"{Source} ({Fingerprint[..19]}…)";

    /// <summary>Reads a PEM public key (see <see cref="SignatureKeyPem"/>).</summary>
    /// <exception cref="Errors.InputException">Not PEM, a private key, not ECDSA or not P-256; the message names <paramref name="source"/>.</exception>
    public static VerificationKey Parse(string pem, string source) =>
        SignatureKeyPem.TryReadPublic(pem, out var spki, out var error)
            ? new VerificationKey(source, spki)
            : throw new Errors.InputException($"public key {source} {error}");

    /// <summary>
    /// True when <paramref name="signatureBase64"/> (base64 ASN.1 DER ECDSA) signs the SHA-256 of <paramref name="payload"/>
    /// with this key; false for any other signature, malformed base64 included.
    /// </summary>
    public bool Verifies(ReadOnlySpan<byte> payload, string signatureBase64)
    {
        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(signatureBase64);
        }
        catch (FormatException)
        {
            return false;
        }

        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(SubjectPublicKeyInfo.Span, out _);
        try
        {
            return key.VerifyData(payload, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public bool Equals(VerificationKey? other) => other is not null && Fingerprint == other.Fingerprint && Source == other.Source;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Fingerprint, Source);
}
