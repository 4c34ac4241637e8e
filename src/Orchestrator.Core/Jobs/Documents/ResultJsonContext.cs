using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Orchestrator.Core.Jobs.Documents;

/// <summary>
/// The one source-generated serializer of the result documents: the CLI's --json, the daemon's API and the
/// stored job results. camelCase, nulls omitted, default (HTML-safe) escaping: the shapes the reflection
/// serializer wrote before, byte for byte.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BaseBuildDocument))]
[JsonSerializable(typeof(BuildDocument))]
[JsonSerializable(typeof(BuildAllDocument))]
[JsonSerializable(typeof(ValidationDocument))]
[JsonSerializable(typeof(PromotionDocument))]
[JsonSerializable(typeof(RunDocument))]
[JsonSerializable(typeof(RunAllDocument))]
[JsonSerializable(typeof(StatusDocument))]
[JsonSerializable(typeof(HistoryDocument))]
[JsonSerializable(typeof(ReleaseDocument))]
[JsonSerializable(typeof(ErrorDocument))]
[JsonSerializable(typeof(LocksDocument))]
[JsonSerializable(typeof(OutdatedDocument))]
[JsonSerializable(typeof(ReproducibilityDocument))]
[JsonSerializable(typeof(CheckDocument))]
[JsonSerializable(typeof(StateCheckDocument))]
[JsonSerializable(typeof(StateBackupDocument))]
[JsonSerializable(typeof(SubmittedJobDocument))]
[JsonSerializable(typeof(JobSubmissionDocument))]
[JsonSerializable(typeof(JobListDocument))]
[JsonSerializable(typeof(PipelineEntriesDocument))]
[JsonSerializable(typeof(ApiErrorDocument))]
[JsonSerializable(typeof(HealthDocument))]
[JsonSerializable(typeof(JobLogPageDocument))]
[JsonSerializable(typeof(VerifyDocument))]
[JsonSerializable(typeof(ReplicasDocument))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(JsonNode))]
public sealed partial class ResultJsonContext : JsonSerializerContext;
