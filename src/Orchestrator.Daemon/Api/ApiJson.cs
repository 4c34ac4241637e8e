using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Jobs.Documents;

namespace Orchestrator.Daemon.Api;

/// <summary>
/// The API's JSON: camelCase, relaxed escaping (served as application/json only, never embedded in HTML). Responses are
/// written through the one source-generated <see cref="ResultJsonContext"/>: typed documents, or JSON nodes built by hand
/// (the job view, whose nulls are kept so clients see every field). Request bodies are read through <see cref="ApiRequestJsonContext"/>; <see cref="Options"/> carries the encoder.
/// </summary>
internal static class ApiJson
{
    private static readonly JsonSerializerOptions Responses = new(ResultJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>How a JSON node (a job view, the status document with its stale marks) is written in a response.</summary>
    public static JsonTypeInfo<JsonNode> Node { get; } = Type<JsonNode>();

    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        // Served as application/json only, never embedded in HTML: keep quotes and '<' readable in messages.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static IResult Ok(JsonNode value, int status = StatusCodes.Status200OK) =>
        Results.Json(value, Node, contentType: "application/json", statusCode: status);

    public static IResult Ok<T>(T value, JsonTypeInfo<T> typeInfo, int status = StatusCodes.Status200OK) =>
        Results.Json(value, typeInfo, contentType: "application/json", statusCode: status);

    /// <summary>The metadata of <typeparamref name="T"/> (a type of <see cref="ResultJsonContext"/>) for a response.</summary>
    public static JsonTypeInfo<T> Type<T>() => (JsonTypeInfo<T>)Responses.GetTypeInfo(typeof(T));

    /// <summary><c>{"error": {"message": …, "status": …}}</c>.</summary>
    public static IResult Error(int status, string message) =>
        Ok(new ApiErrorDocument(new ApiErrorDetailDocument(message, status)), Type<ApiErrorDocument>(), status);

    public static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();

    /// <summary>A job as the API shows it; <c>result</c> is the stored result document, parsed.</summary>
    public static JsonObject Job(Job job)
    {
        JsonNode? result = null;
        if (!string.IsNullOrEmpty(job.ResultJson))
        {
            try
            {
                result = JsonNode.Parse(job.ResultJson);
            }
            catch (JsonException)
            {
                // A result that is not JSON is still worth showing.
                result = JsonValue.Create(job.ResultJson);
            }
        }

        return new JsonObject
        {
            ["id"] = job.Id,
            ["kind"] = Lower(job.Request.Kind),
            ["pipeline"] = job.Request.Pipeline,
            ["digest"] = job.Request.Digest?.ToString(),
            ["stage"] = job.Request.Stage,
            ["dryRun"] = job.Request.DryRun,
            ["noCache"] = job.Request.NoCache,
            ["state"] = Lower(job.State),
            ["requestedBy"] = job.RequestedBy,
            ["createdAt"] = job.CreatedAt,
            ["startedAt"] = job.StartedAt,
            ["finishedAt"] = job.FinishedAt,
            ["definitionSha256"] = job.Request.Definition?.Definition.ToString(),
            ["lockSha256"] = job.Request.Definition?.Lock?.ToString(),
            ["attempt"] = job.Attempt,
            ["cancelRequested"] = job.CancelRequested,
            ["error"] = job.Error,
            ["exitCode"] = job.ExitCode,
            ["result"] = result,
        };
    }

    public static JsonArray Log(IEnumerable<JobLogEntry> entries) =>
        new(entries.Select(e => (JsonNode)new JsonObject
        {
            ["sequence"] = e.Sequence,
            ["at"] = e.At,
            ["kind"] = e.Kind,
            ["message"] = e.Message,
        }).ToArray());
}
