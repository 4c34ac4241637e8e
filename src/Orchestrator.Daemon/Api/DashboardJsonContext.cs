using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Daemon.Api;

/// <summary>One line of a job's log as a server-sent <c>log</c> event.</summary>
internal sealed record JobLogEventDocument(long Sequence, DateTimeOffset At, string Kind, string Message);

/// <summary>A job's state as a server-sent <c>state</c> or <c>end</c> event; <c>error</c> and <c>exitCode</c> are null while it runs.</summary>
internal sealed record JobStateEventDocument(long Id, string State, string? Error, int? ExitCode);

/// <summary>
/// The daemon-owned documents of the live job stream, by source generation (Native AOT): camelCase, nulls kept so a
/// client sees every field. Default escaping (not the API's relaxed one): the data is also handled by a browser page.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(JobLogEventDocument))]
[JsonSerializable(typeof(JobStateEventDocument))]
internal sealed partial class DashboardJsonContext : JsonSerializerContext;
