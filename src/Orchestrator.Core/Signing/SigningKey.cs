using System.Security.Cryptography;

namespace Orchestrator.Core.Signing;

/// <summary>
/// An ECDSA P-256 private key that signs cosign payloads. Holds the key only as long as one signing
/// needs it; its text is never logged, returned or put in an error, only its public key's
/// <see cref="Fingerprint"/>.
/// </summary>
public sealed class SigningKey : IDisposable
{
    private readonly ECDsa _key;

    private SigningKey(ECDsa key, string source)
    {
        _key = key;
        Source = source;
        PublicKey = new VerificationKey(source, key.ExportSubjectPublicKeyInfo());
    }

    /// <summary>Where the key came from (a path or <c>$NAME</c>), for messages.</summary>
    public string Source { get; }

    /// <summary>Its public half.</summary>
    public VerificationKey PublicKey { get; }

    /// <summary><c>sha256:HEX</c> of the public key's DER SubjectPublicKeyInfo.</summary>
    public string Fingerprint => PublicKey.Fingerprint;

    /// <summary>Reads a PEM private key (see <see cref="SignatureKeyPem"/>).</summary>
    /// <param name="pem">The PEM text.</param>
    /// <param name="source">Where it came from, for messages (a path or <c>$NAME</c>).</param>
    /// <exception cref="Errors.InputException">Not PEM, not an EC private key, not P-256, or encrypted; the message names <paramref name="source"/>, not the key.</exception>
    public static SigningKey Parse(string pem, string source) =>
        SignatureKeyPem.TryReadPrivate(pem, out var key, out var error)
            ? new SigningKey(key, source)
            : throw new Errors.InputException($"signing key {source} {error}");

    /// <summary>
    /// The cosign signature of <paramref name="payload"/>: ECDSA P-256 over its SHA-256 (FIPS 186-4), ASN.1 DER
    /// (RFC 3279), base64 as in the <c>dev.cosignproject.cosign/signature</c> annotation. Randomized: two calls differ.
    /// </summary>
    public string Sign(ReadOnlySpan<byte> payload) =>
        Convert.ToBase64String(_key.SignData(payload, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}
