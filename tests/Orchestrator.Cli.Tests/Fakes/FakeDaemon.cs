using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Cli.Tests.Fakes;

/// <summary>
/// A scripted daemon behind an <see cref="HttpMessageHandler"/>: one job (id 42) whose log is revealed a page
/// per poll and which ends in a given state and exit code once every page has been read. Records every request.
/// </summary>
internal sealed class FakeDaemon : HttpMessageHandler
{
    public const long JobId = 42;
    private readonly Queue<JsonObject[]> _pages = new();
    private long _sequence;

    public List<RecordedRequest> Requests { get; } = [];

    /// <summary>When set, every request is answered with this status and the daemon's error body.</summary>
    public (HttpStatusCode Status, string Message)? Refuse { get; set; }

    public string FinalState { get; set; } = "succeeded";

    public int FinalExitCode { get; set; }

    public string? FinalError { get; set; }

    public JsonNode? Result { get; set; }

    public string Kind { get; set; } = "build";

    /// <summary>Extra routes: path (without query) → JSON or text body.</summary>
    public Dictionary<string, (HttpStatusCode Status, string Body, string ContentType)> Routes { get; } = new(StringComparer.Ordinal);

    /// <summary>Adds a page of log lines the job writes between two polls.</summary>
    public FakeDaemon Page(params (string Kind, string Message)[] lines)
    {
        _pages.Enqueue(lines.Select(l => new JsonObject
        {
            ["sequence"] = ++_sequence,
            ["at"] = "2026-11-22T05:00:00+00:00",
            ["kind"] = l.Kind,
            ["message"] = l.Message,
        }).ToArray());
        return this;
    }

    private bool Done => _pages.Count == 0;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        Requests.Add(new RecordedRequest(request.Method, request.RequestUri!.PathAndQuery, request.Headers.Authorization?.ToString(), body));
        if (Refuse is { } refuse)
        {
            return Json(refuse.Status, new JsonObject { ["error"] = new JsonObject { ["message"] = refuse.Message, ["status"] = (int)refuse.Status } });
        }

        var path = request.RequestUri.AbsolutePath;
        if (Routes.TryGetValue(path, out var route))
        {
            return new HttpResponseMessage(route.Status) { Content = new StringContent(route.Body, Encoding.UTF8, route.ContentType) };
        }

        return (request.Method.Method, path) switch
        {
            ("POST", "/api/jobs") => Json(HttpStatusCode.Accepted, Job("queued")),
            ("GET", "/api/jobs") => Json(HttpStatusCode.OK, new JsonObject { ["jobs"] = new JsonArray(Job(Done ? FinalState : "running")) }),
            ("GET", "/api/jobs/42") => Json(HttpStatusCode.OK, Job(Done ? FinalState : "running")),
            ("GET", "/api/jobs/42/log") => Log(),
            ("POST", "/api/jobs/42/cancel") => Json(HttpStatusCode.OK, Job("cancelled")),
            _ => Json(HttpStatusCode.NotFound, new JsonObject { ["error"] = new JsonObject { ["message"] = $"no route {path}", ["status"] = 404 } }),
        };
    }

    private HttpResponseMessage Log()
    {
        // Like the daemon: the state is read before the lines.
        var state = Done ? FinalState : "running";
        var lines = _pages.Count > 0 ? _pages.Dequeue() : [];
        return Json(HttpStatusCode.OK, new JsonObject
        {
            ["id"] = JobId,
            ["state"] = state,
            ["log"] = new JsonArray(lines.Select(l => (JsonNode)l.DeepClone()).ToArray()),
        });
    }

    private JsonObject Job(string state)
    {
        var final = state is "succeeded" or "failed" or "cancelled";
        return new JsonObject
        {
            ["id"] = JobId,
            ["kind"] = Kind,
            ["pipeline"] = "app",
            ["digest"] = null,
            ["stage"] = null,
            ["state"] = state,
            ["requestedBy"] = "ci",
            ["createdAt"] = "2026-11-22T05:00:00+00:00",
            ["startedAt"] = "2026-11-22T05:00:01+00:00",
            ["finishedAt"] = final ? "2026-11-22T05:01:06+00:00" : null,
            ["attempt"] = 1,
            ["cancelRequested"] = false,
            ["error"] = final ? FinalError : null,
            ["exitCode"] = final ? (state == FinalState ? FinalExitCode : 1) : null,
            ["result"] = final ? Result?.DeepClone() : null,
        };
    }

    private static HttpResponseMessage Json(HttpStatusCode status, JsonNode body) =>
        new(status) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
}

internal sealed record RecordedRequest(HttpMethod Method, string PathAndQuery, string? Authorization, string? Body)
{
    public JsonElement BodyJson => JsonDocument.Parse(Body!).RootElement;
}
