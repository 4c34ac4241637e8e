using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Workflows;
using Orchestrator.Daemon.Hosting;

namespace Orchestrator.Daemon.Api;

/// <summary>
/// <c>GET /healthz</c>: the engine (<c>GET /version</c>), every engine of the pool (probed the same way, which marks it up or
/// down for placement) and every stage's registry (<c>GET /v2/</c>), each with a short timeout, checked at once. 200 when the
/// registries and at least one engine of the pool answer (<c>degraded</c> while some engine is down), 503 with what failed.
/// No token needed.
/// </summary>
internal static class HealthEndpoints
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/healthz", CheckAsync);

    private static async Task<IResult> CheckAsync(HttpContext context, WorkflowGraph services, WorkspaceHolder workspace, DaemonOptions options, IEnginePool pool)
    {
        var engine = CheckEngineAsync(services, workspace.Config.Engine.Endpoint, options.HealthTimeout, context.RequestAborted);
        var probes = Task.WhenAll(pool.Names.Select(name => pool.ProbeAsync(name, options.HealthTimeout, context.RequestAborted)));
        var registries = workspace.Config.Stages
            .Select(async stage => (stage.Name, Error: await CheckRegistryAsync(services, stage, options.HealthTimeout, context.RequestAborted).ConfigureAwait(false)))
            .ToList();
        var engineResult = await engine.ConfigureAwait(false);
        var registryResults = await Task.WhenAll(registries).ConfigureAwait(false);
        await probes.ConfigureAwait(false);
        var engines = pool.Snapshot();

        var healthy = engines.Any(e => e.Up) && registryResults.All(r => r.Error is null);
        var body = new HealthDocument(
            !healthy ? "unhealthy" : engines.All(e => e.Up) && engineResult.Error is null ? "ok" : "degraded",
            engineResult.Error is null
                ? new EngineHealthDocument("ok", engineResult.Version!.Version, engineResult.Version.ApiVersion, engineResult.Version.Os, engineResult.Version.Architecture, null)
                : new EngineHealthDocument("error", null, null, null, null, engineResult.Error),
            registryResults.ToDictionary(r => r.Name, r => r.Error is null ? "ok" : $"error: {r.Error}"))
        {
            Engines = [.. engines.Select(e => new PoolEngineHealthDocument(e.Name, e.Endpoint, e.Up ? "up" : "down", e.Busy, e.Slots, e.Error))],
        };
        return ApiJson.Ok(body, ApiJson.Type<HealthDocument>(), healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<(Core.Ports.EngineVersion? Version, string? Error)> CheckEngineAsync(WorkflowGraph services, string endpoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            return (await services.Engine.GetVersionAsync(limit.Token).ConfigureAwait(false), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"the engine did not answer within {timeout.TotalSeconds:0.#} s at {endpoint}");
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return (null, exception.Message);
        }
    }

    private static async Task<string?> CheckRegistryAsync(WorkflowGraph services, Core.Definitions.StageDefinition stage, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            return await services.Registries.Create(stage.Registry).PingAsync(limit.Token).ConfigureAwait(false)
                ? null
                : $"{stage.Registry.BaseUri} answered, but not as an OCI registry";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"{stage.Registry.BaseUri} did not answer within {timeout.TotalSeconds:0.#} s";
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return exception.Message;
        }
    }
}
