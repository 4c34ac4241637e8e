using System.Text.Json.Nodes;

namespace Orchestrator.Core.Jobs.Documents;

/// <summary>The daemon's <c>{"error": {"message": …, "status": …}}</c>; <c>status</c> is the HTTP status code.</summary>
public sealed record ApiErrorDocument(ApiErrorDetailDocument Error);

/// <summary>What went wrong and the HTTP status code it was answered with.</summary>
public sealed record ApiErrorDetailDocument(string Message, int Status);

/// <summary>
/// <c>GET /healthz</c>: <c>ok</c> or <c>unhealthy</c>, the engine (Engine API <c>GET /version</c>) and each stage's
/// registry (<c>GET /v2/</c>) as <c>ok</c> or <c>error: …</c>, by stage name.
/// </summary>
public sealed record HealthDocument(string Status, EngineHealthDocument Engine, IReadOnlyDictionary<string, string> Registries)
{
    /// <summary>
    /// Every engine of the pool (issue 14, item 3), in config order; <see cref="Engine"/> stays the first one's version answer.
    /// <value>The default is null (not written).</value>
    /// </summary>
    public IReadOnlyList<PoolEngineHealthDocument>? Engines { get; init; }
}

/// <summary>One engine of the pool in <c>/healthz</c>.</summary>
/// <param name="Name">Its name in orchestrator.yaml.</param>
/// <param name="Endpoint"><c>unix:///…</c> or <c>tcp://host:port</c>; never a secret.</param>
/// <param name="Status"><c>up</c> or <c>down</c>.</param>
/// <param name="SlotsBusy">Slots taken by running jobs.</param>
/// <param name="Slots">Slots in all.</param>
/// <param name="Error">Why it is down, or null.</param>
public sealed record PoolEngineHealthDocument(string Name, string Endpoint, string Status, int SlotsBusy, int Slots, string? Error);

/// <summary>The engine's answer: <c>ok</c> with its version, API version, OS and architecture, or <c>error</c> with why.</summary>
public sealed record EngineHealthDocument(string Status, string? Version, string? ApiVersion, string? Os, string? Architecture, string? Error);

/// <summary><c>GET /api/jobs/{id}/log?after=N</c>: the job's state, its log lines after N, and the last sequence number to ask after next.</summary>
public sealed record JobLogPageDocument(long Id, string State, JsonArray Log, long Last);
