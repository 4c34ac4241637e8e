using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Orchestrator.Core.Jobs;

namespace Orchestrator.Daemon.Api;

/// <summary>The API's JSON: camelCase, nulls kept (clients see every field), enums as lower-case strings.</summary>
internal static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        // Served as application/json only, never embedded in HTML: keep quotes and '<' readable in messages.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static IResult Ok(object value, int status = StatusCodes.Status200OK) =>
        Results.Json(value, Options, contentType: "application/json", statusCode: status);

    /// <summary><c>{"error": {"message": …, "status": …}}</c>.</summary>
    public static IResult Error(int status, string message) =>
        Results.Json(new { error = new { message, status } }, Options, contentType: "application/json", statusCode: status);

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
