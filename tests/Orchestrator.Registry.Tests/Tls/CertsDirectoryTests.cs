using Orchestrator.Core.Errors;
using Orchestrator.Registry.Tls;

namespace Orchestrator.Registry.Tests.Tls;

/// <summary>docker's certs.d rules: *.crt are CAs, NAME.cert goes with NAME.key, the root from ORCHESTRATOR_CERTS_D.</summary>
public sealed class CertsDirectoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-certs-d-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Read_NoFolderForHost_Empty()
    {
        // Given a root without a folder for the host, When read, Then nothing is found
        Assert.Same(CertsDirectory.Contents.Empty, CertsDirectory.Read(_root, "registry.example:5000"));
    }

    [Fact]
    public void Read_CrtFilesAndCertKeyPair_CasSortedAndThePair()
    {
        // Given HOST:PORT/ with two CA files and one client pair
        var folder = Folder("registry.example:5000", "b.crt", "a.crt", "client.cert", "client.key");

        // When read
        var contents = CertsDirectory.Read(_root, "registry.example:5000");

        // Then the CAs are the .crt files in name order, and the client pair is .cert with its .key
        Assert.Equal([Path.Combine(folder, "a.crt"), Path.Combine(folder, "b.crt")], contents.CaFiles);
        Assert.Equal(Path.Combine(folder, "client.cert"), contents.CertFile);
        Assert.Equal(Path.Combine(folder, "client.key"), contents.KeyFile);
        Assert.Equal(folder, contents.Folder);
    }

    [Fact]
    public void Read_CertWithoutKey_RefusedNamingBoth()
    {
        // Given a client certificate without its key
        Folder("127.0.0.1:5003", "client.cert");

        // When read, Then the error names the certificate, the missing key and docker's rule
        var error = Assert.Throws<RegistryException>(() => CertsDirectory.Read(_root, "127.0.0.1:5003"));
        Assert.Contains("client.cert is a client certificate without its key client.key", error.Message, StringComparison.Ordinal);
        Assert.Contains("rename the file to .crt if it is a CA certificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_KeyWithoutCert_RefusedNamingBoth()
    {
        // Given a key without its client certificate
        Folder("127.0.0.1:5003", "ca.crt", "client.key");

        // When read, Then the error names the key and the missing certificate
        var error = Assert.Throws<RegistryException>(() => CertsDirectory.Read(_root, "127.0.0.1:5003"));
        Assert.Contains("client.key is a key without its client certificate client.cert", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Root_VariableSetOrNot_VariableElseDockerDefault()
    {
        // Given the environment with and without ORCHESTRATOR_CERTS_D, When the root is asked, Then the variable wins
        Assert.Equal("/tmp/x", CertsDirectory.Root(name => name == "ORCHESTRATOR_CERTS_D" ? "/tmp/x" : null));
        Assert.Equal("/etc/docker/certs.d", CertsDirectory.Root(_ => null));
    }

    private string Folder(string host, params string[] files)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root, host)).FullName;
        foreach (var file in files)
        {
            File.WriteAllText(Path.Combine(folder, file), "x");
        }

        return folder;
    }
}
