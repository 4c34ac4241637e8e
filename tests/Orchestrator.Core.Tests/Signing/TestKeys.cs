using System.Security.Cryptography;

namespace Orchestrator.Core.Tests.Signing;

/// <summary>Fresh ECDSA key pairs as PEM text, made with the platform's own crypto (not Orchestrator's).</summary>
internal sealed record TestKeyPair(string PrivatePem, string PublicPem, string Sec1Pem)
{
    public static TestKeyPair Create(ECCurve? curve = null)
    {
        using var key = ECDsa.Create(curve ?? ECCurve.NamedCurves.nistP256);
        return new TestKeyPair(key.ExportPkcs8PrivateKeyPem(), key.ExportSubjectPublicKeyInfoPem(), key.ExportECPrivateKeyPem());
    }

    /// <summary>Writes both halves under <paramref name="folder"/> as NAME.key and NAME.pub; returns their paths.</summary>
    public (string Private, string Public) Write(string folder, string name)
    {
        Directory.CreateDirectory(folder);
        var (privatePath, publicPath) = (Path.Combine(folder, $"{name}.key"), Path.Combine(folder, $"{name}.pub"));
        File.WriteAllText(privatePath, PrivatePem);
        File.WriteAllText(publicPath, PublicPem);
        return (privatePath, publicPath);
    }
}
