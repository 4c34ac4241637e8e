using System.Security.Cryptography;

namespace Orchestrator.Core.Signing;

/// <summary>
/// Reads the ECDSA P-256 keys cosign uses from PEM text (RFC 7468): a private key as PKCS#8
/// (<c>PRIVATE KEY</c>, what <c>openssl genpkey</c> writes) or SEC1 (<c>EC PRIVATE KEY</c>, what
/// <c>openssl ecparam -genkey</c> writes, an <c>EC PARAMETERS</c> block before it is skipped), a public key
/// as SubjectPublicKeyInfo (<c>PUBLIC KEY</c>, what <c>openssl ec -pubout</c> and <c>cosign generate-key-pair</c> write).
/// Errors are sentences that name what is wrong and never quote the key material.
/// </summary>
public static class SignatureKeyPem
{
    /// <summary>The object identifier of the NIST P-256 curve (secp256r1, prime256v1).</summary>
    public const string P256Oid = "1.2.840.10045.3.1.7";

    private const string Generate = "make one with 'openssl ecparam -name prime256v1 -genkey -noout -out release.key' and 'openssl ec -in release.key -pubout -out release.pub'";

    /// <summary>Reads a private key; <paramref name="error"/> says why not (it does not quote the text).</summary>
    public static bool TryReadPrivate(string pem, [NotNullWhen(true)] out ECDsa? key, [NotNullWhen(false)] out string? error)
    {
        key = null;
        if (!TryFindKeyBlock(pem, out var label, out var der, out error))
        {
            return false;
        }

        switch (label)
        {
            case "PUBLIC KEY":
                error = $"is a public key ('{label}'); signing needs the private key (the public one goes under 'require-signature')";
                return false;
            case "PRIVATE KEY" or "EC PRIVATE KEY":
                break;
            default:
                error = label.StartsWith("ENCRYPTED", StringComparison.Ordinal)
                    ? $"is an encrypted private key ('{label}'), which Orchestrator cannot unlock; give it an unencrypted PKCS#8 or SEC1 EC key (keep it in a secret store or an environment variable named by 'key-env'), e.g. {Generate}"
                    : $"holds a '{label}' block, not an EC private key; {Generate}";
                return false;
        }

        var ecdsa = ECDsa.Create();
        try
        {
            if (label == "PRIVATE KEY")
            {
                ecdsa.ImportPkcs8PrivateKey(der, out _);
            }
            else
            {
                ecdsa.ImportECPrivateKey(der, out _);
            }

            if (!IsP256(ecdsa, out error))
            {
                ecdsa.Dispose();
                return false;
            }
        }
        catch (CryptographicException)
        {
            ecdsa.Dispose();
            error = $"is not an ECDSA private key (an RSA or Ed25519 key, or damaged); {Generate}";
            return false;
        }

        key = ecdsa;
        return true;
    }

    /// <summary>Reads a public key as its DER SubjectPublicKeyInfo; <paramref name="error"/> says why not.</summary>
    public static bool TryReadPublic(string pem, [NotNullWhen(true)] out byte[]? subjectPublicKeyInfo, [NotNullWhen(false)] out string? error)
    {
        subjectPublicKeyInfo = null;
        if (!TryFindKeyBlock(pem, out var label, out var der, out error))
        {
            return false;
        }

        if (label != "PUBLIC KEY")
        {
            error = label.Contains("PRIVATE KEY", StringComparison.Ordinal)
                ? $"is a private key ('{label}') where a public key is expected; never hand the private key to verifiers: export the public one with 'openssl ec -in KEY -pubout -out KEY.pub'"
                : $"holds a '{label}' block, not a public key ('PUBLIC KEY'); export one with 'openssl ec -in KEY -pubout -out KEY.pub'";
            return false;
        }

        using var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportSubjectPublicKeyInfo(der, out _);
        }
        catch (CryptographicException)
        {
            error = "is not an ECDSA public key (an RSA or Ed25519 key, or damaged); cosign's keys are ECDSA P-256";
            return false;
        }

        if (!IsP256(ecdsa, out error))
        {
            return false;
        }

        // Re-exported so the fingerprint does not depend on how the file encoded it.
        subjectPublicKeyInfo = ecdsa.ExportSubjectPublicKeyInfo();
        return true;
    }

    private static bool IsP256(ECDsa key, [NotNullWhen(false)] out string? error)
    {
        var curve = key.ExportParameters(includePrivateParameters: false).Curve;
        if (curve.Oid?.Value == P256Oid || curve.Oid?.FriendlyName is "nistP256" or "ECDSA_P256" or "prime256v1" or "secp256r1")
        {
            error = null;
            return true;
        }

        error = $"is an ECDSA key on curve {curve.Oid?.FriendlyName ?? curve.Oid?.Value ?? "(explicit parameters)"}, not P-256 (prime256v1), which cosign's format uses; {Generate}";
        return false;
    }

    // The first PEM block that is not curve parameters ('openssl ecparam -genkey' writes those first).
    private static bool TryFindKeyBlock(string pem, out string label, out byte[] der, [NotNullWhen(false)] out string? error)
    {
        label = string.Empty;
        der = [];
        var rest = pem.AsMemory();
        while (PemEncoding.TryFind(rest.Span, out var fields))
        {
            var found = rest.Span[fields.Label].ToString();
            if (found != "EC PARAMETERS")
            {
                label = found;
                der = Convert.FromBase64String(rest.Span[fields.Base64Data].ToString());
                error = null;
                return true;
            }

            rest = rest[fields.Location.End.Value..];
        }

        error = $"is not PEM (no '-----BEGIN … KEY-----' block); {Generate}";
        return false;
    }
}
