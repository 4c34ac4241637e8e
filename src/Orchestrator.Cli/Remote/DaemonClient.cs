using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;

namespace Orchestrator.Cli.Remote;

/// <summary>
/// The daemon's HTTP API (<c>/api/…</c>, JSON) as typed calls, over one <see cref="HttpClient"/> with the
/// bearer token on every request. The daemon's refusals become the CLI's typed errors: 400/404 are bad
/// input (exit 2), 401/403 a refusal (exit 1) that says which variable or role fixes it, and a daemon
/// that does not answer is <see cref="UnavailableException"/> (exit 1). The token is never put in a
/// message, a log line or an exception.
/// </summary>
internal sealed class DaemonClient : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private readonly HttpClient _http;
    private readonly string _tokenVariable;
    private readonly bool _hasToken;

    /// <param name="server">The daemon's base URL, e.g. <c>http://127.0.0.1:5080</c>.</param>
    /// <param name="token">The bearer token, or null when none is set (the daemon then answers 401).</param>
    /// <param name="tokenVariable">The environment variable the token came from, named in hints.</param>
    /// <param name="handler">The HTTP handler; null for a real socket. Not disposed by this client.</param>
    public DaemonClient(Uri server, string? token, string tokenVariable, HttpMessageHandler? handler = null)
    {
        Server = server;
        _tokenVariable = tokenVariable;
        _hasToken = !string.IsNullOrEmpty(token);
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = server;
        _http.Timeout = RequestTimeout;
        if (_hasToken)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    /// <summary>The daemon's base URL.</summary>
    public Uri Server { get; }

    /// <summary>Submits a job: <c>POST /api/jobs</c>; the daemon stores it before it answers 202 with the job.</summary>
    /// <param name="request">What to do.</param>
    /// <param name="roles">The roles the request needs, named when the daemon refuses it (403).</param>
    /// <param name="cancellationToken">Stops waiting for the answer (the job may still have been stored).</param>
    public async Task<RemoteJob> SubmitJobAsync(JobRequest request, string roles, CancellationToken cancellationToken = default)
    {
        var body = ResultDocuments.Serialize(
            new JobSubmissionDocument(
                request.Kind.ToString().ToLowerInvariant(),
                request.Pipeline,
                request.Digest?.ToString(),
                request.Stage,
                request.DryRun,
                request.NoCache,
                request.Attest,
                request.Definition?.Definition.ToString(),
                request.Definition?.Lock?.ToString()),
            ResultJsonContext.Default.JobSubmissionDocument);
        using var message = new HttpRequestMessage(HttpMethod.Post, "api/jobs") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var json = await SendJsonAsync(message, roles, cancellationToken).ConfigureAwait(false);
        return RemoteJob.Parse(json.RootElement);
    }

    /// <summary>One job with its details: <c>GET /api/jobs/{id}</c>.</summary>
    public async Task<RemoteJob> GetJobAsync(long id, CancellationToken cancellationToken = default)
    {
        using var json = await GetJsonAsync($"api/jobs/{id}", cancellationToken).ConfigureAwait(false);
        return RemoteJob.Parse(json.RootElement);
    }

    /// <summary>
    /// Log lines of a job after sequence <paramref name="after"/>, in order (at most a page of them), and the
    /// job's state read before them: <c>GET /api/jobs/{id}/log?after=N</c>.
    /// </summary>
    public async Task<LogPage> GetLogAsync(long id, long after, CancellationToken cancellationToken = default)
    {
        using var json = await GetJsonAsync(FormattableString.Invariant($"api/jobs/{id}/log?after={after}"), cancellationToken).ConfigureAwait(false);
        var entries = ArrayOf(json.RootElement, "log", "entries", "lines", "items").Select(ParseLogEntry).OrderBy(e => e.Sequence).ToList();
        JobState? state = json.RootElement.ValueKind == JsonValueKind.Object
            && json.RootElement.TryGetProperty("state", out var stateText) && stateText.ValueKind == JsonValueKind.String
            && Enum.TryParse<JobState>(stateText.GetString(), ignoreCase: true, out var parsed)
                ? parsed
                : null;
        return new LogPage(entries, state);
    }

    /// <summary>Jobs matching <paramref name="filter"/>, newest first: <c>GET /api/jobs?pipeline=&amp;stage=&amp;state=&amp;kind=&amp;limit=</c>.</summary>
    public async Task<IReadOnlyList<RemoteJob>> ListJobsAsync(JobFilter filter, CancellationToken cancellationToken = default)
    {
        var query = new List<string>();
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                query.Add($"{name}={Uri.EscapeDataString(value)}");
            }
        }

        Add("pipeline", filter.Pipeline);
        Add("stage", filter.Stage);
        Add("state", filter.State?.ToString().ToLowerInvariant());
        Add("kind", filter.Kind?.ToString().ToLowerInvariant());
        Add("limit", filter.Limit.ToString(CultureInfo.InvariantCulture));
        using var json = await GetJsonAsync("api/jobs?" + string.Join('&', query), cancellationToken).ConfigureAwait(false);
        return ArrayOf(json.RootElement, "jobs", "items").Select(RemoteJob.Parse).ToList();
    }

    /// <summary>Cancels a job: <c>POST /api/jobs/{id}/cancel</c>; returns the job as it is now.</summary>
    public async Task<RemoteJob> CancelJobAsync(long id, CancellationToken cancellationToken = default)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"api/jobs/{id}/cancel");
        using var json = await SendJsonAsync(message, "read and the role that submits this job's kind", cancellationToken).ConfigureAwait(false);
        return RemoteJob.Parse(json.RootElement);
    }

    /// <summary>The digest in each stage of every pipeline (or one): <c>GET /api/pipelines</c>; the status document.</summary>
    public Task<JsonDocument> GetStatusAsync(string? pipeline, CancellationToken cancellationToken = default) =>
        GetJsonAsync(pipeline is null ? "api/pipelines?registries=true" : $"api/pipelines?registries=true&pipeline={Uri.EscapeDataString(pipeline)}", cancellationToken);

    /// <summary>The replicas on the daemon's job queue: <c>GET /api/replicas</c>, read as the typed document.</summary>
    /// <exception cref="JobFailedException">The answer is not a replicas document.</exception>
    public async Task<Core.Jobs.Documents.ReplicasDocument> GetReplicasAsync(CancellationToken cancellationToken = default)
    {
        using var json = await GetJsonAsync("api/replicas", cancellationToken).ConfigureAwait(false);
        try
        {
            return json.RootElement.Deserialize(Core.Jobs.Documents.ResultJsonContext.Default.ReplicasDocument)
                ?? throw new JsonException("null");
        }
        catch (JsonException exception)
        {
            throw new JobFailedException($"the daemon at {Server} answered api/replicas with JSON that is not a replicas document; is it an older Orchestrator?", exception);
        }
    }

    /// <summary>Builds, validations and promotions, newest first: <c>GET /api/pipelines/{name}/history?limit=N</c>.</summary>
    public Task<JsonDocument> GetHistoryAsync(string pipeline, int limit, CancellationToken cancellationToken = default) =>
        GetJsonAsync(FormattableString.Invariant($"api/pipelines/{Uri.EscapeDataString(pipeline)}/history?limit={limit}"), cancellationToken);

    /// <summary>The release in a stage, rendered by the daemon: <c>GET /api/releases/{pipeline}/{stage}?format=</c>.</summary>
    public async Task<string> GetReleaseAsync(string pipeline, string stage, string format, CancellationToken cancellationToken = default)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, $"api/releases/{Uri.EscapeDataString(pipeline)}/{Uri.EscapeDataString(stage)}?format={Uri.EscapeDataString(format)}");
        using var response = await SendAsync(message, JobAuthorization.Read, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _http.Dispose();

    private async Task<JsonDocument> GetJsonAsync(string path, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, path);
        return await SendJsonAsync(message, JobAuthorization.Read, cancellationToken).ConfigureAwait(false);
    }

    private async Task<JsonDocument> SendJsonAsync(HttpRequestMessage message, string roles, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(message, roles, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException exception)
        {
            throw new JobFailedException($"the daemon at {Server} answered {message.RequestUri} with something that is not JSON; is {Server} an Orchestrator daemon?", exception);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage message, string roles, CancellationToken cancellationToken)
    {
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException exception)
        {
            throw Unreachable(exception);
        }
        catch (TaskCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unreachable(exception);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var detail = await ErrorMessageAsync(response, cancellationToken).ConfigureAwait(false);
            throw response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => new JobRefusedException(_hasToken
                    ? $"the daemon at {Server} does not accept the token in ${_tokenVariable} ({detail}): set it to the secret of a token under daemon.tokens in the daemon's orchestrator.yaml"
                    : $"the daemon at {Server} needs a token ({detail}): set ${_tokenVariable}, or name another variable with --token-env"),
                HttpStatusCode.Forbidden => new JobRefusedException(
                    $"the daemon at {Server} refused: {detail}. This needs the role(s) {roles}: ask the daemon's operator to grant them to your token, or pass --token-env NAME for a token that has them"),
                HttpStatusCode.BadRequest or HttpStatusCode.NotFound or HttpStatusCode.UnprocessableEntity or HttpStatusCode.RequestEntityTooLarge => new InputException(detail),

                // The daemon cannot run what was asked as asked (e.g. its checkout is not this one): refused, nothing queued.
                HttpStatusCode.Conflict => new JobRefusedException($"the daemon at {Server} refused: {detail}"),
                _ => new JobFailedException($"the daemon at {Server} answered {(int)response.StatusCode} {response.ReasonPhrase}: {detail}; its log has the details"),
            };
        }
    }

    private UnavailableException Unreachable(Exception exception) =>
        new($"no daemon answers at {Server}: start it with 'orchestrator daemon' or unset {Infrastructure.CliOptions.ServerVariable} (and --server) to run in-process ({exception.Message})", exception);

    /// <summary>The daemon's <c>{"error": {"message": …}}</c>, else the body, else the status.</summary>
    private static async Task<string> ErrorMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var json = JsonDocument.Parse(text);
            if (json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("error", out var error))
            {
                if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
                {
                    return message.GetString()!;
                }

                if (error.ValueKind == JsonValueKind.String)
                {
                    return error.GetString()!;
                }
            }
        }
        catch (JsonException)
        {
            // Not the daemon's JSON (a proxy, a plain-text error): show it as it is, below.
        }

        return string.IsNullOrWhiteSpace(text) ? $"{(int)response.StatusCode} {response.ReasonPhrase}" : text.Trim();
    }

    private static IEnumerable<JsonElement> ArrayOf(JsonElement root, params string[] names)
    {
        if (root.ValueKind == JsonValueKind.Array)
        {
            return root.EnumerateArray();
        }

        foreach (var name in names)
        {
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array)
            {
                return array.EnumerateArray();
            }
        }

        return [];
    }

    private static JobLogEntry ParseLogEntry(JsonElement entry) => new(
        entry.TryGetProperty("sequence", out var sequence) && sequence.TryGetInt64(out var number) ? number : 0,
        entry.TryGetProperty("at", out var at) && at.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(at.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time) ? time : default,
        entry.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String ? kind.GetString()! : "detail",
        entry.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String ? message.GetString()! : string.Empty);
}

/// <summary>A page of a job's log and the job's state when it was read (null when the daemon did not say).</summary>
internal sealed record LogPage(IReadOnlyList<JobLogEntry> Entries, JobState? State)
{
    public bool IsFinal => State is JobState.Succeeded or JobState.Failed or JobState.Cancelled;
}
