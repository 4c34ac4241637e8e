using System.Globalization;
using System.Net;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Engines;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Api;

/// <summary><c>/healthz</c> and <c>/metrics</c> report each engine of the pool (issue 14, item 3).</summary>
public sealed class EnginePoolHealthTests : IAsyncDisposable
{
    private readonly DaemonHarness _daemon = new();
    private readonly FakeEngine _second = new();

    public EnginePoolHealthTests()
    {
        _daemon.Engines = new EnginePool(
        [
            (new EngineDefinition("engine-1", "unix:///var/run/docker.sock", 2), _daemon.Engine),
            (new EngineDefinition("engine-2", "unix:///run/orchestrator-engine2/docker.sock", 3), _second),
        ]);
    }

    public ValueTask DisposeAsync() => _daemon.DisposeAsync();

    [Fact]
    public async Task Healthz_SecondEngineDown_DegradedListingEachEngine()
    {
        // Given the second engine does not answer
        _second.Up = false;
        await _daemon.StartAsync();

        // When health is checked
        var response = await _daemon.SendAsync(HttpMethod.Get, "/healthz", secret: null);

        // Then the daemon still serves (200, degraded), and lists each engine with its state and slots
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await DaemonHarness.JsonAsync(response);
        Assert.Equal("degraded", json.GetProperty("status").GetString());
        var engines = json.GetProperty("engines").EnumerateArray().ToList();
        Assert.Equal(["engine-1", "engine-2"], engines.Select(e => e.GetProperty("name").GetString()));
        Assert.Equal(["up", "down"], engines.Select(e => e.GetProperty("status").GetString()));
        Assert.Equal("unix:///run/orchestrator-engine2/docker.sock", engines[1].GetProperty("endpoint").GetString());
        Assert.Equal((0, 3), (engines[1].GetProperty("slotsBusy").GetInt32(), engines[1].GetProperty("slots").GetInt32()));
        Assert.Contains("does not answer", engines[1].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.False(engines[0].TryGetProperty("error", out _));
    }

    [Fact]
    public async Task Healthz_EveryEngineDown_Unhealthy503()
    {
        // Given neither engine answers
        _daemon.Engine.Up = false;
        _second.Up = false;
        await _daemon.StartAsync();

        // When health is checked
        var response = await _daemon.SendAsync(HttpMethod.Get, "/healthz", secret: null);

        // Then nothing could run a build: 503
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("unhealthy", (await DaemonHarness.JsonAsync(response)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Metrics_AfterHealthFoundTheSecondDown_EngineGaugesPerEngine()
    {
        // Given the second engine found down by a health check
        _second.Up = false;
        await _daemon.StartAsync();
        await _daemon.SendAsync(HttpMethod.Get, "/healthz", secret: null);

        // When metrics are scraped
        var text = await (await _daemon.SendAsync(HttpMethod.Get, "/metrics", secret: null)).Content.ReadAsStringAsync();

        // Then each engine has its up, busy and total series
        var samples = text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith('#'))
            .ToDictionary(l => l[..l.LastIndexOf(' ')], l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture), StringComparer.Ordinal);
        Assert.Equal(1, samples["orchestrator_engine_up{engine=\"engine-1\"}"]);
        Assert.Equal(0, samples["orchestrator_engine_up{engine=\"engine-2\"}"]);
        Assert.Equal(0, samples["orchestrator_engine_slots_busy{engine=\"engine-2\"}"]);
        Assert.Equal(2, samples["orchestrator_engine_slots_total{engine=\"engine-1\"}"]);
        Assert.Equal(3, samples["orchestrator_engine_slots_total{engine=\"engine-2\"}"]);
        Assert.Contains("# TYPE orchestrator_engine_up gauge", text, StringComparison.Ordinal);
    }
}
