using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Ports;
using Orchestrator.Daemon.Hosting;

namespace Orchestrator.Daemon.Api;

/// <summary>
/// <c>GET /api/replicas</c> (the <c>read</c> role, checked by the token middleware like every <c>/api</c> read): the
/// replicas on this daemon's job queue as a <see cref="ReplicasDocument"/>: each alive or down, its last heartbeat, the
/// jobs it leases, and who holds the watcher lock. 503 when the registry cannot be read.
/// </summary>
internal static class ReplicaEndpoints
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/api/replicas", ListAsync);

    private static async Task<IResult> ListAsync(HttpContext context, IReplicaRegistry registry, ReplicaIdentity identity, DaemonOptions options)
    {
        try
        {
            var records = await registry.ListAsync(context.RequestAborted).ConfigureAwait(false);
            return ApiJson.Ok(ReplicasDocument.From(identity.Store, records, options.Services.Time.GetUtcNow()), ApiJson.Type<ReplicasDocument>());
        }
        catch (Core.Errors.UnavailableException exception)
        {
            return ApiJson.Error(StatusCodes.Status503ServiceUnavailable, exception.Message);
        }
    }
}
