using Orchestrator.Core.Definitions;

namespace Orchestrator.Definitions.Tests;

/// <summary>orchestrator.yaml's TLS keys of a registry: ca-file, cert-file, key-file, insecure, allow-insecure-remote.</summary>
public sealed class RegistryTlsConfigTests
{
    private const string Ca = """
        -----BEGIN CERTIFICATE-----
        MIIBdDCCARmgAwIBAgIUQ0fJ8t2h0c0s7bH7oYdJ0eP6zCgwCgYIKoZIzj0EAwIw
        -----END CERTIFICATE-----
        """;

    [Fact]
    public async Task LoadAsync_CaFileCertFileKeyFile_ResolvedAgainstTheConfigFolder()
    {
        // Given a https registry naming the test PKI's CA and client pair by paths relative to orchestrator.yaml
        using var ws = new TestWorkspace();
        CopyPki(ws, "ca.crt", "client.crt", "client.key");
        ws.Write("orchestrator.yaml", """
            stages: [staging, production]
            registries:
              staging: { url: http://127.0.0.1:5001 }
              production:
                url: https://127.0.0.1:5003
                ca-file: certs/ca.crt
                cert-file: certs/client.crt
                key-file: certs/client.key
            """);

        // When loaded
        var config = (await ws.LoadAsync()).Config;

        // Then the production registry carries the absolute paths, verification on; staging has no TLS settings
        var expected = new RegistryTls(ws.PathOf("certs/ca.crt"), ws.PathOf("certs/client.crt"), ws.PathOf("certs/client.key"), Insecure: false);
        Assert.Equal(expected, config.Stages[1].Registry.Tls);
        Assert.Equal(RegistryTls.None, config.Stages[0].Registry.Tls);
        Assert.Equal(new RegistryEndpoint("127.0.0.1:5003", false) { Tls = expected }, config.Stages[1].Registry);
    }

    [Theory]
    [InlineData("https://127.0.0.1:5003")]
    [InlineData("https://localhost:5003")]
    [InlineData("http://127.0.0.1:5001")]
    public async Task LoadAsync_InsecureOnLoopback_Allowed(string url)
    {
        // Given insecure: true for a loopback registry
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", $"stages: [staging]\nregistries:\n  staging: {{ url: {url}, insecure: true }}\n");

        // When loaded, Then it loads with verification off
        Assert.True((await ws.LoadAsync()).Config.Stages[0].Registry.Tls.Insecure);
    }

    [Theory]
    [InlineData("https://registry.example:5000", "its certificate would not be verified")]
    [InlineData("http://registry.example:5000", "would cross the network in clear")]
    [InlineData("https://10.0.0.7", "its certificate would not be verified")]
    public async Task LoadAsync_InsecureOffLoopbackWithoutAllowInsecureRemote_RefusedAtInsecure(string url, string why)
    {
        // Given insecure: true for a host that is not loopback, without allow-insecure-remote
        using var ws = new TestWorkspace();
        var text = $"stages: [staging]\nregistries:\n  staging:\n    url: {url}\n    insecure: true\n";
        var path = ws.Write("orchestrator.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then it is refused at the value of 'insecure', saying why and the two ways out
        error.AssertAt(path, text, "true");
        error.AssertSays(why, "allow-insecure-remote: true");
        Assert.Contains("ca-file:", error.Fix!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_InsecureOffLoopbackWithAllowInsecureRemote_Loads()
    {
        // Given insecure: true and allow-insecure-remote: true for a remote registry with credentials over plain http
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", """
            stages: [staging]
            registries:
              staging: { url: http://registry.example:5000, username-env: REG_USER, password-env: REG_PASSWORD, insecure: true, allow-insecure-remote: true }
            """);

        // When loaded, Then both keys together are accepted
        var registry = (await ws.LoadAsync()).Config.Stages[0].Registry;
        Assert.True(registry.Tls.Insecure);
        Assert.Equal("REG_PASSWORD", registry.PasswordEnv);
    }

    [Fact]
    public async Task LoadAsync_AllowInsecureRemoteAlone_Refused()
    {
        // Given allow-insecure-remote: true without insecure: true
        using var ws = new TestWorkspace();
        var text = "stages: [staging]\nregistries:\n  staging:\n    url: https://registry.example\n    allow-insecure-remote: true\n";
        var path = ws.Write("orchestrator.yaml", text);

        // When loaded, Then it is refused at its value as having no effect
        var error = await ws.SingleErrorAsync();
        error.AssertAt(path, text, "true");
        error.AssertSays("has no effect without 'insecure: true'", "remove it");
    }

    [Fact]
    public async Task LoadAsync_CaFileMissing_RefusedAtThePathNamingIt()
    {
        // Given a ca-file that does not exist
        using var ws = new TestWorkspace();
        var text = "stages: [staging]\nregistries:\n  staging:\n    url: https://127.0.0.1:5003\n    ca-file: certs/nope.crt\n";
        var path = ws.Write("orchestrator.yaml", text);

        // When loaded, Then the error is at the path, naming the absolute file and the folder paths are relative to
        var error = await ws.SingleErrorAsync();
        error.AssertAt(path, text, "certs/nope.crt");
        error.AssertSays($"names {ws.PathOf("certs/nope.crt")}, which does not exist", $"relative to {ws.Root}");
    }

    [Fact]
    public async Task LoadAsync_CaFileNotPem_RefusedAtThePath()
    {
        // Given a ca-file that holds no PEM certificate
        using var ws = new TestWorkspace();
        ws.Write("certs/ca.crt", "not a certificate\n");
        var text = "stages: [staging]\nregistries:\n  staging: { url: https://127.0.0.1:5003, ca-file: certs/ca.crt }\n";
        var path = ws.Write("orchestrator.yaml", text);

        // When loaded, Then it is refused at the path, saying what a CA bundle looks like
        var error = await ws.SingleErrorAsync();
        error.AssertAt(path, text, "certs/ca.crt");
        error.AssertSays("holds no PEM certificate", "-----BEGIN CERTIFICATE-----");
    }

    [Fact]
    public async Task LoadAsync_CaFileBrokenPem_RefusedAtThePath()
    {
        // Given a ca-file whose PEM block is not a certificate's DER
        using var ws = new TestWorkspace();
        ws.Write("certs/ca.crt", Ca);
        var text = "stages: [staging]\nregistries:\n  staging: { url: https://127.0.0.1:5003, ca-file: certs/ca.crt }\n";
        var path = ws.Write("orchestrator.yaml", text);

        // When loaded, Then it is refused at the path
        var error = await ws.SingleErrorAsync();
        error.AssertAt(path, text, "certs/ca.crt");
        error.AssertSays("is not a readable PEM certificate bundle", "PEM bundle");
    }

    [Theory]
    [InlineData("cert-file: certs/client.crt", "certs/client.crt")]
    [InlineData("key-file: certs/client.key", "certs/client.key")]
    public async Task LoadAsync_CertFileWithoutKeyFileOrTheReverse_Refused(string line, string needle)
    {
        // Given only one of cert-file and key-file
        using var ws = new TestWorkspace();
        CopyPki(ws, "client.crt", "client.key");
        var text = $"stages: [staging]\nregistries:\n  staging:\n    url: https://127.0.0.1:5003\n    {line}\n";
        var path = ws.Write("orchestrator.yaml", text);

        // When loaded, Then it is refused at the one given, saying both are needed
        var error = await ws.SingleErrorAsync();
        error.AssertAt(path, text, needle);
        error.AssertSays("names only one of 'cert-file' and 'key-file'", "set both");
    }

    [Fact]
    public async Task LoadAsync_KeyFileOfAnotherCertificate_RefusedAsPairWithoutKeyBytes()
    {
        // Given a client certificate with the key of another certificate
        using var ws = new TestWorkspace();
        CopyPki(ws, "client.crt", "registry.key");
        var text = "stages: [staging]\nregistries:\n  staging: { url: https://127.0.0.1:5003, cert-file: certs/client.crt, key-file: certs/registry.key }\n";
        var path = ws.Write("orchestrator.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then it is refused at cert-file, as a pair that does not load, and no key material is echoed
        error.AssertAt(path, text, "certs/client.crt");
        error.AssertSays("do not load as a PEM certificate and its private key", "unencrypted PEM key");
        Assert.DoesNotContain("PRIVATE KEY", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_CaFileWithPlainHttp_Refused()
    {
        // Given ca-file on an http:// registry
        using var ws = new TestWorkspace();
        CopyPki(ws, "ca.crt");
        var text = "stages: [staging]\nregistries:\n  staging: { url: http://127.0.0.1:5001, ca-file: certs/ca.crt }\n";
        var path = ws.Write("orchestrator.yaml", text);

        // When loaded, Then it is refused as having no effect, suggesting https
        var error = await ws.SingleErrorAsync();
        error.AssertAt(path, text, "certs/ca.crt");
        error.AssertSays("has no effect: the url is plain http://127.0.0.1:5001", "url: https://127.0.0.1:5001");
    }

    [Fact]
    public async Task LoadAsync_CaFileWithInsecure_RefusedAsContradiction()
    {
        // Given ca-file and insecure: true together
        using var ws = new TestWorkspace();
        CopyPki(ws, "ca.crt");
        var text = "stages: [staging]\nregistries:\n  staging: { url: https://127.0.0.1:5003, ca-file: certs/ca.crt, insecure: true }\n";
        var path = ws.Write("orchestrator.yaml", text);

        // When loaded, Then it is refused at ca-file, offering to keep either
        var error = await ws.SingleErrorAsync();
        error.AssertAt(path, text, "certs/ca.crt");
        error.AssertSays("'insecure: true' verifies nothing", "remove 'insecure: true'");
    }

    [Fact]
    public async Task LoadAsync_TlsKeyMisspelt_SuggestsTheKnownKey()
    {
        // Given 'ca_file' instead of 'ca-file'
        using var ws = new TestWorkspace();
        var text = "stages: [staging]\nregistries:\n  staging: { url: https://127.0.0.1:5003, ca_file: certs/ca.crt }\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded, Then the unknown key is reported with the right one suggested
        var error = await ws.SingleErrorAsync();
        Assert.Contains("ca_file", error.Message, StringComparison.Ordinal);
        Assert.Contains("ca-file", error.ToString(), StringComparison.Ordinal);
    }

    private static void CopyPki(TestWorkspace ws, params string[] names)
    {
        var pki = PkiFolder();
        foreach (var name in names)
        {
            ws.Write($"certs/{name}", File.ReadAllText(Path.Combine(pki, name)));
        }
    }

    private static string PkiFolder()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Orchestrator.sln")))
        {
            folder = folder.Parent;
        }

        var state = Environment.GetEnvironmentVariable("ORCHESTRATOR_STATE_DIR") is { Length: > 0 } given ? given : Path.Combine(folder!.FullName, ".orchestrator");
        return Path.Combine(state, "pki");
    }
}
