using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Workflows;
using Orchestrator.Core.Jobs.Documents;

namespace Orchestrator.Cli.Verbs;

/// <summary><c>orchestrator validate PIPELINE --digest D</c>: run the pipeline's tests on exactly that digest and record the result.</summary>
internal sealed class ValidateCommand : JobVerbCommand
{
    private readonly Argument<string> _pipeline = VerbArguments.Pipeline();
    private readonly Option<string?> _digest = VerbArguments.Digest("The digest to validate, as 'build' printed it (default: the pipeline's latest recorded build)");

    public ValidateCommand(CliConsole console)
        : base("validate", "Pull a digest from the first stage and run the pipeline's tests in containers with no network; exit 1 when any fails", console)
    {
        Arguments.Add(_pipeline);
        Options.Add(_digest);
    }

    protected override void CheckArguments(ParseResult parseResult)
    {
        if (parseResult.GetValue(_digest) is { } digest)
        {
            _ = VerbArguments.ParseDigest(digest);
        }
    }

    // Without --digest the daemon validates the pipeline's latest build, as the in-process verb does.
    protected override JobRequest CreateRequest(ParseResult parseResult) =>
        new(JobKind.Validate, parseResult.GetRequiredValue(_pipeline), parseResult.GetValue(_digest) is { } digest ? VerbArguments.ParseDigest(digest) : null);

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken)
    {
        RequireWaitingInProcess(parseResult);
        var pipeline = parseResult.GetRequiredValue(_pipeline);
        var digestText = parseResult.GetValue(_digest);
        var digest = digestText is not null
            ? VerbArguments.ParseDigest(digestText)
            : (await services.Graph.State.GetLatestBuildAsync(services.Workspace.GetPipeline(pipeline).Name, cancellationToken).ConfigureAwait(false))?.Digest
                ?? throw new InputException($"no build of '{pipeline}' is recorded: pass --digest sha256:… or run 'orchestrator build {pipeline}' first");

        var result = await services.Workflows.Validations.ValidateAsync(pipeline, digest, cancellationToken).ConfigureAwait(false);
        if (!result.Passed)
        {
            throw new ValidationFailedException(result);
        }

        WriteResult(parseResult, ResultDocuments.Validation(result), ResultJsonContext.Default.ValidationDocument, $"{result.Reference} passed {result.Results.Count} test(s)");
        return 0;
    }
}
