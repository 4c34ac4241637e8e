using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Daemon.Hosting;

namespace Orchestrator.Daemon.Api;

/// <summary>
/// <c>GET /api/jobs/{id}/events</c>: a job's log and state as server-sent events (text/event-stream, WHATWG HTML
/// "Server-sent events"), from the same store <c>GET /api/jobs/{id}/log</c> reads, until the job is final:
/// <list type="bullet">
/// <item><c>event: state</c>, data <c>{"id", "state", "error", "exitCode"}</c>: first, then at every change of state;</item>
/// <item><c>event: log</c> with <c>id: SEQUENCE</c>, data <c>{"sequence", "at", "kind", "message"}</c>: each log line once, in order;</item>
/// <item><c>event: end</c>, data as <c>state</c>: after the final state and every line before it; the response then ends.</item>
/// </list>
/// A comment line (<c>: keep-alive</c>) every <see cref="KeepAlive"/> keeps proxies from closing an idle stream.
/// <c>?after=N</c> or a <c>Last-Event-ID</c> header resumes after log sequence N. The job is re-read only when the
/// shared <see cref="JobChangeFeed"/> sees the store change, so many watchers of one job stay cheap.
/// Guarded like every read (the <c>read</c> role, or public read); browsers call it with fetch() and the
/// <c>Authorization</c> header, since EventSource cannot send one and the token must never be in the URL.
/// </summary>
internal static class JobEventStream
{
    /// <summary>How often an idle stream gets a comment line. <value>15 s.</value></summary>
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/api/jobs/{id:long}/events", StreamAsync);

    private static async Task<IResult> StreamAsync(long id, HttpContext context, IJobStore store, JobChangeFeed feed, DaemonOptions options)
    {
        var after = 0L;
        var resume = context.Request.Query["after"].ToString() is { Length: > 0 } afterText ? afterText : context.Request.Headers["Last-Event-ID"].ToString();
        if (resume.Length > 0 && (!long.TryParse(resume, out after) || after < 0))
        {
            return ApiJson.Error(StatusCodes.Status400BadRequest, $"'after' (or Last-Event-ID) must be a log sequence number (0 or more), not '{Shorten(resume)}'");
        }

        var job = await store.GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        if (job is null)
        {
            return ApiJson.Error(StatusCodes.Status404NotFound, $"no job {id}; list jobs with GET /api/jobs");
        }

        // From here on the answer is the stream; errors end it (the client sees no 'end' event and may resume).
        var response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        var aborted = context.RequestAborted;
        using var lease = feed.Watch();
        string? lastState = null;
        var time = options.Services.Time;
        try
        {
            await response.Body.FlushAsync(aborted).ConfigureAwait(false);
            while (true)
            {
                // Read before the job: a write landing after the reads below completes it (see JobChangeFeed.Changed).
                var changed = feed.Changed;

                // The state is read before the lines: once it is final, every line is already written, so reading the
                // lines after it and finding none left means the stream is complete.
                job = await store.GetAsync(id, aborted).ConfigureAwait(false) ?? job;
                var state = ApiJson.Lower(job.State);
                var lines = await store.GetLogAsync(id, after, 1000, aborted).ConfigureAwait(false);
                var text = new StringBuilder();
                foreach (var line in lines)
                {
                    text.Append("id: ").Append(line.Sequence).Append('\n');
                    Event(text, "log", JsonSerializer.Serialize(new JobLogEventDocument(line.Sequence, line.At, line.Kind, line.Message), DashboardJsonContext.Default.JobLogEventDocument));
                    after = line.Sequence;
                }

                if (state != lastState)
                {
                    Event(text, "state", StateData(job));
                    lastState = state;
                }

                var done = job.IsFinal && lines.Count < 1000;
                if (done)
                {
                    Event(text, "end", StateData(job));
                }

                if (text.Length > 0)
                {
                    await response.WriteAsync(text.ToString(), aborted).ConfigureAwait(false);
                    await response.Body.FlushAsync(aborted).ConfigureAwait(false);
                }

                if (done)
                {
                    return Results.Empty;
                }

                if (lines.Count == 1000)
                {
                    continue;
                }

                using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(aborted);
                var keepAlive = Task.Delay(KeepAlive, time, delayCancel.Token);
                if (await Task.WhenAny(changed, keepAlive).ConfigureAwait(false) == keepAlive)
                {
                    aborted.ThrowIfCancellationRequested();
                    await response.WriteAsync(": keep-alive\n\n", aborted).ConfigureAwait(false);
                    await response.Body.FlushAsync(aborted).ConfigureAwait(false);
                }

                await delayCancel.CancelAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The watcher went away; nothing to answer.
            return Results.Empty;
        }
    }

    private static string StateData(Job job) =>
        JsonSerializer.Serialize(new JobStateEventDocument(job.Id, ApiJson.Lower(job.State), job.Error, job.ExitCode), DashboardJsonContext.Default.JobStateEventDocument);

    // A data field may not hold a line break; the JSON serializer escapes them inside strings, so one line suffices.
    private static void Event(StringBuilder text, string name, string data) =>
        text.Append("event: ").Append(name).Append("\ndata: ").Append(data).Append("\n\n");

    private static string Shorten(string value) => value.Length <= 32 ? value : value[..32] + "…";
}
