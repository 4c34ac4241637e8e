using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Daemon.Api;

/// <summary>
/// Request bodies the API reads, by source generation (the daemon is published with Native AOT): web defaults,
/// so <c>dryRun</c> and <c>DryRun</c> both bind, as they did through the reflection serializer.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(JobEndpoints.SubmitBody))]
internal sealed partial class ApiRequestJsonContext : JsonSerializerContext;
