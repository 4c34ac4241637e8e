using Orchestrator.Core.Definitions;

namespace Orchestrator.Definitions.Tests;

/// <summary>orchestrator.yaml: the <c>engines:</c> pool (issue 14, item 3).</summary>
public sealed class EnginesConfigTests
{
    private const string Registries = "stages: [staging]\nregistries:\n  staging: { url: http://127.0.0.1:5001 }\n";

    [Fact]
    public async Task LoadAsync_NoEngines_PoolOfOneDefaultEngineWithConcurrencySlots()
    {
        // Given a config with the single 'engine' and no 'engines'
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", Registries + "engine: { endpoint: unix:///run/x.sock }\ndaemon: { concurrency: 3 }\n");

        // When loaded
        var config = (await ws.LoadAsync()).Config;

        // Then the pool is that engine, named 'default', with the daemon's concurrency as its slots
        Assert.Empty(config.Engines);
        Assert.Equal([new EngineDefinition("default", "unix:///run/x.sock", 3)], config.EnginePool);
    }

    [Fact]
    public async Task LoadAsync_TwoEngines_ReadInOrderWithSlotsAndCertPath()
    {
        // Given two engines, one unix socket and one tcp:// with TLS certificates in a folder
        using var ws = new TestWorkspace();
        ws.Write("certs/e2/ca.pem", "x");
        ws.Write("certs/e2/cert.pem", "x");
        ws.Write("certs/e2/key.pem", "x");
        ws.Write("orchestrator.yaml", Registries + """
            engines:
              - { name: engine-1, endpoint: unix:///var/run/docker.sock, slots: 2 }
              - name: engine-2
                endpoint: tcp://10.0.0.5:2376
                tls: { cert-path: certs/e2 }
            """);

        // When loaded
        var config = (await ws.LoadAsync()).Config;

        // Then both are there, in order; slots default to 1; cert-path is absolute; the first is the CLI's engine
        Assert.Equal(
            [new EngineDefinition("engine-1", "unix:///var/run/docker.sock", 2), new EngineDefinition("engine-2", "tcp://10.0.0.5:2376", 1, Path.Combine(ws.Root, "certs", "e2"))],
            config.EnginePool);
        Assert.Equal("unix:///var/run/docker.sock", config.Engine.Endpoint);
    }

    [Theory]
    [InlineData("- { name: Engine, endpoint: unix:///a.sock }", "Engine,", "engine name 'Engine' is invalid", "rename it")]
    [InlineData("- { name: a, endpoint: unix:///a.sock }\n  - { name: a, endpoint: unix:///b.sock }", "a, endpoint: unix:///b", "is used twice", "its own name")]
    [InlineData("- { name: a, endpoint: unix:///a.sock }\n  - { endpoint: unix:///a.sock, name: b }", "unix:///a.sock, name", "listed twice", "more 'slots'")]
    [InlineData("- { name: a, endpoint: http://127.0.0.1:2375 }", "http://127.0.0.1:2375", "neither unix:///PATH nor tcp://HOST:PORT", "endpoint: unix://")]
    [InlineData("- { name: a, endpoint: tcp://10.0.0.5:2375 }", "tcp://", "not loopback", "cert-path")]
    [InlineData("- { name: a, endpoint: tcp://127.0.0.1 }", "tcp://", "a port is required", "tcp://10.0.0.5:2376")]
    [InlineData("- { name: a, endpoint: unix:///a.sock, slots: 0 }", "0 }", "at least 1 slot", "slots: 2")]
    [InlineData("- { name: a, endpoint: tcp://10.0.0.5:2376, tls: { cert-path: nowhere } }", "nowhere", "lacks ca.pem, cert.pem, key.pem", "DOCKER_CERT_PATH")]
    [InlineData("- { endpoint: unix:///a.sock }", "{ endpoint", "has no 'name'", "name: engine-1")]
    [InlineData("- unix:///a.sock", "unix:///a.sock", "must be a mapping", "known keys")]
    [InlineData("[]", "[]", "'engines' is empty", "remove 'engines'")]
    public async Task LoadAsync_BadEngines_RefusedAtTheirPosition(string engines, string at, string inMessage, string inFix)
    {
        // Given an 'engines' list with one mistake
        using var ws = new TestWorkspace();
        var text = Registries + "engines:\n  " + engines + "\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then it is reported where it is written, with how to fix it
        var error = Assert.Single(errors);
        error.AssertAt(ws.ConfigPath, text, at);
        error.AssertSays(inMessage, inFix);
    }

    [Fact]
    public async Task LoadAsync_EndpointWithCredentials_RefusedWithoutEchoingThem()
    {
        // Given a tcp:// endpoint with a user and password in it
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", Registries + "engines:\n  - { name: a, endpoint: \"tcp://admin:s3cr3t@10.0.0.5:2376\" }\n");

        // When loaded
        var error = Assert.Single(await ws.ErrorsAsync());

        // Then it is refused and the secret is nowhere in the error
        Assert.Contains("not a tcp://HOST:PORT address", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_EngineAndEngines_Refused()
    {
        // Given both the single 'engine' and an 'engines' list
        using var ws = new TestWorkspace();
        var text = Registries + "engine: { endpoint: unix:///a.sock }\nengines:\n  - { name: a, endpoint: unix:///a.sock }\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var error = Assert.Single(await ws.ErrorsAsync());

        // Then 'engines' is named as ambiguous with the way out
        error.AssertAt(ws.ConfigPath, text, "engines:");
        error.AssertSays("both 'engine' and 'engines'", "keep 'engines'");
    }
}
