using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Daemon.Auth;
using Orchestrator.Daemon.Hosting;
using Orchestrator.Daemon.Workers;

namespace Orchestrator.Daemon.Api;

/// <summary>
/// <c>/api/jobs</c>: submit (written to the store before the 202), list, show, follow the log, cancel.
/// </summary>
internal static class JobEndpoints
{
    /// <summary>
    /// The body of <c>POST /api/jobs</c>. <see cref="DefinitionSha256"/> and <see cref="LockSha256"/>
    /// (<c>sha256:…</c>) name the content the client wants run; a null lock hash with a definition hash
    /// means "no lock file".
    /// </summary>
    internal sealed record SubmitBody(
        string? Kind, string? Pipeline, string? Digest, string? Stage, bool DryRun, bool NoCache, bool Attest = false,
        string? DefinitionSha256 = null, string? LockSha256 = null);

    /// <summary>The properties a job body may have, as clients spell them (camelCase); any other is refused.</summary>
    internal static readonly IReadOnlySet<string> KnownProperties = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "kind", "pipeline", "digest", "stage", "dryRun", "noCache", "attest", "definitionSha256", "lockSha256",
    };

    private const string BodyShape = "send {\"kind\": \"build|validate|promote|run\", \"pipeline\": \"NAME\", …}";

    private const string LogCategory = "Orchestrator.Daemon.Api.Jobs";

    public static void Map(IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/api/jobs");
        jobs.MapPost("/", SubmitAsync);
        jobs.MapGet("/", ListAsync);
        jobs.MapGet("/{id:long}", GetAsync);
        jobs.MapGet("/{id:long}/log", GetLogAsync);
        jobs.MapPost("/{id:long}/cancel", CancelAsync);
    }

    private static async Task<IResult> SubmitAsync(HttpContext context, IJobStore store, WorkspaceHolder workspace, JobSignal signal, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(LogCategory);
        var caller = TokenAuthMiddleware.GetCaller(context);
        var (body, bodyProblem) = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            return bodyProblem ?? ApiJson.Error(StatusCodes.Status400BadRequest, $"the body is empty; {BodyShape}");
        }

        // A pipeline added since the last watch tick is picked up now rather than refused.
        await workspace.KnowsPipelineAsync(body.Pipeline, context.RequestAborted).ConfigureAwait(false);
        var (request, problem) = Validate(body, workspace);
        if (request is null)
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, problem!);
        }

        // The job runs the content the client has, or is refused: never an older copy the daemon still holds.
        if (request.Definition is { } wanted)
        {
            if (await workspace.MatchAsync(request.Pipeline, wanted, context.RequestAborted).ConfigureAwait(false) is { } differs)
            {
                return ApiJson.Error(StatusCodes.Status409Conflict, Mismatch(request.Pipeline, differs, wanted, workspace));
            }
        }
        else
        {
            // A client that names no content gets the files as they are on the daemon's disk now (reloaded if
            // edited since the last tick), recorded so the worker runs exactly that.
            var (held, differs) = await workspace.MatchDiskAsync(request.Pipeline, context.RequestAborted).ConfigureAwait(false);
            if (differs is not null)
            {
                return ApiJson.Error(StatusCodes.Status409Conflict,
                    $"pipeline '{request.Pipeline}' changed on the daemon's disk ({differs}) and the change could not be loaded{(workspace.LastReloadError is { } error ? $": {error}" : string.Empty)}; fix the file and submit again");
            }

            request = request with { Definition = held };
        }

        var missing = JobAuthorization.MissingRoles(request, workspace.Config, caller.Roles);
        if (missing.Count > 0)
        {
            return ApiJson.Error(StatusCodes.Status403Forbidden, $"token '{caller.Name}' lacks the role(s) {string.Join(", ", missing.Select(r => $"'{r}'"))} needed to {ApiJson.Lower(request.Kind)} '{request.Pipeline}'{(request.Kind == JobKind.Promote ? $" to {request.Stage}" : string.Empty)}; use a token that has them");
        }

        // Committed before it is acknowledged: a 202 means the job survives a crash from here on.
        var job = await store.EnqueueAsync(request, caller.Name, context.RequestAborted).ConfigureAwait(false);
        logger.LogInformation("Job {JobId} queued: {Kind} {Pipeline} by {RequestedBy}", job.Id, request.Kind, request.Pipeline, caller.Name);
        signal.Notify();
        context.Response.Headers.Location = $"/api/jobs/{job.Id}";
        return ApiJson.Ok(ApiJson.Job(job), StatusCodes.Status202Accepted);
    }

    /// <summary>Turns a body into a request, or says what is wrong with it.</summary>
    internal static (JobRequest? Request, string? Problem) Validate(SubmitBody body, WorkspaceHolder holder)
    {
        var workspace = holder.Current;
        if (string.IsNullOrWhiteSpace(body.Kind) || !Enum.TryParse<JobKind>(body.Kind, ignoreCase: true, out var kind) || !Enum.IsDefined(kind) || int.TryParse(body.Kind, out _))
        {
            return (null, $"unknown job kind '{body.Kind}': use build, validate, promote or run");
        }

        if (string.IsNullOrWhiteSpace(body.Pipeline))
        {
            return (null, "'pipeline' is required: the name of a pipeline under pipelines/");
        }

        if (!workspace.Pipelines.ContainsKey(body.Pipeline))
        {
            return (null, $"no pipeline named '{body.Pipeline}'; known pipelines: {string.Join(", ", workspace.Pipelines.Keys.Order(StringComparer.Ordinal))}");
        }

        Digest? digest = null;
        if (!string.IsNullOrEmpty(body.Digest))
        {
            if (!Digest.TryParse(body.Digest, out digest, out var error))
            {
                return (null, $"'digest' is malformed: {error}; give it as sha256:<64 hex>");
            }
        }
        else if (kind == JobKind.Promote)
        {
            return (null, "a promote job needs 'digest': the validated digest to promote (sha256:<64 hex>)");
        }

        string? stage = null;
        if (kind == JobKind.Promote)
        {
            var config = workspace.Config;
            stage = string.IsNullOrEmpty(body.Stage) ? holder.DefaultPromotionStage : body.Stage;
            if (config.FindStage(stage) is null)
            {
                return (null, $"no stage named '{stage}'; stages: {string.Join(", ", config.Stages.Select(s => s.Name))}");
            }

            if (stage == config.FirstStage.Name)
            {
                return (null, $"cannot promote to '{stage}': it is the first stage, where builds are pushed; promote to one of {string.Join(", ", config.Stages.Skip(1).Select(s => s.Name))}");
            }
        }
        else if (!string.IsNullOrEmpty(body.Stage) && workspace.Config.FindStage(body.Stage) is null)
        {
            return (null, $"no stage named '{body.Stage}'; stages: {string.Join(", ", workspace.Config.Stages.Select(s => s.Name))}");
        }

        DefinitionHashes? hashes = null;
        if (!string.IsNullOrEmpty(body.DefinitionSha256))
        {
            if (!Digest.TryParse(body.DefinitionSha256, out var definitionHash, out var definitionError))
            {
                return (null, $"'definitionSha256' is malformed: {definitionError}; give the sha256:<64 hex> of the pipeline file's bytes");
            }

            Digest? lockHash = null;
            if (!string.IsNullOrEmpty(body.LockSha256) && !Digest.TryParse(body.LockSha256, out lockHash, out var lockError))
            {
                return (null, $"'lockSha256' is malformed: {lockError}; give the sha256:<64 hex> of the lock file's bytes, or null when there is no lock file");
            }

            hashes = new DefinitionHashes(definitionHash, lockHash);
        }
        else if (!string.IsNullOrEmpty(body.LockSha256))
        {
            return (null, "'lockSha256' was given without 'definitionSha256': send both, or neither");
        }

        return (new JobRequest(
            kind, body.Pipeline, digest, stage, kind == JobKind.Promote && body.DryRun, kind is JobKind.Build or JobKind.Run && body.NoCache,
            kind == JobKind.Promote && !body.DryRun && body.Attest) { Definition = hashes }, null);
    }

    /// <summary>
    /// Reads the body as one JSON object of known properties. Returns the body, or the answer to give:
    /// 413 when it passes the cap (set by <see cref="RequestBodyLimitMiddleware"/> before anything was
    /// buffered), 400 naming every unknown property, 400 when it is not a job request.
    /// </summary>
    private static async Task<(SubmitBody? Body, IResult? Problem)> ReadBodyAsync(HttpContext context)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, RequestBodyLimitMiddleware.TooLarge(RequestBodyLimitMiddleware.LimitFor(context.Request)));
        }
        catch (JsonException exception)
        {
            return (null, ApiJson.Error(StatusCodes.Status400BadRequest, $"the body is not a job request: {exception.Message}; {BodyShape}"));
        }

        using (document)
        {
            if (document.RootElement.ValueKind == JsonValueKind.Null)
            {
                return (null, ApiJson.Error(StatusCodes.Status400BadRequest, $"the body is empty; {BodyShape}"));
            }

            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, ApiJson.Error(StatusCodes.Status400BadRequest, $"the body is a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object; {BodyShape}"));
            }

            // Every unknown name at once, so a client fixes them in one go; a typo such as "dryrun" is refused, never ignored.
            var unknown = document.RootElement.EnumerateObject().Select(p => p.Name).Where(n => !KnownProperties.Contains(n)).Distinct(StringComparer.Ordinal).ToList();
            if (unknown.Count > 0)
            {
                return (null, ApiJson.Error(StatusCodes.Status400BadRequest,
                    $"unknown propert{(unknown.Count == 1 ? "y" : "ies")} {string.Join(", ", unknown.Select(n => $"'{Shorten(n)}'"))} in the job request; the known ones are {string.Join(", ", KnownProperties)}"));
            }

            try
            {
                return (document.RootElement.Deserialize(ApiRequestJsonContext.Default.SubmitBody), null);
            }
            catch (JsonException exception)
            {
                return (null, ApiJson.Error(StatusCodes.Status400BadRequest, $"the body is not a job request: {exception.Message}; {BodyShape}"));
            }
        }
    }

    /// <summary>A property name as echoed in an error: a client's mistake, bounded so an error never grows with the body.</summary>
    private static string Shorten(string name) => name.Length <= 64 ? name : name[..64] + "…";

    private static string Mismatch(string pipeline, string differs, DefinitionHashes wanted, WorkspaceHolder workspace)
    {
        var held = workspace.HashesOf(pipeline);
        var file = workspace.Current.Pipelines.TryGetValue(pipeline, out var definition) ? definition.SourceFile : $"pipelines/{pipeline}.yaml";
        var detail = differs switch
        {
            "the lock" => $"its lock {PipelineDefinition.LockPathFor(file)} is {Short(held?.Lock)} here, {Short(wanted.Lock)} in your checkout",
            "the definition" => $"{file} is {Short(held?.Definition)} here, {Short(wanted.Definition)} in your checkout",
            _ => $"{file} is {Short(held?.Definition)} here, {Short(wanted.Definition)} in your checkout, and its lock is {Short(held?.Lock)} here, {Short(wanted.Lock)} in yours",
        };
        var reload = workspace.LastReloadError is { } error ? $" (the daemon's last reload failed: {error})" : string.Empty;
        return $"the daemon's copy of pipeline '{pipeline}' is not yours: {differs} differs even after reloading: {detail}{reload}. " +
            "The daemon's checkout is not the CLI's: run the CLI in the daemon's checkout, or bring that checkout to your version (commit/pull, or copy the files) and submit again";
    }

    private static string Short(Digest? digest) => digest?.ToShortString() ?? "absent";

    /// <summary>
    /// Lists jobs, newest first, serving the document from <see cref="JobListCache"/> while the store's change
    /// token has not moved (any job write does, from any process), so a poll of an idle queue costs one pragma.
    /// </summary>
    private static async Task<IResult> ListAsync(HttpContext context, IJobStore store, JobListCache cache)
    {
        var query = context.Request.Query;
        JobState? state = null;
        JobKind? kind = null;
        if (query["state"].ToString() is { Length: > 0 } stateText)
        {
            if (!Enum.TryParse<JobState>(stateText, ignoreCase: true, out var parsed) || int.TryParse(stateText, out _))
            {
                return ApiJson.Error(StatusCodes.Status400BadRequest, $"unknown state '{stateText}': use queued, running, succeeded, failed or cancelled");
            }

            state = parsed;
        }

        if (query["kind"].ToString() is { Length: > 0 } kindText)
        {
            if (!Enum.TryParse<JobKind>(kindText, ignoreCase: true, out var parsed) || int.TryParse(kindText, out _))
            {
                return ApiJson.Error(StatusCodes.Status400BadRequest, $"unknown kind '{kindText}': use build, validate, promote or run");
            }

            kind = parsed;
        }

        var limit = 100;
        if (query["limit"].ToString() is { Length: > 0 } limitText && (!int.TryParse(limitText, out limit) || limit is < 1 or > 1000))
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, $"'limit' must be a number from 1 to 1000, not '{limitText}'");
        }

        var filter = new JobFilter(NullIfEmpty(query["pipeline"]), NullIfEmpty(query["stage"]), state, kind, limit);

        // The token is read before the jobs: a write landing in between leaves an entry under an already old
        // token (read again next time), never newer-looking content that is in fact older.
        var token = await store.GetChangeTokenAsync(context.RequestAborted).ConfigureAwait(false);
        if (token is not null && cache.TryGet(filter, token) is { } cached)
        {
            return Results.Bytes(cached, "application/json");
        }

        var jobs = await store.ListAsync(filter, context.RequestAborted).ConfigureAwait(false);
        var document = JobListWriter.Write(jobs);
        if (token is not null)
        {
            cache.Set(filter, token, document);
        }

        return Results.Bytes(document, "application/json");
    }

    private static async Task<IResult> GetAsync(long id, HttpContext context, IJobStore store)
    {
        var job = await store.GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        if (job is null)
        {
            return NotFound(id);
        }

        var log = await store.GetLogAsync(id, 0, 10_000, context.RequestAborted).ConfigureAwait(false);
        var json = ApiJson.Job(job);
        json["log"] = ApiJson.Log(log);
        return ApiJson.Ok(json);
    }

    private static async Task<IResult> GetLogAsync(long id, HttpContext context, IJobStore store)
    {
        var after = 0L;
        if (context.Request.Query["after"].ToString() is { Length: > 0 } afterText && (!long.TryParse(afterText, out after) || after < 0))
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, $"'after' must be a log sequence number (0 or more), not '{afterText}'");
        }

        var job = await store.GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        if (job is null)
        {
            return NotFound(id);
        }

        var log = await store.GetLogAsync(id, after, 1000, context.RequestAborted).ConfigureAwait(false);

        // State read before the lines: a client that sees a final state has every line once it reads past 'last'.
        return ApiJson.Ok(
            new JobLogPageDocument(id, ApiJson.Lower(job.State), ApiJson.Log(log), log.Count > 0 ? log[^1].Sequence : after),
            ApiJson.Type<JobLogPageDocument>());
    }

    private static async Task<IResult> CancelAsync(long id, HttpContext context, IJobStore store, WorkspaceHolder workspace, JobSignal signal, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(LogCategory);
        var caller = TokenAuthMiddleware.GetCaller(context);
        var job = await store.GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        if (job is null)
        {
            return NotFound(id);
        }

        var missing = JobAuthorization.MissingRoles(job.Request, workspace.Config, caller.Roles);
        if (missing.Count > 0)
        {
            return ApiJson.Error(StatusCodes.Status403Forbidden, $"token '{caller.Name}' lacks the role(s) {string.Join(", ", missing.Select(r => $"'{r}'"))} needed to cancel job {id} ({ApiJson.Lower(job.Request.Kind)})");
        }

        var cancelled = await store.RequestCancelAsync(id, context.RequestAborted).ConfigureAwait(false);
        logger.LogInformation("Cancel of job {JobId} requested by {RequestedBy}", id, caller.Name);
        signal.Notify();
        return cancelled is null ? NotFound(id) : ApiJson.Ok(ApiJson.Job(cancelled));
    }

    private static IResult NotFound(long id) =>
        ApiJson.Error(StatusCodes.Status404NotFound, $"no job {id}; list jobs with GET /api/jobs");

    private static string? NullIfEmpty(Microsoft.Extensions.Primitives.StringValues value) =>
        value.ToString() is { Length: > 0 } text ? text : null;
}
