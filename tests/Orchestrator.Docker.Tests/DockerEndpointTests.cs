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
        Assert.Equal(new Uri("http://10.0.0.5:2375/v1.41/"), endpoint.BaseAddress);
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
        var endpoint = DockerEndpoint.Resolve(dockerHost, configured);

        Assert.Equal("/var/run/docker.sock", endpoint.SocketPath);
        Assert.Equal(new Uri("http://docker/v1.41/"), endpoint.BaseAddress);
        Assert.Equal(new Uri("unix:///var/run/docker.sock"), endpoint.Uri);
    }

    [Fact]
    public void Parse_TcpWithoutPort_UsesPlainHttpPort2375()
    {
        var endpoint = DockerEndpoint.Parse("tcp://engine.local", "the test");

        Assert.Equal("tcp://engine.local:2375", endpoint.Display);
        Assert.Equal(new Uri("http://engine.local:2375/v1.41/"), endpoint.BaseAddress);
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
}
