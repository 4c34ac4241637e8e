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
public sealed record HealthDocument(string Status, EngineHealthDocument Engine, IReadOnlyDictionary<string, string> Registries);

/// <summary>The engine's answer: <c>ok</c> with its version, API version, OS and architecture, or <c>error</c> with why.</summary>
public sealed record EngineHealthDocument(string Status, string? Version, string? ApiVersion, string? Os, string? Architecture, string? Error);

/// <summary><c>GET /api/jobs/{id}/log?after=N</c>: the job's state, its log lines after N, and the last sequence number to ask after next.</summary>
public sealed record JobLogPageDocument(long Id, string State, JsonArray Log, long Last);
