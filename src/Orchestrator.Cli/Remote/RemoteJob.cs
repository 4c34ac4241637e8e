using System.Globalization;
using System.Text.Json;
using Orchestrator.Core.Jobs;

namespace Orchestrator.Cli.Remote;

/// <summary>
/// A job as the daemon describes it (<c>GET /api/jobs/{id}</c>). Read leniently: the request's fields may
/// sit at the top level or under <c>request</c>, and the result may come as a <c>result</c> document or as
/// a <c>resultJson</c> string, so the CLI keeps working across small shape changes of the daemon.
/// </summary>
/// <param name="Id">The job id.</param>
/// <param name="Kind">build, validate, promote, run.</param>
/// <param name="Pipeline">The pipeline.</param>
/// <param name="Stage">The target stage (promote), or null.</param>
/// <param name="Digest">The digest asked for, or null.</param>
/// <param name="State">Where the job is.</param>
/// <param name="Attempt">The attempt number (more than 1 after a daemon restart re-ran it).</param>
/// <param name="RequestedBy">The token name that submitted it.</param>
/// <param name="CreatedAt">When it was accepted.</param>
/// <param name="StartedAt">When its current attempt started.</param>
/// <param name="FinishedAt">When it ended.</param>
/// <param name="CancelRequested">True once a cancel was asked.</param>
/// <param name="Error">Why it failed, or null.</param>
/// <param name="ExitCode">The exit code its outcome maps to, or null while live.</param>
/// <param name="Result">The result document (the in-process verb's --json), or null.</param>
/// <param name="Raw">The whole JSON object, for --json.</param>
internal sealed record RemoteJob(
    long Id,
    string Kind,
    string Pipeline,
    string? Stage,
    string? Digest,
    JobState State,
    int Attempt,
    string? RequestedBy,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    bool CancelRequested,
    string? Error,
    int? ExitCode,
    JsonElement? Result,
    JsonElement Raw)
{
    public bool IsFinal => State is JobState.Succeeded or JobState.Failed or JobState.Cancelled;

    /// <summary>Reads a job object.</summary>
    /// <exception cref="FormatException">Not a job: no id or state.</exception>
    public static RemoteJob Parse(JsonElement json)
    {
        if (json.ValueKind == JsonValueKind.Object && json.TryGetProperty("job", out var wrapped) && wrapped.ValueKind == JsonValueKind.Object)
        {
            json = wrapped;
        }

        var request = json.TryGetProperty("request", out var r) && r.ValueKind == JsonValueKind.Object ? r : json;
        var id = Number(json, "id") ?? throw new FormatException("the daemon's answer has no job id");
        var stateText = String(json, "state") ?? throw new FormatException($"the daemon's answer for job {id} has no state");
        if (!Enum.TryParse<JobState>(stateText, ignoreCase: true, out var state))
        {
            throw new FormatException($"job {id} is in an unknown state '{stateText}'");
        }

        JsonElement? result = null;
        if (json.TryGetProperty("result", out var document) && document.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
        {
            result = document.Clone();
        }
        else if (String(json, "resultJson") is { Length: > 0 } text)
        {
            using var parsed = JsonDocument.Parse(text);
            result = parsed.RootElement.Clone();
        }

        return new RemoteJob(
            id,
            (String(request, "kind") ?? String(json, "kind") ?? "?").ToLowerInvariant(),
            String(request, "pipeline") ?? String(json, "pipeline") ?? "?",
            String(request, "stage") ?? String(json, "stage"),
            String(request, "digest") ?? String(json, "digest"),
            state,
            (int)(Number(json, "attempt") ?? 0),
            String(json, "requestedBy"),
            Time(json, "createdAt"),
            Time(json, "startedAt"),
            Time(json, "finishedAt"),
            json.TryGetProperty("cancelRequested", out var cancel) && cancel.ValueKind == JsonValueKind.True,
            String(json, "error"),
            (int?)Number(json, "exitCode"),
            result,
            json.Clone());
    }

    private static string? String(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? Number(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    private static DateTimeOffset? Time(JsonElement json, string name) =>
        String(json, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time) ? time : null;
}
