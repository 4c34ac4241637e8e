using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;

namespace Orchestrator.Registry.Tests.Tls;

/// <summary>
/// The socket handler's TLS (RegistryTlsPolicy) against an in-process TLS server with the test PKI: trust from ca-file
/// and certs.d, client certificates, insecure, and the message of each certificate failure.
/// </summary>
public sealed class RegistryTlsTests : IDisposable
{
    private readonly string _certsRoot = Directory.CreateTempSubdirectory("orchestrator-certs-d-").FullName;

    public void Dispose() => Directory.Delete(_certsRoot, recursive: true);

    [Fact]
    public async Task PingAsync_CaFileNamesRegistryCa_Connects()
    {
        // Given a TLS registry whose certificate the test CA signed, and ca-file naming that CA
        await using var server = new TlsTestServer("registry");
        var endpoint = Endpoint(server, new RegistryTls(CaFile: TestPki.File("ca.crt")));

        // When pinged
        var (client, factory) = Create(endpoint);
        using var _ = factory;
        var answered = await client.PingAsync();

        // Then the handshake passes and the registry answers
        Assert.True(answered);
        Assert.Null(server.ClientSubject);
    }

    [Fact]
    public async Task PingAsync_NoCaFile_UntrustedRootNamesHostAndFixesWithoutRetry()
    {
        // Given a TLS registry signed by the test CA, which the system trust store does not hold, and no ca-file
        await using var server = new TlsTestServer("registry");
        var (client, factory) = Create(Endpoint(server, RegistryTls.None));
        using var _ = factory;

        // When pinged
        var error = await Assert.ThrowsAsync<RegistryException>(() => client.PingAsync());

        // Then the error names the host, the check and each option that fixes it, and it was not retried
        Assert.Contains($"TLS to registry {server.Host} failed", error.Message, StringComparison.Ordinal);
        Assert.Contains("signed by a CA that is not trusted (trusted: the system trust store)", error.Message, StringComparison.Ordinal);
        Assert.Contains("'ca-file:'", error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_certsRoot, server.Host, "ca.crt"), error.Message, StringComparison.Ordinal);
        Assert.Contains("'insecure: true'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("The SSL connection could not be established", error.Message, StringComparison.Ordinal);
        Assert.False(TransientFailure.IsTransient(error));
        Assert.Equal(1, server.Handshakes);
    }

    [Fact]
    public async Task PingAsync_CaFileOfAnotherCa_UntrustedNamesTheCaFile()
    {
        // Given ca-file naming a CA that did not sign the registry's certificate
        await using var server = new TlsTestServer("registry");
        var otherCa = TestPki.File("other-ca.crt");
        var (client, factory) = Create(Endpoint(server, new RegistryTls(CaFile: otherCa)));
        using var _ = factory;

        // When pinged
        var error = await Assert.ThrowsAsync<RegistryException>(() => client.PingAsync());

        // Then it is untrusted, saying which ca-file was tried
        Assert.Contains($"not trusted (trusted: the system trust store and ca-file {otherCa})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PingAsync_ExpiredCertificate_SaysExpiredAndWhen()
    {
        // Given a registry serving a certificate of the trusted CA whose validity ended in 2021
        await using var server = new TlsTestServer("expired");
        var (client, factory) = Create(Endpoint(server, new RegistryTls(CaFile: TestPki.File("ca.crt"))));
        using var _ = factory;

        // When pinged
        var error = await Assert.ThrowsAsync<RegistryException>(() => client.PingAsync());

        // Then the check named is the expiry, with its date and the fix, and not the trust
        Assert.Contains("expired on 2021-01-01", error.Message, StringComparison.Ordinal);
        Assert.Contains("renew the registry's certificate", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not trusted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PingAsync_HostNotInCertificate_SaysNameMismatchAndNamesListed()
    {
        // Given a registry reached as 127.0.0.2, which its certificate (127.0.0.1, localhost) does not name
        await using var server = new TlsTestServer("registry", address: "127.0.0.2");
        var (client, factory) = Create(Endpoint(server, new RegistryTls(CaFile: TestPki.File("ca.crt"))));
        using var _ = factory;

        // When pinged
        var error = await Assert.ThrowsAsync<RegistryException>(() => client.PingAsync());

        // Then the message says the name check failed and what the certificate names
        Assert.Contains("does not name 127.0.0.2", error.Message, StringComparison.Ordinal);
        Assert.Contains("IP:127.0.0.1", error.Message, StringComparison.Ordinal);
        Assert.Contains("DNS:localhost", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not trusted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PingAsync_Insecure_AcceptsAnUntrustedCertificate()
    {
        // Given insecure: true and a certificate nothing trusts
        await using var server = new TlsTestServer("expired");
        var (client, factory) = Create(Endpoint(server, new RegistryTls(Insecure: true)));
        using var _ = factory;

        // When pinged, Then it connects
        Assert.True(await client.PingAsync());
    }

    [Fact]
    public async Task PingAsync_CertsDirectoryHoldsCaAndClientPair_TrustsAndPresentsIt()
    {
        // Given a registry that requires a client certificate, and certs.d/HOST:PORT with ca.crt, client.cert and client.key
        await using var server = new TlsTestServer("registry", requireClientCertificate: true);
        var folder = Directory.CreateDirectory(Path.Combine(_certsRoot, server.Host)).FullName;
        File.Copy(TestPki.File("ca.crt"), Path.Combine(folder, "ca.crt"));
        File.Copy(TestPki.File("client.crt"), Path.Combine(folder, "client.cert"));
        File.Copy(TestPki.File("client.key"), Path.Combine(folder, "client.key"));
        var (client, factory) = Create(Endpoint(server, RegistryTls.None));
        using var _ = factory;

        // When pinged
        var answered = await client.PingAsync();

        // Then certs.d's CA was trusted and its client certificate presented
        Assert.True(answered);
        Assert.Contains("orchestrator-test-client", server.ClientSubject ?? string.Empty, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PingAsync_CertFileAndKeyFile_PresentedToTheRegistry()
    {
        // Given a registry that requires a client certificate, and cert-file/key-file naming the test client's
        await using var server = new TlsTestServer("registry", requireClientCertificate: true);
        var tls = new RegistryTls(TestPki.File("ca.crt"), TestPki.File("client.crt"), TestPki.File("client.key"));
        var (client, factory) = Create(Endpoint(server, tls));
        using var _ = factory;

        // When pinged, Then the registry saw the client certificate
        Assert.True(await client.PingAsync());
        Assert.NotNull(server.ClientSubject);
    }

    [Fact]
    public async Task GetManifestAsync_RegistryRequiresClientCertificateNoneGiven_SaysClientCertificateAndOptions()
    {
        // Given a TLS server that requires a client certificate as OpenSSL (and a distribution registry) refuse one, with an alert, and none configured
        await using var server = await OpenSslServer.StartAsync("-Verify", "1");
        var (client, factory) = Create(new RegistryEndpoint(server.Host, PlainHttp: false) { Tls = new RegistryTls(CaFile: TestPki.File("ca.crt")) });
        using var _ = factory;

        // When a manifest is read
        var error = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync("app", "latest"));

        // Then the error says a client certificate is wanted and which options give one
        Assert.Contains($"TLS to registry {server.Host} failed", error.Message, StringComparison.Ordinal);
        Assert.Contains("client certificate", error.Message, StringComparison.Ordinal);
        Assert.Contains("'cert-file:' and 'key-file:'", error.Message, StringComparison.Ordinal);
        Assert.False(TransientFailure.IsTransient(error));
    }

    [Fact]
    public async Task PingAsync_ExplicitCaFileWinsOverCertsDirectory()
    {
        // Given certs.d trusting the right CA but ca-file naming another one
        await using var server = new TlsTestServer("registry");
        var folder = Directory.CreateDirectory(Path.Combine(_certsRoot, server.Host)).FullName;
        File.Copy(TestPki.File("ca.crt"), Path.Combine(folder, "ca.crt"));
        var (client, factory) = Create(Endpoint(server, new RegistryTls(CaFile: TestPki.File("other-ca.crt"))));
        using var _ = factory;

        // When pinged, Then only ca-file was used, so the registry is untrusted
        var error = await Assert.ThrowsAsync<RegistryException>(() => client.PingAsync());
        Assert.Contains("ca-file", error.Message, StringComparison.Ordinal);
        Assert.Contains("not trusted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PingAsync_CertsDirectoryKeyWithoutCert_FailsNamingTheFile()
    {
        // Given certs.d/HOST:PORT holding a key without its .cert
        await using var server = new TlsTestServer("registry");
        var folder = Directory.CreateDirectory(Path.Combine(_certsRoot, server.Host)).FullName;
        File.Copy(TestPki.File("client.key"), Path.Combine(folder, "client.key"));
        var (client, factory) = Create(Endpoint(server, RegistryTls.None));
        using var _ = factory;

        // When pinged
        var error = await Assert.ThrowsAsync<RegistryException>(() => client.PingAsync());

        // Then the error names the key and the rule, and no connection was made
        Assert.Contains(Path.Combine(folder, "client.key"), error.Message, StringComparison.Ordinal);
        Assert.Contains("client.cert", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.Handshakes);
    }

    private (IRegistryClient Client, RegistryClientFactory Factory) Create(RegistryEndpoint endpoint)
    {
        var environment = new Dictionary<string, string> { ["ORCHESTRATOR_CERTS_D"] = _certsRoot };
        var factory = new RegistryClientFactory(null, null, new RegistryClientOptions { MaxRetryAttempts = 2, RetryDelay = TimeSpan.FromMilliseconds(1) }, handlerFactory: null, name => environment.GetValueOrDefault(name));
        return (factory.Create(endpoint), factory);
    }

    private static RegistryEndpoint Endpoint(TlsTestServer server, RegistryTls tls) => new(server.Host, PlainHttp: false) { Tls = tls };
}
