using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Core.Errors;
using Orchestrator.Daemon.Hosting;
using Orchestrator.Daemon.Workers;

namespace Orchestrator.Daemon.Api;

/// <summary><c>/api/pipelines</c> (what each stage holds, plus stale), a pipeline's history, and <c>/api/releases</c>.</summary>
internal static class PipelineEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/pipelines", StatusAsync);
        app.MapGet("/api/pipelines/{name}/history", HistoryAsync);
        app.MapGet("/api/pipelines/{name}/diff", DiffAsync);
        app.MapGet("/api/pipelines/{name}/lock", LockAsync);
        app.MapGet("/api/releases/{pipeline}/{stage}", ReleaseAsync);
    }

    /// <summary>
    /// Serves the status document from <see cref="PipelineStatusCache"/> while nothing it is made of changed:
    /// the records (the store's change token, which sees writes from any process), the definitions (the
    /// holder's generation, moved by the watcher's reloads) and stale marks. Rebuilding it costs three store
    /// queries per pipeline plus a JSON round trip, which is what made this read ~10x slower than /api/jobs.
    /// </summary>
    private static async Task<IResult> StatusAsync(HttpContext context, IReleaseQueries releases, StaleTracker stale, WorkspaceHolder workspace, PipelineStatusCache cache, DaemonOptions options)
    {
        // Read before the document is built: a change landing meanwhile leaves a key that is already old, never a newer key on older content.
        // Only the plain read is cached: ?registries=true asks the registries, whose answers no key here tracks.
        var askRegistries = context.Request.Query["registries"] == "true";
        var token = askRegistries ? null : await options.Services.State.GetChangeTokenAsync(context.RequestAborted).ConfigureAwait(false);
        var key = token is null ? null : new PipelineStatusCache.Key(token, workspace.Generation, stale.Version);
        if (key is not null && cache.TryGet(key) is { } cached)
        {
            return Results.Bytes(cached, "application/json");
        }

        var document = await BuildStatusAsync(context, releases, stale, workspace, askRegistries).ConfigureAwait(false);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(document, ApiJson.Node);
        if (key is not null)
        {
            cache.Set(key, bytes);
        }

        return Results.Bytes(bytes, "application/json");
    }

    private static async Task<JsonObject> BuildStatusAsync(HttpContext context, IReleaseQueries releases, StaleTracker stale, WorkspaceHolder workspace, bool askRegistries)
    {
        // ?registries=true also asks each stage's registry (remote 'status' and 'release' do); the plain read stays on the records.
        var status = askRegistries
            ? await releases.GetServedStatusAsync(null, context.RequestAborted).ConfigureAwait(false)
            : await releases.GetStatusAsync(null, context.RequestAborted).ConfigureAwait(false);
        var entries = status switch
        {
            JsonArray array => array,
            JsonObject { } root when root["pipelines"] is JsonArray array => array,
            _ => null,
        };

        // Stale is the daemon's own knowledge; it is added to each pipeline's status entry.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries?.OfType<JsonObject>() ?? [])
        {
            var name = (entry["pipeline"] ?? entry["name"])?.GetValue<string>();
            if (name is null)
            {
                continue;
            }

            seen.Add(name);
            AddStale(entry, stale, name);
        }

        var result = new JsonObject { ["pipelines"] = entries?.DeepClone() ?? new JsonArray() };
        if (status is JsonObject original)
        {
            foreach (var (key, value) in original)
            {
                if (key != "pipelines")
                {
                    result[key] = value?.DeepClone();
                }
            }
        }

        // Pipelines the status document does not list (nothing built yet) still show whether they are stale.
        var list = (JsonArray)result["pipelines"]!;
        foreach (var name in workspace.Current.Pipelines.Keys.Order(StringComparer.Ordinal).Where(n => !seen.Contains(n)))
        {
            var entry = new JsonObject { ["pipeline"] = name, ["stages"] = new JsonArray() };
            AddStale(entry, stale, name);
            list.Add((JsonNode)entry);
        }

        return result;
    }

    // stale: the lock rule, as 'lock --check' says it; changed: inputs changed since the last successful build.
    private static void AddStale(JsonObject entry, StaleTracker tracker, string name)
    {
        var stale = tracker.GetLock(name);
        entry["stale"] = stale is not null;
        entry["staleReason"] = stale?.Reason;
        entry["staleSince"] = stale?.Since;
        var changed = tracker.Get(name);
        entry["changed"] = changed is not null;
        entry["changedReason"] = changed?.Reason;
        entry["changedSince"] = changed?.Since;
    }

    private static async Task<IResult> HistoryAsync(string name, HttpContext context, IReleaseQueries releases, WorkspaceHolder workspace)
    {
        if (!await workspace.KnowsPipelineAsync(name, context.RequestAborted).ConfigureAwait(false))
        {
            return UnknownPipeline(name, workspace);
        }

        var limit = 100;
        if (context.Request.Query["limit"].ToString() is { Length: > 0 } limitText && (!int.TryParse(limitText, out limit) || limit is < 1 or > 1000))
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, $"'limit' must be a number from 1 to 1000, not '{limitText}'");
        }

        var history = await releases.GetHistoryAsync(name, limit, context.RequestAborted).ConfigureAwait(false);
        return ApiJson.Ok(history ?? new JsonArray());
    }

    private static async Task<IResult> ReleaseAsync(string pipeline, string stage, HttpContext context, IReleaseQueries releases, WorkspaceHolder workspace)
    {
        if (!await workspace.KnowsPipelineAsync(pipeline, context.RequestAborted).ConfigureAwait(false))
        {
            return UnknownPipeline(pipeline, workspace);
        }

        if (workspace.Config.FindStage(stage) is null)
        {
            return ApiJson.Error(StatusCodes.Status404NotFound, $"no stage named '{stage}'; stages: {string.Join(", ", workspace.Config.Stages.Select(s => s.Name))}");
        }

        var format = context.Request.Query["format"].ToString() is { Length: > 0 } f ? f : "json";
        try
        {
            var (content, contentType) = await releases.GetReleaseAsync(pipeline, stage, format, context.RequestAborted).ConfigureAwait(false);
            return Results.Text(content, contentType);
        }
        catch (InputException exception)
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, exception.Message);
        }
        catch (JobFailedException exception) when (exception is not UnavailableException)
        {
            return ApiJson.Error(StatusCodes.Status404NotFound, exception.Message);
        }
    }

    // ?from=STAGE&to=STAGE; by default the first stage and the one after it.
    private static async Task<IResult> DiffAsync(string name, HttpContext context, IReleaseQueries releases, WorkspaceHolder workspace)
    {
        if (!await workspace.KnowsPipelineAsync(name, context.RequestAborted).ConfigureAwait(false))
        {
            return UnknownPipeline(name, workspace);
        }

        var stages = workspace.Config.Stages;
        if (stages.Count < 2)
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, $"there is only one stage ({stages[0].Name}): a diff needs two; add a stage to 'stages' in orchestrator.yaml");
        }

        var from = context.Request.Query["from"].ToString() is { Length: > 0 } f ? f : stages[0].Name;
        var to = context.Request.Query["to"].ToString() is { Length: > 0 } t ? t : stages[Math.Min(stages.Count - 1, stages.ToList().FindIndex(s => s.Name == from) + 1)].Name;
        foreach (var stage in new[] { from, to })
        {
            if (workspace.Config.FindStage(stage) is null)
            {
                return ApiJson.Error(StatusCodes.Status404NotFound, $"no stage named '{(stage.Length <= 64 ? stage : stage[..64] + "…")}'; stages: {string.Join(", ", stages.Select(s => s.Name))}");
            }
        }

        try
        {
            var diff = await releases.GetStageDiffAsync(name, from, to, context.RequestAborted).ConfigureAwait(false);
            return ApiJson.Ok(StageDiffDocument.Of(diff), PipelinePageJsonContext.Default.StageDiffDocument);
        }
        catch (InputException exception)
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, exception.Message);
        }
        catch (UnavailableException exception)
        {
            return ApiJson.Error(StatusCodes.Status503ServiceUnavailable, exception.Message);
        }
        catch (JobFailedException exception)
        {
            return ApiJson.Error(StatusCodes.Status502BadGateway, exception.Message);
        }
    }

    private static async Task<IResult> LockAsync(string name, HttpContext context, WorkspaceHolder workspace, StaleTracker stale)
    {
        if (!await workspace.KnowsPipelineAsync(name, context.RequestAborted).ConfigureAwait(false))
        {
            return UnknownPipeline(name, workspace);
        }

        var pipeline = workspace.Current.GetPipeline(name);
        var locked = pipeline.Lock;
        var document = new LockViewDocument(
            pipeline.Name,
            locked is not null,
            stale.GetLock(pipeline.Name)?.Reason,
            locked?.Base.Name,
            locked?.Base.Digest.ToString(),
            [.. (locked?.Packages ?? []).Select(p => new LockedPackageDocument(p.Name, p.Version, p.Architecture, p.Direct))],
            [.. (locked?.PythonPackages ?? []).Select(p => new LockedPythonDocument(p.Name, p.Version))],
            [.. (pipeline.Python?.Requirements ?? []).Select(r => $"{r.Name}=={r.Version}")]);
        return ApiJson.Ok(document, PipelinePageJsonContext.Default.LockViewDocument);
    }

    private static IResult UnknownPipeline(string name, WorkspaceHolder workspace) =>
        ApiJson.Error(StatusCodes.Status404NotFound, $"no pipeline named '{name}'; known pipelines: {string.Join(", ", workspace.Current.Pipelines.Keys.Order(StringComparer.Ordinal))}");
}
