using System.Net;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// The engine pool against two real engines (issue 14, items 3 and 4): the shared engine and a second dockerd started here on
/// its own socket, data root, exec root and pid file. The daemon places builds on both, a validation where its image already
/// is, and, with the second engine stopped, everything on the first while <c>/healthz</c> reports the second down. Only the
/// second engine is ever stopped; the shared one is never touched beyond this workspace's images. Not in the real-parts
/// collection: it builds its own base and needs none of that fixture's (the collections run one at a time anyway).
/// </summary>
[Trait("Category", "Integration")]
public sealed class EnginePoolTests : IAsyncLifetime
{
    private const string Staging = TestWorkspace.Staging;
    private readonly TestWorkspace _workspace = new();
    private SecondEngine _second = null!;

    public async Task InitializeAsync()
    {
        _second = await SecondEngine.StartAsync();

        // The pool: the shared engine first (the CLI's, where the base is built), the second after it, one slot each.
        var config = File.ReadAllText(_workspace.ConfigPath).Replace(
            "engine:\n  endpoint: unix:///var/run/docker.sock\n",
            $"engines:\n  - {{ name: engine-1, endpoint: unix:///var/run/docker.sock, slots: 1 }}\n  - {{ name: engine-2, endpoint: \"{_second.Host}\", slots: 1 }}\n",
            StringComparison.Ordinal);
        Assert.Contains("engine-2", config, StringComparison.Ordinal);
        File.WriteAllText(_workspace.ConfigPath, config);
        _workspace.EnableDaemon();

        var baseBuild = await CliRunner.RunAsync(_workspace.ConfigPath, "base", "build", "it-bookworm/slim", "--json");
        Assert.True(baseBuild.ExitCode == 0, $"the base build failed: {baseBuild}");
    }

    public async Task DisposeAsync()
    {
        foreach (var repository in new[] { _workspace.BaseRepository, $"{_workspace.Prefix}/apps/engines-test-a", $"{_workspace.Prefix}/apps/engines-test-b" })
        {
            await Janitor.DeleteRepositoryAsync(Staging, repository);
            await Janitor.DeleteRepositoryAsync(TestWorkspace.Production, repository);
        }

        await Janitor.RemoveLocalImagesAsync(_workspace.Prefix);

        // A build's engine-local tag is orchestrator-build/NAME (no prefix): these names are this test's own.
        foreach (var name in new[] { "engines-test-a", "engines-test-b" })
        {
            await ProcessWitness.RunAsync("docker", "rmi", "--force", $"orchestrator-build/{name}:latest");
        }

        await _second.DisposeAsync();
        _workspace.Dispose();
    }

    [Fact]
    public async Task Daemon_TwoEngines_BuildsSpreadValidationFollowsItsImageAndAStoppedEngineIsSkipped()
    {
        // Given two locked pipelines and a daemon running two jobs at once over the two one-slot engines
        var a = await _workspace.AddLockedHelloPipelineAsync("engines-test-a");
        var b = await _workspace.AddLockedHelloPipelineAsync("engines-test-b", version: "2.0.0");
        await using var daemon = new DaemonProcess(_workspace.ConfigPath);
        await daemon.StartAsync();
        var health = await HealthAsync(daemon);
        Assert.Equal(["up", "up"], health.GetProperty("engines").EnumerateArray().Select(e => e.GetProperty("status").GetString()));

        // When both are built at once
        var buildA = await SubmitAsync(daemon, new { kind = "build", pipeline = a });
        var buildB = await SubmitAsync(daemon, new { kind = "build", pipeline = b });
        var builtA = await daemon.WaitForFinalAsync(buildA, DaemonProcess.AdminSecret, TimeSpan.FromMinutes(10));
        var builtB = await daemon.WaitForFinalAsync(buildB, DaemonProcess.AdminSecret, TimeSpan.FromMinutes(10));

        // Then each ran on its own engine, as each job's record says and each engine's own image list shows
        Assert.True(builtA.GetProperty("state").GetString() == "succeeded", $"{builtA}{Environment.NewLine}{daemon.Output}");
        Assert.True(builtB.GetProperty("state").GetString() == "succeeded", $"{builtB}{Environment.NewLine}{daemon.Output}");
        var engineOf = new Dictionary<string, string>
        {
            [a] = builtA.GetProperty("result").GetProperty("engine").GetString()!,
            [b] = builtB.GetProperty("result").GetProperty("engine").GetString()!,
        };
        Assert.Equal(["engine-1", "engine-2"], engineOf.Values.Order());
        var onSecond = (await _second.DockerAsync("images", "--format", "{{.Repository}}")).Stdout.Split('\n');
        var onFirst = (await ProcessWitness.RunAsync("docker", "images", "--format", "{{.Repository}}")).Stdout.Split('\n');
        var (firstBuilt, secondBuilt) = engineOf[a] == "engine-1" ? (a, b) : (b, a);
        Assert.Contains($"orchestrator-build/{secondBuilt}", onSecond);
        Assert.DoesNotContain($"orchestrator-build/{firstBuilt}", onSecond);
        Assert.Contains($"orchestrator-build/{firstBuilt}", onFirst);

        // When the second engine already holds an image (pulled by digest with its own docker CLI) and that image is validated
        var digest = (engineOf[a] == "engine-2" ? builtA : builtB).GetProperty("result").GetProperty("digest").GetString()!;
        var image = $"{Staging}/{_workspace.Prefix}/apps/{secondBuilt}@{digest}";
        var pulled = await _second.DockerAsync("pull", image);
        Assert.True(pulled.ExitCode == 0, pulled.Stderr);
        var validate = await daemon.WaitForFinalAsync(
            await SubmitAsync(daemon, new { kind = "validate", pipeline = secondBuilt, digest }), DaemonProcess.AdminSecret, TimeSpan.FromMinutes(5));

        // Then it ran there, though the first engine comes first and was idle
        Assert.True(validate.GetProperty("state").GetString() == "succeeded", $"{validate}{Environment.NewLine}{daemon.Output}");
        Assert.Equal("engine-2", validate.GetProperty("result").GetProperty("engine").GetString());

        // When the second engine stops and the same image is validated again
        await _second.StopAsync();
        var again = await daemon.WaitForFinalAsync(
            await SubmitAsync(daemon, new { kind = "validate", pipeline = secondBuilt, digest }), DaemonProcess.AdminSecret, TimeSpan.FromMinutes(5));

        // Then the job went to the first engine, and /healthz reports the second down (the daemon still serves: degraded)
        Assert.True(again.GetProperty("state").GetString() == "succeeded", $"{again}{Environment.NewLine}{daemon.Output}");
        Assert.Equal("engine-1", again.GetProperty("result").GetProperty("engine").GetString());
        var degraded = await HealthAsync(daemon);
        Assert.Equal("degraded", degraded.GetProperty("status").GetString());
        var second = degraded.GetProperty("engines").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "engine-2");
        Assert.Equal("down", second.GetProperty("status").GetString());
        Assert.Equal(_second.Host, second.GetProperty("endpoint").GetString());

        // And /metrics says the same
        var metrics = await (await daemon.SendAsync(HttpMethod.Get, "/metrics", secret: null)).Content.ReadAsStringAsync();
        Assert.Contains("orchestrator_engine_up{engine=\"engine-1\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("orchestrator_engine_up{engine=\"engine-2\"} 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("orchestrator_engine_slots_total{engine=\"engine-2\"} 1\n", metrics, StringComparison.Ordinal);
    }

    private static async Task<long> SubmitAsync(DaemonProcess daemon, object body)
    {
        var response = await daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonProcess.AdminSecret, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.Created or HttpStatusCode.OK, $"submitting failed: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetInt64();
    }

    private static async Task<JsonElement> HealthAsync(DaemonProcess daemon)
    {
        var response = await daemon.SendAsync(HttpMethod.Get, "/healthz", secret: null);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }
}
