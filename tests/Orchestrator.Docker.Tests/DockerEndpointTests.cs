using System.Security.Cryptography;
using System.Text;
using Docker.DotNet;
using Orchestrator.Core.Errors;

namespace Orchestrator.Docker.Tests;

public sealed class DockerEndpointTests
{
    [Fact]
    public void Resolve_DockerHostSet_WinsOverConfigured()
    {
        // Given both DOCKER_HOST and a configured endpoint
        // When resolved
        var endpoint = DockerEndpoint.Resolve("tcp://10.0.0.5:2375", "unix:///run/other.sock");

        // Then DOCKER_HOST is used
        Assert.Equal("tcp://10.0.0.5:2375", endpoint.Display);
        Assert.Null(endpoint.SocketPath);
        Assert.Equal(new Uri("tcp://10.0.0.5:2375"), endpoint.Uri);
        Assert.False(endpoint.UsesTls);
    }

    [Fact]
    public void Resolve_NoDockerHost_UsesConfigured()
    {
        var endpoint = DockerEndpoint.Resolve(null, "unix:///run/other.sock");

        Assert.Equal("/run/other.sock", endpoint.SocketPath);
        Assert.Equal("unix:///run/other.sock", endpoint.Display);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("", "  ")]
    public void Resolve_NothingSet_UsesDefaultSocket(string? dockerHost, string? configured)
    {
        // (a docker config folder with no config.json: no current context)
        var endpoint = DockerEndpoint.Resolve(dockerHost, configured, DockerConfigIn(Path.Combine(Path.GetTempPath(), $"h-docker-none-{Guid.NewGuid():N}")));

        Assert.Equal("/var/run/docker.sock", endpoint.SocketPath);
        Assert.Equal(new Uri("unix:///var/run/docker.sock"), endpoint.Uri);
    }

    [Fact]
    public void Parse_TcpWithoutPort_UsesPlainHttpPort2375()
    {
        var endpoint = DockerEndpoint.Parse("tcp://engine.local", "the test");

        Assert.Equal("tcp://engine.local:2375", endpoint.Display);
        Assert.Equal(new Uri("tcp://engine.local:2375"), endpoint.Uri);
    }

    [Theory]
    [InlineData("npipe:////./pipe/docker_engine", "unsupported scheme 'npipe'")]
    [InlineData("ssh://me@host", "unsupported scheme 'ssh'")]
    [InlineData("/var/run/docker.sock", "no scheme")]
    [InlineData("unix://relative.sock", "no absolute socket path")]
    [InlineData("tcp://", "not a tcp://host:port")]
    [InlineData("tcp://host:2375/path", "not a tcp://host:port")]
    public void Parse_Unusable_ThrowsInputExceptionSayingWhatToUse(string value, string expected)
    {
        var ex = Assert.Throws<InputException>(() => DockerEndpoint.Parse(value, "DOCKER_HOST"));

        Assert.Contains(expected, ex.Message);
        Assert.Contains("unix:///var/run/docker.sock", ex.Message);
        Assert.Equal(2, ex.ExitCode);
    }

    [Fact]
    public void Resolve_CurrentDockerContext_UsesItsEndpointWhenNothingElseIsSet()
    {
        // Given a docker config folder whose current context points at a tcp engine, as 'docker context use' leaves it
        var folder = Directory.CreateTempSubdirectory("h-docker-context-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "config.json"), """{"currentContext":"remote"}""");
            var meta = Path.Combine(folder, "contexts", "meta", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("remote"))));
            Directory.CreateDirectory(meta);
            File.WriteAllText(Path.Combine(meta, "meta.json"), """{"Name":"remote","Endpoints":{"docker":{"Host":"tcp://10.1.2.3:2375"}}}""");

            // When resolved with neither DOCKER_HOST nor a configured endpoint, and then with a configured one
            var fromContext = DockerEndpoint.Resolve(null, null, DockerConfigIn(folder));
            var configured = DockerEndpoint.Resolve(null, "unix:///run/other.sock", DockerConfigIn(folder));

            // Then the context's engine is used, and the configured endpoint still wins over it
            Assert.Equal("tcp://10.1.2.3:2375", fromContext.Display);
            Assert.Equal("unix:///run/other.sock", configured.Display);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Resolve_UnknownDockerContext_ThrowsInputExceptionSayingHowToFixIt()
    {
        // Given DOCKER_CONTEXT naming a context that does not exist
        var folder = Path.Combine(Path.GetTempPath(), $"h-docker-none-{Guid.NewGuid():N}");

        // When / Then
        var ex = Assert.Throws<InputException>(() => DockerEndpoint.Resolve(null, null, DockerConfigIn(folder, context: "nowhere")));
        Assert.Contains("docker context", ex.Message);
        Assert.Contains("DOCKER_HOST", ex.Message);
    }

    [Fact]
    public void Parse_TcpWithTlsVerify_UsesPort2376AndTheCertificateFolder()
    {
        var endpoint = DockerEndpoint.Parse("tcp://engine.local", "the test", new DockerEndpoint.TlsSettings(Verify: true, "/etc/docker-certs"));

        Assert.Equal("tcp://engine.local:2376", endpoint.Display);
        Assert.True(endpoint.UsesTls);
        Assert.Equal("/etc/docker-certs", endpoint.CertificatePath);
    }

    [Fact]
    public void Parse_UnixWithTlsVerify_StaysPlain()
    {
        var endpoint = DockerEndpoint.Parse("unix:///var/run/docker.sock", "the test", new DockerEndpoint.TlsSettings(Verify: true, "/etc/docker-certs"));

        Assert.False(endpoint.UsesTls);
    }

    [Fact]
    public void CreateClient_TlsWithoutCertificates_ThrowsInputExceptionNamingTheFolder()
    {
        // Given TLS asked for, with a certificate folder that has no cert.pem/key.pem
        var folder = Directory.CreateTempSubdirectory("h-docker-tls-").FullName;
        try
        {
            var endpoint = DockerEndpoint.Parse("tcp://127.0.0.1:1", "the test", new DockerEndpoint.TlsSettings(Verify: true, folder));

            // When / Then
            var ex = Assert.Throws<InputException>(() => EngineConnection.CreateClient(endpoint));
            Assert.Contains(folder, ex.Message);
            Assert.Contains("DOCKER_CERT_PATH", ex.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static DockerConfig DockerConfigIn(string folder, string? context = null) => new(new CliSettings(folder, context));

    private sealed record CliSettings(string? DockerConfig, string? DockerContext) : IDockerCliSettings
    {
        public string? DockerHost => null;

        public string? DockerTlsVerify => null;
    }
}
