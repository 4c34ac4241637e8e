using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Jobs;
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
    /// <summary>The body of <c>POST /api/jobs</c>.</summary>
    internal sealed record SubmitBody(string? Kind, string? Pipeline, string? Digest, string? Stage, bool DryRun, bool NoCache, bool Attest = false);

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
        SubmitBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<SubmitBody>(context.Request.Body, ApiJson.Options, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException exception)
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, $"the body is not a job request: {exception.Message}; send {{\"kind\": \"build|validate|promote|run\", \"pipeline\": \"NAME\", …}}");
        }

        if (body is null)
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, "the body is empty; send {\"kind\": \"build|validate|promote|run\", \"pipeline\": \"NAME\", …}");
        }

        // A pipeline added since the last watch tick is picked up now rather than refused.
        await workspace.KnowsPipelineAsync(body.Pipeline, context.RequestAborted).ConfigureAwait(false);
        var (request, problem) = Validate(body, workspace);
        if (request is null)
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, problem!);
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

        return (new JobRequest(
            kind, body.Pipeline, digest, stage, kind == JobKind.Promote && body.DryRun, kind is JobKind.Build or JobKind.Run && body.NoCache,
            kind == JobKind.Promote && !body.DryRun && body.Attest), null);
    }

    private static async Task<IResult> ListAsync(HttpContext context, IJobStore store)
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
        var jobs = await store.ListAsync(filter, context.RequestAborted).ConfigureAwait(false);
        return ApiJson.Ok(new { jobs = jobs.Select(ApiJson.Job) });
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
        return ApiJson.Ok(new
        {
            id,
            state = ApiJson.Lower(job.State),
            log = ApiJson.Log(log),
            last = log.Count > 0 ? log[^1].Sequence : after,
        });
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
