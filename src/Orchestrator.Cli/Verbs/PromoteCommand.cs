using System.CommandLine;
using System.Text.Json.Nodes;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Verbs;

/// <summary><c>orchestrator promote PIPELINE --digest D --to STAGE</c>: copy that digest, byte for byte, to the next stage.</summary>
internal sealed class PromoteCommand : JobVerbCommand
{
    private readonly Argument<string> _pipeline = VerbArguments.Pipeline();
    private readonly Option<string?> _digest = VerbArguments.Digest("The validated digest to promote");
    private readonly Option<string?> _to = new("--to") { Description = "The target stage (default: the stage after the first)" };
    private readonly Option<bool> _dryRun = new("--dry-run") { Description = "Print the plan and fail exactly when the promotion would; copy nothing" };
    private readonly Option<bool> _attest = new("--attest") { Description = "Also attach the promotion record to the target digest as an in-toto statement referrer (in-process or through the daemon)" };

    public PromoteCommand(CliConsole console)
        : base("promote", "Copy a validated digest registry-to-registry to the next stage, verify it, then tag it; prints the target reference", console)
    {
        _digest.Required = true;
        Arguments.Add(_pipeline);
        Options.Add(_digest);
        Options.Add(_to);
        Options.Add(_dryRun);
        Options.Add(_attest);
    }

    protected override void CheckArguments(ParseResult parseResult) => _ = VerbArguments.ParseDigest(parseResult.GetRequiredValue(_digest)!);

    protected override JobRequest CreateRequest(ParseResult parseResult) => new(
        JobKind.Promote,
        parseResult.GetRequiredValue(_pipeline),
        VerbArguments.ParseDigest(parseResult.GetRequiredValue(_digest)!),
        parseResult.GetValue(_to),
        parseResult.GetValue(_dryRun),
        Attest: parseResult.GetValue(_attest));

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken)
    {
        RequireWaitingInProcess(parseResult);
        var digest = VerbArguments.ParseDigest(parseResult.GetRequiredValue(_digest)!);
        var result = await services.Workflows.Promotions.PromoteAsync(
            parseResult.GetRequiredValue(_pipeline), digest, parseResult.GetValue(_to), parseResult.GetValue(_dryRun), cancellationToken).ConfigureAwait(false);
        var human = result.DryRun
            ? $"dry run: {result.Source} can be promoted to {result.Target} ({result.Plan.BlobsToCopy.Count} blob(s) to copy, {result.Plan.BlobsPresent.Count} present, tags {string.Join(", ", result.Plan.Tags.Select(t => t.Tag))})"
            : result.Target.ToString();
        if (!parseResult.GetValue(_attest) || result.DryRun)
        {
            WriteResult(parseResult, ResultDocuments.Promotion(result), ResultJsonContext.Default.PromotionDocument, human);
            return 0;
        }

        var statement = await services.Workflows.Promotions.AttestAsync(result.Pipeline, result.PromotionId, cancellationToken).ConfigureAwait(false);
        var document = ResultDocuments.Promotion(result) with { Statement = statement.ToString() };
        WriteResult(parseResult, document, ResultJsonContext.Default.PromotionDocument, human, $"statement {statement}");
        return 0;
    }
}
