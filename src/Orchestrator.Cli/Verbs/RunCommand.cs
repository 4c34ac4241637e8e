using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Verbs;

/// <summary><c>orchestrator run PIPELINE|--all</c>: base, build, validate and promote through every stage.</summary>
internal sealed class RunCommand : JobVerbCommand
{
    private readonly Argument<string?> _pipeline = new("pipeline") { Description = "The pipeline's name; omit with --all", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<bool> _all = new("--all") { Description = "Run every pipeline, in name order" };
    private readonly Option<bool> _noCache = VerbArguments.NoCache();

    public RunCommand(CliConsole console)
        : base("run", "Build, validate and promote a pipeline through every stage; prints the final digest-pinned reference", console)
    {
        Arguments.Add(_pipeline);
        Options.Add(_all);
        Options.Add(_noCache);
    }

    protected override JobRequest CreateRequest(ParseResult parseResult)
    {
        if (parseResult.GetValue(_all))
        {
            throw new InputException("--all runs in-process only: with a daemon, submit one run per pipeline ('orchestrator run NAME')");
        }

        return new JobRequest(JobKind.Run, parseResult.GetValue(_pipeline) ?? throw new InputException("name the pipeline to run"), NoCache: parseResult.GetValue(_noCache));
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, OrchestratorServices services, CancellationToken cancellationToken)
    {
        RequireWaitingInProcess(parseResult);
        var name = parseResult.GetValue(_pipeline);
        var all = parseResult.GetValue(_all);
        if (all == (name is not null))
        {
            throw new InputException("name one pipeline, or pass --all to run every pipeline");
        }

        var names = all ? services.Workspace.Pipelines.Keys.Order(StringComparer.Ordinal).ToList() : [name!];
        var results = new List<RunResult>();
        foreach (var pipeline in names)
        {
            services.Reporter.Step($"run {pipeline}");
            results.Add(await new RunWorkflow(services).RunAsync(pipeline, parseResult.GetValue(_noCache), cancellationToken).ConfigureAwait(false));
        }

        object json = all ? new { runs = results.Select(JsonOutput.Run) } : JsonOutput.Run(results[0]);
        WriteResult(parseResult, json, results.Select(r => r.Final.ToString()).ToArray());
        return 0;
    }
}
