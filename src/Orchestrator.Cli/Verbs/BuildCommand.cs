using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Verbs;

/// <summary><c>orchestrator build PIPELINE</c>: build on the base's digest with the pinned packages, push to the first stage.</summary>
internal sealed class BuildCommand : JobVerbCommand
{
    private readonly Argument<string> _pipeline = VerbArguments.Pipeline();
    private readonly Option<bool> _noCache = VerbArguments.NoCache();

    public BuildCommand(CliConsole console)
        : base("build", "Build a pipeline's image and push it to the first stage with its tags; prints the digest-pinned reference", console)
    {
        Arguments.Add(_pipeline);
        Options.Add(_noCache);
    }

    protected override JobRequest CreateRequest(ParseResult parseResult) =>
        new(JobKind.Build, parseResult.GetRequiredValue(_pipeline), NoCache: parseResult.GetValue(_noCache));

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, OrchestratorServices services, CancellationToken cancellationToken)
    {
        RequireWaitingInProcess(parseResult);
        var result = await new PipelineBuildWorkflow(services)
            .BuildAsync(parseResult.GetRequiredValue(_pipeline), buildMissingBase: false, parseResult.GetValue(_noCache), cancellationToken).ConfigureAwait(false);
        WriteResult(parseResult, JsonOutput.Build(result), result.Reference.ToString());
        return 0;
    }
}
