using System.CommandLine;
using System.Text.Json;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Cli.Remote;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Verbs;

/// <summary>
/// <c>orchestrator status [PIPELINE]</c>: which digest each stage holds, its tags, whether it passed validation,
/// and when and by whom it got there. Reads the state here, or the daemon's <c>GET /api/pipelines</c>.
/// </summary>
internal sealed class StatusCommand : VerbCommand
{
    private readonly Argument<string?> _pipeline = new("pipeline") { Description = "One pipeline (default: every pipeline)", Arity = ArgumentArity.ZeroOrOne };

    public StatusCommand(CliConsole console)
        : base("status", "Show each pipeline in each stage: digest, tags, validated (when), promoted (when, by whom)", console)
    {
        Arguments.Add(_pipeline);
    }

    protected override RemoteMode Remote => RemoteMode.Optional;

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, OrchestratorServices services, CancellationToken cancellationToken)
    {
        var statuses = await new ReleaseWorkflow(services).GetStatusAsync(parseResult.GetValue(_pipeline), cancellationToken).ConfigureAwait(false);
        using var document = JsonDocument.Parse(ResultDocuments.Serialize(ResultDocuments.Status(statuses)));
        return Write(parseResult, document.RootElement, null);
    }

    protected override async Task<int> ExecuteRemoteAsync(ParseResult parseResult, DaemonClient daemon, CancellationToken cancellationToken)
    {
        var pipeline = parseResult.GetValue(_pipeline);
        using var document = await daemon.GetStatusAsync(pipeline, cancellationToken).ConfigureAwait(false);
        return Write(parseResult, document.RootElement, pipeline);
    }

    /// <summary>The pipelines of a status document (an object with <c>pipelines</c>, or the array itself).</summary>
    internal static IEnumerable<JsonElement> PipelinesOf(JsonElement status) =>
        status.ValueKind == JsonValueKind.Array ? status.EnumerateArray() : TextTable.Array(status, "pipelines");

    private int Write(ParseResult parseResult, JsonElement status, string? only)
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
            JsonOutput.Write(Console.Out, only is null ? status : new { pipelines });
            return ExitCodes.Success;
        }

        var table = new TextTable("PIPELINE", "STAGE", "DIGEST", "TAGS", "VALIDATED", "SINCE", "BY");
        var stale = new List<string>();
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
                table.Add(
                    name,
                    TextTable.Text(stage, "stage"),
                    TextTable.ShortDigest(digest),
                    string.Join(",", TextTable.Array(stage, "tags").Select(t => t.GetString())),
                    validated,
                    TextTable.Time(TextTable.TimeOf(stage, "at")),
                    TextTable.Text(stage, "by"));
            }

            if (TextTable.Text(pipeline, "stale") == "true")
            {
                stale.Add($"{name} is stale{(TextTable.Text(pipeline, "staleReason") is { } reason ? $": {reason}" : string.Empty)}");
            }
        }

        table.Write(Console.Out);
        foreach (var line in stale)
        {
            Console.Out.WriteLine(line);
        }

        return ExitCodes.Success;
    }
}
