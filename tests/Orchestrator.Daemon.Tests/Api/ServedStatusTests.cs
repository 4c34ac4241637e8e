using System.Net;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Api;

public sealed class ServedStatusTests : IAsyncDisposable
{
    private readonly DaemonHarness _daemon = new();

    public ValueTask DisposeAsync() => _daemon.DisposeAsync();

    [Fact]
    public async Task Pipelines_RegistriesTrue_AddsTheBaseSizesWhichThePlainReadLeavesOut()
    {
        // Given a daemon on the real release queries, with at least one base defined
        Assert.NotEmpty(_daemon.Workspace.Bases);
        await _daemon.StartAsync();

        // When /api/pipelines is read plainly and with ?registries=true (what remote 'status' asks)
        using var plain = await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines", DaemonHarness.AdminSecret);
        using var served = await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines?registries=true", DaemonHarness.AdminSecret);

        // Then only the second carries the base variants' sizes, one entry per base, and both list the pipelines
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        var plainJson = await DaemonHarness.JsonAsync(plain);
        var servedJson = await DaemonHarness.JsonAsync(served);
        Assert.False(plainJson.TryGetProperty("bases", out _));
        Assert.Equal(_daemon.Workspace.Bases.Count, servedJson.GetProperty("bases").GetArrayLength());
        Assert.Equal(plainJson.GetProperty("pipelines").GetArrayLength(), servedJson.GetProperty("pipelines").GetArrayLength());
    }
}
