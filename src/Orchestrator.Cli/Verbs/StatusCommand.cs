using System.CommandLine;
using System.Text.Json;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Cli.Remote;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Verbs;

/// <summary>
/// <c>orchestrator status [PIPELINE]</c>: which digest each stage holds, its tags, whether it passed validation,
/// and when and by whom it got there. Reads the state here, or the daemon's <c>GET /api/pipelines</c>.
/// </summary>
internal sealed class StatusCommand : VerbCommand
{
    private readonly Argument<string?> _pipeline = new("pipeline") { Description = "One pipeline (default: every pipeline)", Arity = ArgumentArity.ZeroOrOne };

    private readonly Option<bool> _replicas = new("--replicas")
    {
        Description = "Show the daemon replicas on the job queue instead: alive or down, last heartbeat, the jobs each leases, who runs the watcher",
    };

    public StatusCommand(CliConsole console)
        : base("status", "Show each pipeline in each stage: digest, tags, validated (when), promoted (when, by whom)", console)
    {
        Arguments.Add(_pipeline);
        Options.Add(_replicas);
    }

    protected override RemoteMode Remote => RemoteMode.Optional;

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken)
    {
        if (parseResult.GetValue(_replicas))
        {
            return WriteReplicas(parseResult, await LocalReplicasAsync(services, cancellationToken).ConfigureAwait(false));
        }

        var workflow = services.Workflows.Releases;
        var statuses = await workflow.GetStatusAsync(parseResult.GetValue(_pipeline), askRegistries: true, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<(string Base, string Variant, long? Bytes)> sizes;
        try
        {
            sizes = await ImageSizes.BaseVariantSizesAsync(services.Workspace, services.Graph.Registries, cancellationToken).ConfigureAwait(false);
        }
        catch (OrchestratorException)
        {
            // The sizes are extra: the records alone still answer 'status' when the first stage's registry does not.
            sizes = [];
        }

        var document = JsonSerializer.SerializeToElement(ResultDocuments.Status(statuses, sizes), ResultJsonContext.Default.StatusDocument);
        return Write(parseResult, document, null, workflow.NotRecordedHint);
    }

    protected override async Task<int> ExecuteRemoteAsync(ParseResult parseResult, DaemonClient daemon, CancellationToken cancellationToken)
    {
        if (parseResult.GetValue(_replicas))
        {
            return WriteReplicas(parseResult, await daemon.GetReplicasAsync(cancellationToken).ConfigureAwait(false));
        }

        var pipeline = parseResult.GetValue(_pipeline);
        using var document = await daemon.GetStatusAsync(pipeline, cancellationToken).ConfigureAwait(false);
        return Write(parseResult, document.RootElement, pipeline,
            "not recorded here: the registry serves it, but the daemon's state store has no build or promotion record of it (it was pushed or promoted without this daemon)");
    }

    /// <summary>
    /// The replicas as the state store holds them: the <c>replicas</c> table on PostgreSQL; none on a SQLite file, whose one
    /// daemon keeps its replica view in memory (ask it through <c>ORCHESTRATOR_URL</c>).
    /// </summary>
    private static async Task<ReplicasDocument> LocalReplicasAsync(ComposedServices services, CancellationToken cancellationToken)
    {
        if (services.Replicas is not { } registry)
        {
            return new ReplicasDocument("sqlite", null, []);
        }

        var records = await registry.ListAsync(cancellationToken).ConfigureAwait(false);
        return ReplicasDocument.From("postgres", records, services.Graph.Time.GetUtcNow());
    }

    private int WriteReplicas(ParseResult parseResult, ReplicasDocument document)
    {
        if (parseResult.GetValue(_pipeline) is not null)
        {
            throw new InputException("'status --replicas' takes no pipeline: run 'orchestrator status --replicas' alone, or 'orchestrator status PIPELINE' for a pipeline");
        }

        if (parseResult.GetValue(CliOptions.Json))
        {
            JsonOutput.Write(Console.Out, document, ResultJsonContext.Default.ReplicasDocument);
            return ExitCodes.Success;
        }

        if (document.Replicas.Count == 0)
        {
            Console.Out.WriteLine(document.Store == "sqlite"
                ? "The state is a SQLite file: one daemon runs on it, and it keeps its replica view in memory; set ORCHESTRATOR_URL to ask it."
                : "No daemon replica has registered on this state database.");
            return ExitCodes.Success;
        }

        var table = new TextTable("REPLICA", "STATE", "URLS", "STARTED", "HEARTBEAT", "WATCHER", "LEASED JOBS");
        foreach (var replica in document.Replicas)
        {
            table.Add(
                replica.Id,
                replica.State,
                replica.Urls,
                TextTable.Time(replica.StartedAt),
                TextTable.Time(replica.LastHeartbeatAt),
                replica.Watcher ? "yes" : null,
                string.Join(", ", replica.Leases.Select(l => $"{l.Job} {l.Kind} {l.Pipeline}{(l.Stage is null ? string.Empty : "/" + l.Stage)}")));
        }

        table.Write(Console.Out);
        Console.Out.WriteLine(document.Watcher is { } watcher ? $"The pipeline watcher runs on {watcher}." : "No live replica holds the watcher lock now.");
        return ExitCodes.Success;
    }

    /// <summary>The pipelines of a status document (an object with <c>pipelines</c>, or the array itself).</summary>
    internal static IEnumerable<JsonElement> PipelinesOf(JsonElement status) =>
        status.ValueKind == JsonValueKind.Array ? status.EnumerateArray() : TextTable.Array(status, "pipelines");

    /// <summary>
    /// The base variants' sizes in the first stage side by side (compressed, as a pull moves them), one row per base,
    /// one column per variant, so what full costs over slim is visible. Nothing when the status has none (the daemon's).
    /// </summary>
    private void WriteBaseSizes(JsonElement status)
    {
        if (status.ValueKind != JsonValueKind.Object || !status.TryGetProperty("bases", out var bases) || bases.GetArrayLength() == 0)
        {
            return;
        }

        var variants = bases.EnumerateArray().SelectMany(b => b.GetProperty("variants").EnumerateObject().Select(v => v.Name)).Distinct().Order(StringComparer.Ordinal).ToList();
        var table = new TextTable(["BASE", .. variants.Select(v => v.ToUpperInvariant())]);
        foreach (var entry in bases.EnumerateArray())
        {
            var sizes = entry.GetProperty("variants");
            table.Add([
                TextTable.Text(entry, "base"),
                .. variants.Select(v => sizes.TryGetProperty(v, out var bytes) ? bytes.ValueKind == JsonValueKind.Number ? ImageSize.Format(bytes.GetInt64()) : "(not built)" : "-"),
            ]);
        }

        Console.Out.WriteLine();
        table.Write(Console.Out);
    }

    private int Write(ParseResult parseResult, JsonElement status, string? only, string notRecordedHint)
    {
        var pipelines = PipelinesOf(status).ToList();
        if (only is not null)
        {
            // The daemon may answer with every pipeline; keep the one asked for.
            pipelines = pipelines.Where(p => TextTable.Text(p, "pipeline") == only).ToList();
            if (pipelines.Count == 0)
            {
                throw new InputException($"the daemon knows no pipeline named '{only}': 'orchestrator status' lists them all");
            }
        }

        if (parseResult.GetValue(CliOptions.Json))
        {
            if (only is null)
            {
                JsonOutput.Write(Console.Out, status);
            }
            else
            {
                JsonOutput.Write(Console.Out, new PipelineEntriesDocument(pipelines), ResultJsonContext.Default.PipelineEntriesDocument);
            }

            return ExitCodes.Success;
        }

        var table = new TextTable("PIPELINE", "STAGE", "DIGEST", "TAGS", "VALIDATED", "SINCE", "BY");
        var stale = new List<string>();
        var unrecorded = false;
        foreach (var pipeline in pipelines)
        {
            var name = TextTable.Text(pipeline, "pipeline");
            var stages = TextTable.Array(pipeline, "stages").ToList();
            if (stages.Count == 0)
            {
                table.Add(name, null, "(nothing built)", null, null, null, null);
            }

            foreach (var stage in stages)
            {
                var digest = TextTable.Text(stage, "digest");
                var validated = digest is null ? null
                    : TextTable.Text(stage, "validated") == "true" ? $"yes {TextTable.Time(TextTable.TimeOf(stage, "validatedAt"))}"
                    : TextTable.TimeOf(stage, "validatedAt") is { } failedAt ? $"FAILED {TextTable.Time(failedAt)}" : "no";
                var recorded = TextTable.Text(stage, "recorded") != "false";
                unrecorded |= !recorded && digest is not null;
                table.Add(
                    name,
                    TextTable.Text(stage, "stage"),
                    TextTable.ShortDigest(digest),
                    string.Join(",", TextTable.Array(stage, "tags").Select(t => t.GetString())),
                    validated,
                    TextTable.Time(TextTable.TimeOf(stage, "at")),
                    recorded ? TextTable.Text(stage, "by") : "(not recorded here)");
            }

            // stale: the lock rule ('lock --check'), whose message names the fix; changed: inputs moved since the last build.
            if (TextTable.Text(pipeline, "stale") == "true")
            {
                stale.Add(TextTable.Text(pipeline, "staleReason") is { } reason ? reason : $"the lock of {name} is stale");
            }

            if (TextTable.Text(pipeline, "changed") == "true")
            {
                stale.Add($"{name} changed since its last build{(TextTable.Text(pipeline, "changedReason") is { } changed ? $": {changed}" : string.Empty)}");
            }
        }

        table.Write(Console.Out);
        if (unrecorded)
        {
            Console.Out.WriteLine();
            Console.Out.WriteLine(notRecordedHint);
        }

        WriteBaseSizes(status);
        foreach (var line in stale)
        {
            Console.Out.WriteLine(line);
        }

        return ExitCodes.Success;
    }
}
