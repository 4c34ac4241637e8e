using System.Security.Cryptography;
using System.Text;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Signing;

namespace Orchestrator.Core.Tests.Signing;

public sealed class CosignFormatTests
{
    private static readonly Digest Image = Digest.Parse("sha256:" + new string('a', 64));

    [Fact]
    public void SimpleSigningPayload_Create_IsCosignsBytes()
    {
        // When the payload for a digest is made
        var payload = SimpleSigningPayload.Create("127.0.0.1:5001/apps/hello", Image);

        // Then it is byte for byte what cosign signs (pkg/cosign/payload: critical identity/image/type, optional null)
        Assert.Equal(
            "{\"critical\":{\"identity\":{\"docker-reference\":\"127.0.0.1:5001/apps/hello\"},\"image\":{\"docker-manifest-digest\":\"sha256:" + new string('a', 64) +
            "\"},\"type\":\"cosign container image signature\"},\"optional\":null}",
            Encoding.UTF8.GetString(payload));
    }

    [Fact]
    public void SimpleSigningPayload_TryParse_ReadsWhatCreateWrote()
    {
        // Given a payload
        var payload = SimpleSigningPayload.Create("127.0.0.1:5001/apps/hello", Image);

        // When it is parsed
        var ok = SimpleSigningPayload.TryParse(payload, out var claim, out var error);

        // Then it names the digest and the reference
        Assert.True(ok, error);
        Assert.Equal(Image, claim!.Digest);
        Assert.Equal("127.0.0.1:5001/apps/hello", claim.DockerReference);
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("{}", "no 'critical'")]
    [InlineData("{\"critical\":{\"type\":\"something else\"}}", "critical.type")]
    [InlineData("{\"critical\":{\"type\":\"cosign container image signature\",\"image\":{\"docker-manifest-digest\":\"md5:x\"}}}", "docker-manifest-digest")]
    public void SimpleSigningPayload_TryParse_NotTheFormat_SaysWhat(string text, string expected)
    {
        // When something that is not a simple-signing payload is parsed
        var ok = SimpleSigningPayload.TryParse(Encoding.UTF8.GetBytes(text), out _, out var error);

        // Then it is refused, saying what is wrong
        Assert.False(ok);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void CosignSignatureManifest_Create_IsDeterministicOciManifestWithConfigNamingThePayload()
    {
        // Given one signature layer
        var payload = SimpleSigningPayload.Create("127.0.0.1:5001/apps/hello", Image);
        var layer = SignatureLayer.For(payload, "MEUCIQ==");

        // When the config and manifest are made
        var config = CosignSignatureManifest.CreateConfig([layer]);
        var configDescriptor = new Descriptor(MediaTypes.OciConfig, Digest.Sha256Of(config), config.Length);
        var manifest = CosignSignatureManifest.Create([layer], configDescriptor);

        // Then both are the pinned bytes: go-containerregistry's empty-image config with the payload's diff_id,
        // and an OCI manifest with one simple-signing layer carrying the signature annotation
        Assert.Equal(
            "{\"architecture\":\"\",\"created\":\"0001-01-01T00:00:00Z\",\"history\":[{\"created\":\"0001-01-01T00:00:00Z\"}],\"os\":\"\"," +
            $"\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{layer.Digest}\"]}},\"config\":{{}}}}",
            Encoding.UTF8.GetString(config));
        Assert.Equal(
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," +
            $"\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":{config.Length},\"digest\":\"{configDescriptor.Digest}\"}}," +
            $"\"layers\":[{{\"mediaType\":\"application/vnd.dev.cosign.simplesigning.v1+json\",\"size\":{payload.Length},\"digest\":\"{layer.Digest}\"," +
            "\"annotations\":{\"dev.cosignproject.cosign/signature\":\"MEUCIQ==\"}}]}",
            Encoding.UTF8.GetString(manifest));
        Assert.Equal(manifest, CosignSignatureManifest.Create([layer], configDescriptor));
    }

    [Fact]
    public void CosignSignatureManifest_CreateReferrer_HasArtifactTypeEmptyConfigAndSubject()
    {
        // Given a signature layer and the signed manifest's descriptor
        var layer = SignatureLayer.For(SimpleSigningPayload.Create("r/x", Image), "MEUCIQ==");
        var subject = new Descriptor(MediaTypes.OciManifest, Image, 512);

        // When the referrer form is made
        var text = Encoding.UTF8.GetString(CosignSignatureManifest.CreateReferrer([layer], subject));

        // Then it is an OCI 1.1 artifact of cosign's signature type referring to the subject
        Assert.Contains("\"artifactType\":\"application/vnd.dev.cosign.artifact.sig.v1+json\"", text, StringComparison.Ordinal);
        Assert.Contains("\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"size\":2,", text, StringComparison.Ordinal);
        Assert.EndsWith($"\"subject\":{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":512,\"digest\":\"{Image}\"}}}}", text, StringComparison.Ordinal);
    }

    [Fact]
    public void CosignSignatureManifest_TryReadLayers_ReadsLayersBack()
    {
        // Given a manifest of two signature layers
        var one = SignatureLayer.For(SimpleSigningPayload.Create("r/x", Image), "b25l");
        var two = SignatureLayer.For(SimpleSigningPayload.Create("r/y", Image), "dHdv");
        var config = new Descriptor(MediaTypes.OciConfig, Digest.Sha256Of("{}"u8), 2);

        // When its layers are read
        var ok = CosignSignatureManifest.TryReadLayers(CosignSignatureManifest.Create([one, two], config), out var layers, out var error);

        // Then both come back with their signatures
        Assert.True(ok, error);
        Assert.Equal([one.Digest, two.Digest], layers!.Select(l => l.Digest));
        Assert.Equal(["b25l", "dHdv"], layers!.Select(l => l.Signature));
    }

    [Fact]
    public void TagFor_Digest_IsCosignsSigTag()
    {
        Assert.Equal($"sha256-{new string('a', 64)}.sig", CosignSignatureManifest.TagFor(Image));
    }

    [Fact]
    public void Sign_ThenVerifies_WithTheKeyAndNotAnother()
    {
        // Given a key pair, another key, and a payload
        var pair = TestKeyPair.Create();
        using var key = SigningKey.Parse(pair.PrivatePem, "release.key");
        var other = VerificationKey.Parse(TestKeyPair.Create().PublicPem, "other.pub");
        var payload = SimpleSigningPayload.Create("r/x", Image);

        // When it is signed
        var signature = key.Sign(payload);

        // Then the public key verifies it (and the signature is DER ECDSA), another key and a changed payload do not
        var publicKey = VerificationKey.Parse(pair.PublicPem, "release.pub");
        Assert.True(publicKey.Verifies(payload, signature));
        Assert.False(other.Verifies(payload, signature));
        Assert.False(publicKey.Verifies(SimpleSigningPayload.Create("r/y", Image), signature));
        Assert.False(publicKey.Verifies(payload, "not base64!"));
        Assert.Equal(0x30, Convert.FromBase64String(signature)[0]);
        using var platform = ECDsa.Create();
        platform.ImportFromPem(pair.PublicPem);
        Assert.True(platform.VerifyData(payload, Convert.FromBase64String(signature), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void Fingerprint_IsSha256OfSubjectPublicKeyInfo_SameForPrivateAndPublicHalf()
    {
        // Given a key pair
        var pair = TestKeyPair.Create();
        using var platform = ECDsa.Create();
        platform.ImportFromPem(pair.PublicPem);

        // When both halves are read (the private one as SEC1 with curve parameters before it, as openssl ecparam writes)
        using var key = SigningKey.Parse("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + pair.Sec1Pem, "release.key");
        var publicKey = VerificationKey.Parse(pair.PublicPem, "release.pub");

        // Then both fingerprints are sha256 of the DER SubjectPublicKeyInfo
        var expected = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(platform.ExportSubjectPublicKeyInfo()));
        Assert.Equal(expected, key.Fingerprint);
        Assert.Equal(expected, publicKey.Fingerprint);
    }

    public static TheoryData<string, string> BadPrivateKeys()
    {
        using var rsa = RSA.Create(2048);
        return new TheoryData<string, string>
        {
            { TestKeyPair.Create().PublicPem, "is a public key" },
            { TestKeyPair.Create(ECCurve.NamedCurves.nistP384).PrivatePem, "not P-256" },
            { rsa.ExportPkcs8PrivateKeyPem(), "is not an ECDSA private key" },
            { "just some text", "is not PEM" },
            { "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n", "encrypted" },
        };
    }

    [Theory]
    [MemberData(nameof(BadPrivateKeys))]
    public void SigningKey_Parse_BadKey_NamesSourceNotTheKey(string pem, string expected)
    {
        // When a bad private key is read
        var error = Assert.Throws<InputException>(() => SigningKey.Parse(pem, "keys/release.key"));

        // Then the error names the file and what is wrong, and quotes none of the text
        Assert.Contains("keys/release.key", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(pem.Split('\n').Length > 2 ? pem.Split('\n')[1] : pem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VerificationKey_Parse_PrivateKey_RefusedSayingSo()
    {
        // When a private key is given where a public one is expected
        var pair = TestKeyPair.Create();
        var error = Assert.Throws<InputException>(() => VerificationKey.Parse(pair.PrivatePem, "keys/release.pub"));

        // Then the error says so, without the key
        Assert.Contains("is a private key ('PRIVATE KEY') where a public key is expected", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(pair.PrivatePem.Split('\n')[1], error.Message, StringComparison.Ordinal);
    }
}
