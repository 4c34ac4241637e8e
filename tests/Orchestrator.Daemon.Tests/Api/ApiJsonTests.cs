using System.Net;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Api;

/// <summary>The API's responses, written through the source-generated context, keep the API's conventions.</summary>
public sealed class ApiJsonTests : IAsyncDisposable
{
    private readonly DaemonHarness _daemon = new();

    public ValueTask DisposeAsync() => _daemon.DisposeAsync();

    [Fact]
    public async Task Error_MessageWithQuotes_IsWrittenReadableAsTheApiAlwaysDid()
    {
        // Given a running daemon
        await _daemon.StartAsync();

        // When a request is refused with a message that quotes what was wrong
        var response = await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines/hello/history?limit=x", DaemonHarness.CiSecret);
        var body = await response.Content.ReadAsStringAsync();

        // Then the body is the error document, camelCase, with the quotes unescaped (relaxed escaping)
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("{\"error\":{\"message\":\"'limit' must be a number from 1 to 1000, not 'x'\",\"status\":400}}", body);
        Assert.StartsWith("application/json", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthz_EngineDown_HasNoVersionFieldsOnlyTheError()
    {
        // Given an engine that does not answer
        _daemon.Engine.Up = false;
        await _daemon.StartAsync();

        // When health is checked
        var json = await DaemonHarness.JsonAsync(await _daemon.SendAsync(HttpMethod.Get, "/healthz", secret: null));

        // Then the engine part is {status, error} as before, without null version fields
        var engine = json.GetProperty("engine");
        Assert.Equal(["status", "error"], engine.EnumerateObject().Select(p => p.Name));
        Assert.Equal("error", engine.GetProperty("status").GetString());
    }
}
