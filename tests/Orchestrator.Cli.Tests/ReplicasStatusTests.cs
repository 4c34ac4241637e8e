using System.Net;
using System.Text.Json;
using Orchestrator.Cli;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Cli.Tests.Fakes;

namespace Orchestrator.Cli.Tests;

/// <summary><c>status --replicas</c>: asking a (fake) daemon's <c>GET /api/replicas</c>, and in-process on a SQLite state.</summary>
public sealed class ReplicasStatusTests : IDisposable
{
    private const string Document = """
        {"store": "postgres", "watcher": "h:2:b",
         "replicas": [
          {"id": "h:2:b", "host": "h", "pid": 2, "urls": "http://127.0.0.1:5181", "version": "1.0.0", "state": "alive",
           "startedAt": "2026-12-03T18:00:00+00:00", "lastHeartbeatAt": "2026-12-03T18:05:00+00:00", "expiresAt": "2026-12-03T18:05:30+00:00", "watcher": true,
           "leases": [{"job": 7, "kind": "promote", "pipeline": "app", "stage": "production", "expiresAt": "2026-12-03T18:05:30+00:00"}]},
          {"id": "h:1:a", "host": "h", "pid": 1, "urls": "http://127.0.0.1:5180", "version": "1.0.0", "state": "down",
           "startedAt": "2026-12-03T17:00:00+00:00", "lastHeartbeatAt": "2026-12-03T17:10:00+00:00", "expiresAt": "2026-12-03T17:10:30+00:00", "watcher": false, "leases": []}
         ]}
        """;

    private readonly CliWorkspace _workspace = new(productionPort: 19);

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public async Task StatusReplicas_Remote_PrintsEachReplicaItsLeasesAndTheWatcher()
    {
        // Given a daemon answering GET /api/replicas with one live and one dead replica
        var daemon = new FakeDaemon();
        daemon.Routes["/api/replicas"] = (HttpStatusCode.OK, Document, "application/json");

        // When 'status --replicas' asks it
        var (exitCode, stdout, _) = await RunAsync(daemon, "status", "--replicas");

        // Then each replica has a row with its state and leases, and the watcher is named
        Assert.Equal(0, exitCode);
        Assert.Matches(@"h:2:b\s+alive\s+http://127\.0\.0\.1:5181\s+.*yes\s+7 promote app/production", stdout);
        Assert.Matches(@"h:1:a\s+down\s+http://127\.0\.0\.1:5180", stdout);
        Assert.Contains("The pipeline watcher runs on h:2:b.", stdout, StringComparison.Ordinal);
        Assert.Equal("/api/replicas", Assert.Single(daemon.Requests).PathAndQuery);
    }

    [Fact]
    public async Task StatusReplicasJson_Remote_WritesTheTypedDocument()
    {
        // Given the same daemon
        var daemon = new FakeDaemon();
        daemon.Routes["/api/replicas"] = (HttpStatusCode.OK, Document, "application/json");

        // When asked for JSON
        var (exitCode, stdout, _) = await RunAsync(daemon, "status", "--replicas", "--json");

        // Then the document round-trips: store, watcher, each replica and its leases
        Assert.Equal(0, exitCode);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(("postgres", "h:2:b"), (json.GetProperty("store").GetString(), json.GetProperty("watcher").GetString()));
        var first = json.GetProperty("replicas")[0];
        Assert.Equal(7, first.GetProperty("leases")[0].GetProperty("job").GetInt64());
        Assert.Equal("down", json.GetProperty("replicas")[1].GetProperty("state").GetString());
    }

    [Fact]
    public async Task StatusReplicas_InProcessOnSqlite_SaysTheOneDaemonReportsItself()
    {
        // Given a workspace whose state is the SQLite file and no daemon
        // When 'status --replicas --json' runs here, and then without --json
        var (exitCode, stdout, _) = await RunAsync(null, "status", "--replicas", "--json");
        var (textExit, text, _) = await RunAsync(null, "status", "--replicas");

        // Then the document names the store and lists nobody, and the text says where to ask
        Assert.Equal((0, 0), (exitCode, textExit));
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("sqlite", json.GetProperty("store").GetString());
        Assert.Equal(0, json.GetProperty("replicas").GetArrayLength());
        Assert.Contains("set ORCHESTRATOR_URL to ask it", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusReplicas_WithAPipeline_IsRefusedAsBadInput()
    {
        // When 'status --replicas' is given a pipeline too, Then exit 2 saying how to ask for either
        var (exitCode, _, stderr) = await RunAsync(null, "status", "app", "--replicas");
        Assert.Equal(2, exitCode);
        Assert.Contains("'status --replicas' takes no pipeline", stderr, StringComparison.Ordinal);
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(FakeDaemon? daemon, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var console = new CliConsole(stdout, stderr)
        {
            Environment = new CliEnvironment(
                name => daemon is not null && name == "ORCHESTRATOR_URL" ? "http://daemon.test:5080" : null, TimeProvider.System, daemon, TimeSpan.FromMilliseconds(1)),
        };
        var exitCode = await CliApplication.RunAsync([.. args, "--config", _workspace.ConfigPath], console);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }
}
