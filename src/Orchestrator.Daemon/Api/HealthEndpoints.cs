using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Workflows;
using Orchestrator.Daemon.Hosting;

namespace Orchestrator.Daemon.Api;

/// <summary>
/// <c>GET /healthz</c>: the engine (<c>GET /version</c>) and every stage's registry (<c>GET /v2/</c>), each
/// with a short timeout, checked at once. 200 when all answer, 503 with what failed. No token needed.
/// </summary>
internal static class HealthEndpoints
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/healthz", CheckAsync);

    private static async Task<IResult> CheckAsync(HttpContext context, WorkflowGraph services, WorkspaceHolder workspace, DaemonOptions options)
    {
        var engine = CheckEngineAsync(services, workspace.Config.Engine.Endpoint, options.HealthTimeout, context.RequestAborted);
        var registries = workspace.Config.Stages
            .Select(async stage => (stage.Name, Error: await CheckRegistryAsync(services, stage, options.HealthTimeout, context.RequestAborted).ConfigureAwait(false)))
            .ToList();
        var engineResult = await engine.ConfigureAwait(false);
        var registryResults = await Task.WhenAll(registries).ConfigureAwait(false);

        var healthy = engineResult.Error is null && registryResults.All(r => r.Error is null);
        var body = new HealthDocument(
            healthy ? "ok" : "unhealthy",
            engineResult.Error is null
                ? new EngineHealthDocument("ok", engineResult.Version!.Version, engineResult.Version.ApiVersion, engineResult.Version.Os, engineResult.Version.Architecture, null)
                : new EngineHealthDocument("error", null, null, null, null, engineResult.Error),
            registryResults.ToDictionary(r => r.Name, r => r.Error is null ? "ok" : $"error: {r.Error}"));
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
