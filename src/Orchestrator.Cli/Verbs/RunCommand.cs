using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Workflows;
using Orchestrator.Core.Jobs.Documents;

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

    protected override void CheckArguments(ParseResult parseResult)
    {
        if (parseResult.GetValue(_all) == (parseResult.GetValue(_pipeline) is not null))
        {
            throw new InputException("name one pipeline, or pass --all to run every pipeline");
        }
    }

    protected override JobRequest CreateRequest(ParseResult parseResult)
    {
        if (parseResult.GetValue(_all))
        {
            throw new InputException("--all runs in-process only: with a daemon, submit one run per pipeline ('orchestrator run NAME')");
        }

        return new JobRequest(JobKind.Run, parseResult.GetValue(_pipeline) ?? throw new InputException("name the pipeline to run"), NoCache: parseResult.GetValue(_noCache));
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken)
    {
        RequireWaitingInProcess(parseResult);
        var name = parseResult.GetValue(_pipeline);
        var all = parseResult.GetValue(_all);

        if (!all)
        {
            var result = await services.Workflows.Runs.RunAsync(name!, parseResult.GetValue(_noCache), cancellationToken).ConfigureAwait(false);
            WriteResult(parseResult, ResultDocuments.Run(result), ResultJsonContext.Default.RunDocument, result.Final.ToString());
            return 0;
        }

        // --all goes on past a failed pipeline, as 'build --all' does: one refusal (a tag conflict in
        // production, say) must not hide the releases of the others. Exit 1 when any failed.
        var results = new List<RunResult>();
        var failures = new List<(string Pipeline, OrchestratorException Error)>();
        foreach (var pipeline in services.Workspace.Pipelines.Keys.Order(StringComparer.Ordinal))
        {
            services.Reporter.Step($"run {pipeline}");
            try
            {
                results.Add(await services.Workflows.Runs.RunAsync(pipeline, parseResult.GetValue(_noCache), cancellationToken).ConfigureAwait(false));
            }
            catch (OrchestratorException error) when (error is not InputException)
            {
                failures.Add((pipeline, error));
                await Console.Error.WriteLineAsync($"orchestrator: {pipeline}: {error.Message}").ConfigureAwait(false);
            }
        }

        WriteResult(
            parseResult,
            new RunAllDocument([.. results.Select(ResultDocuments.Run)], [.. failures.Select(f => new RunFailureDocument(f.Pipeline, f.Error.Message))]),
            ResultJsonContext.Default.RunAllDocument,
            results.Select(r => r.Final.ToString()).ToArray());
        if (failures.Count > 0)
        {
            await Console.Error.WriteLineAsync($"orchestrator: {failures.Count} of {results.Count + failures.Count} pipeline(s) failed: {string.Join(", ", failures.Select(f => f.Pipeline))}").ConfigureAwait(false);
        }

        return failures.Count == 0 ? 0 : ExitCodes.JobFailed;
    }
}
