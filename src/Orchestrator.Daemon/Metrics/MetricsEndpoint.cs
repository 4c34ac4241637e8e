using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Daemon.Metrics;

/// <summary>
/// <c>GET /metrics</c> in the Prometheus text exposition format 0.0.4. Computed from the stores on each
/// scrape, so the numbers survive restarts and agree with <c>GET /api/jobs</c>. No token needed.
/// </summary>
internal static class MetricsEndpoint
{
    // Bounded so a scrape stays cheap; IJobStore has no aggregate query (see the daemon's report).
    private const int ScanLimit = 100_000;

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/metrics", async (HttpContext context, IJobStore jobs, WorkflowGraph services, IEnginePool engines) =>
        Results.Text(await RenderAsync(jobs, services.State, context.RequestAborted).ConfigureAwait(false) + RenderEngines(engines.Snapshot()), "text/plain; version=0.0.4; charset=utf-8"));

    /// <summary>
    /// The pool as the placement sees it now (issue 14, item 3): <c>orchestrator_engine_up</c>, <c>orchestrator_engine_slots_busy</c> and
    /// <c>orchestrator_engine_slots_total</c>, each labelled <c>engine</c> (the name in orchestrator.yaml).
    /// </summary>
    internal static string RenderEngines(IReadOnlyList<EngineStatus> engines)
    {
        var text = new StringBuilder();
        Header(text, "orchestrator_engine_up", "gauge", "1 when the engine answers and takes jobs, 0 while it is marked down.");
        foreach (var engine in engines)
        {
            Line(text, $"orchestrator_engine_up{{engine=\"{Label(engine.Name)}\"}}", engine.Up ? 1 : 0);
        }

        Header(text, "orchestrator_engine_slots_busy", "gauge", "Slots of the engine taken by running builds, validations and runs.");
        foreach (var engine in engines)
        {
            Line(text, $"orchestrator_engine_slots_busy{{engine=\"{Label(engine.Name)}\"}}", engine.Busy);
        }

        Header(text, "orchestrator_engine_slots_total", "gauge", "Slots of the engine in all (engines[].slots).");
        foreach (var engine in engines)
        {
            Line(text, $"orchestrator_engine_slots_total{{engine=\"{Label(engine.Name)}\"}}", engine.Slots);
        }

        return text.ToString();
    }

    // Label values escaped as the exposition format says (backslash, double quote, line feed); names are [a-z0-9-] anyway.
    private static string Label(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    internal static async Task<string> RenderAsync(IJobStore jobs, IStateStore state, CancellationToken cancellationToken)
    {
        var all = await jobs.ListAsync(new JobFilter(Limit: ScanLimit), cancellationToken).ConfigureAwait(false);
        var promotions = await state.ListPromotionsAsync(null, ScanLimit, cancellationToken).ConfigureAwait(false);
        var kinds = Enum.GetValues<JobKind>();
        var text = new StringBuilder();

        Header(text, "orchestrator_jobs_total", "counter", "Jobs that reached a final state, by kind and outcome.");
        foreach (var kind in kinds)
        {
            foreach (var outcome in new[] { JobState.Succeeded, JobState.Failed, JobState.Cancelled })
            {
                var count = all.Count(j => j.Request.Kind == kind && j.State == outcome);
                Line(text, $"orchestrator_jobs_total{{kind=\"{Lower(kind)}\",outcome=\"{Lower(outcome)}\"}}", count);
            }
        }

        Header(text, "orchestrator_jobs", "gauge", "Jobs not yet final, by state.");
        foreach (var live in new[] { JobState.Queued, JobState.Running })
        {
            Line(text, $"orchestrator_jobs{{state=\"{Lower(live)}\"}}", all.Count(j => j.State == live));
        }

        Header(text, "orchestrator_job_duration_seconds", "summary", "Run time of final jobs (last attempt, start to finish), by kind.");
        foreach (var kind in kinds)
        {
            var durations = all
                .Where(j => j.Request.Kind == kind && j.IsFinal && j.StartedAt is not null && j.FinishedAt is not null)
                .Select(j => Math.Max(0, (j.FinishedAt!.Value - j.StartedAt!.Value).TotalSeconds))
                .ToList();
            Line(text, $"orchestrator_job_duration_seconds_sum{{kind=\"{Lower(kind)}\"}}", durations.Sum());
            Line(text, $"orchestrator_job_duration_seconds_count{{kind=\"{Lower(kind)}\"}}", durations.Count);
        }

        Header(text, "orchestrator_promotion_bytes_copied_total", "counter", "Bytes of blobs copied registry to registry by promotions.");
        Line(text, "orchestrator_promotion_bytes_copied_total", promotions.Sum(p => p.BytesCopied));
        Header(text, "orchestrator_promotion_blobs_skipped_total", "counter", "Blobs promotions did not copy because the target already had them.");
        Line(text, "orchestrator_promotion_blobs_skipped_total", promotions.Sum(p => (long)p.BlobsSkipped));
        return text.ToString();
    }

    private static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Line(StringBuilder text, string series, double value) =>
        text.Append(series).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');

    private static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
