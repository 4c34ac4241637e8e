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

/// <summary><c>orchestrator history PIPELINE</c>: builds, validations and promotions, newest first, with who and when.</summary>
internal sealed class HistoryCommand : VerbCommand
{
    private readonly Argument<string> _pipeline = VerbArguments.Pipeline();
    private readonly Option<int> _limit = new("--limit") { Description = "At most this many events (1 to 1000)", DefaultValueFactory = _ => 50 };

    public HistoryCommand(CliConsole console)
        : base("history", "Show a pipeline's builds, validations and promotions, newest first", console)
    {
        Arguments.Add(_pipeline);
        Options.Add(_limit);
    }

    protected override RemoteMode Remote => RemoteMode.Optional;

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken)
    {
        var pipeline = parseResult.GetRequiredValue(_pipeline);
        var history = await services.Workflows.Releases.GetHistoryAsync(pipeline, Limit(parseResult), cancellationToken).ConfigureAwait(false);
        var document = JsonSerializer.SerializeToElement(
            ResultDocuments.History(services.Workspace.GetPipeline(pipeline).Name, history), ResultJsonContext.Default.HistoryDocument);
        return Write(parseResult, document);
    }

    protected override async Task<int> ExecuteRemoteAsync(ParseResult parseResult, DaemonClient daemon, CancellationToken cancellationToken)
    {
        using var document = await daemon.GetHistoryAsync(parseResult.GetRequiredValue(_pipeline), Limit(parseResult), cancellationToken).ConfigureAwait(false);
        return Write(parseResult, document.RootElement);
    }

    private int Limit(ParseResult parseResult) => parseResult.GetValue(_limit) is var limit and >= 1 and <= 1000
        ? limit
        : throw new InputException($"--limit must be from 1 to 1000, not {parseResult.GetValue(_limit)}");

    private int Write(ParseResult parseResult, JsonElement history)
    {
        if (parseResult.GetValue(CliOptions.Json))
        {
            JsonOutput.Write(Console.Out, history);
            return ExitCodes.Success;
        }

        var entries = history.ValueKind == JsonValueKind.Array ? history.EnumerateArray().ToList() : TextTable.Array(history, "history").ToList();
        var table = new TextTable("AT", "KIND", "STAGE", "DIGEST", "BY", "WHAT");
        foreach (var entry in entries)
        {
            table.Add(
                TextTable.Time(TextTable.TimeOf(entry, "at")),
                TextTable.Text(entry, "kind"),
                TextTable.Text(entry, "stage"),
                TextTable.ShortDigest(TextTable.Text(entry, "digest")),
                TextTable.Text(entry, "actor"),
                TextTable.Text(entry, "summary"));
        }

        table.Write(Console.Out);
        if (entries.Count == 0)
        {
            Console.Error.WriteLine($"nothing recorded for {parseResult.GetRequiredValue(_pipeline)} yet: 'orchestrator build {parseResult.GetRequiredValue(_pipeline)}' starts its history");
        }

        return ExitCodes.Success;
    }
}
