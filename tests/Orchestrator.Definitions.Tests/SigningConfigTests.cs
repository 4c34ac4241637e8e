using System.Security.Cryptography;

namespace Orchestrator.Definitions.Tests;

/// <summary>orchestrator.yaml: 'signing:' and a registry's 'require-signature'.</summary>
public sealed class SigningConfigTests
{
    private static readonly string Stages = """
        stages: [staging, production]
        registries:
          staging: { url: http://127.0.0.1:5001 }

        """;

    [Fact]
    public async Task LoadAsync_SigningKeyFileAndRequiredKeys_ReadWithFingerprints()
    {
        // Given a P-256 key pair under keys/ and a config naming both halves, relative to the config
        using var ws = new TestWorkspace();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        ws.Write("keys/release.key", key.ExportECPrivateKeyPem());
        ws.Write("keys/release.pub", key.ExportSubjectPublicKeyInfoPem());
        ws.Write("orchestrator.yaml", Stages + """
              production: { url: http://127.0.0.1:5002, require-signature: [keys/release.pub] }
            signing:
              key-file: keys/release.key
            """);

        // When loaded
        var config = (await ws.LoadAsync()).Config;

        // Then the key file is absolute, and production requires the public key, named as written with its fingerprint
        Assert.Equal(Path.Combine(ws.Root, "keys", "release.key"), config.Signing!.KeyFile);
        var required = Assert.Single(config.Stages[1].RequiredSignatureKeys);
        Assert.Equal("keys/release.pub", required.Source);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo())), required.Fingerprint);
        Assert.Empty(config.Stages[0].RequiredSignatureKeys);
    }

    [Fact]
    public async Task LoadAsync_SigningKeyEnv_NamesTheVariable()
    {
        // Given signing from an environment variable
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", Stages + "  production: { url: http://127.0.0.1:5002 }\nsigning: { key-env: ORCHESTRATOR_SIGNING_KEY }\n");

        // When loaded
        var config = (await ws.LoadAsync()).Config;

        // Then only the variable's name is kept
        Assert.Equal(new Core.Definitions.SigningSettings(null, "ORCHESTRATOR_SIGNING_KEY"), config.Signing);
    }

    public static TheoryData<string, string, string, string> BadKeys()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var p256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new TheoryData<string, string, string, string>
        {
            // file content, where the config names it, needle of the position, expected message
            { p384.ExportPkcs8PrivateKeyPem(), "signing: { key-file: keys/k }", "keys/k", "not P-256" },
            { p256.ExportSubjectPublicKeyInfoPem(), "signing: { key-file: keys/k }", "keys/k", "is a public key" },
            { "hello", "signing: { key-file: keys/k }", "keys/k", "is not PEM" },
            { p256.ExportPkcs8PrivateKeyPem(), "registries-extra", "keys/k", "is a private key ('PRIVATE KEY') where a public key is expected" },
        };
    }

    [Theory]
    [MemberData(nameof(BadKeys))]
    public async Task LoadAsync_BadKey_ErrorAtItsLineWithoutTheKey(string content, string where, string needle, string expected)
    {
        // Given a config naming a key file that is not what it should be
        using var ws = new TestWorkspace();
        ws.Write("keys/k", content);
        var text = where == "registries-extra"
            ? Stages + "  production: { url: http://127.0.0.1:5002, require-signature: [keys/k] }\n"
            : Stages + "  production: { url: http://127.0.0.1:5002 }\n" + where + "\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var error = Assert.Single(await ws.ErrorsAsync());

        // Then the error is at the path's position, says what is wrong, and quotes none of the key
        error.AssertAt(ws.ConfigPath, text, needle);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Fix);
        if (content.Split('\n') is [_, var body, ..])
        {
            Assert.DoesNotContain(body, error.ToString(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("signing: { key-file: keys/none.key }", "keys/none.key", "cannot be read (no such file")]
    [InlineData("signing: { key-env: ORCHESTRATOR_SIGNING_KEY, key-file: keys/none.key }", "{ key-env", "names both")]
    [InlineData("signing: {}", "{}", "names no key")]
    [InlineData("signing: { key-env: MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5lhMxkbZ8UjBHoAoGCCqGSM49 }", "MHcC", "must name an environment variable")]
    public async Task LoadAsync_BadSigningSection_ErrorAtItsLine(string signing, string needle, string expected)
    {
        // Given a bad 'signing:' section
        using var ws = new TestWorkspace();
        var text = Stages + "  production: { url: http://127.0.0.1:5002 }\n" + signing + "\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var error = Assert.Single(await ws.ErrorsAsync());

        // Then it is reported where it is written, never echoing a pasted key
        error.AssertAt(ws.ConfigPath, text, needle);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("MHcCAQEE", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_EmptyRequireSignature_Refused()
    {
        // Given a stage whose require-signature lists nothing
        using var ws = new TestWorkspace();
        var text = Stages + "  production: { url: http://127.0.0.1:5002, require-signature: [] }\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var error = Assert.Single(await ws.ErrorsAsync());

        // Then it says it would require nothing
        error.AssertAt(ws.ConfigPath, text, "[]");
        error.AssertSays("is empty, which would require nothing", "require-signature: [keys/release.pub]");
    }
}
