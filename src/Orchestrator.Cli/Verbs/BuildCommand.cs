using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Workflows;
using Orchestrator.Core.Jobs.Documents;

namespace Orchestrator.Cli.Verbs;

/// <summary>
/// <c>orchestrator build PIPELINE|--all</c>: build on the base's digest with the pinned packages, push to the first
/// stage; a build whose cache key is already in the stage is a cache hit that reuses its digest.
/// </summary>
internal sealed class BuildCommand : JobVerbCommand
{
    private readonly Argument<string?> _pipeline = new("pipeline") { Description = "The pipeline's name (pipelines/NAME.yaml); omit with --all", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<bool> _all = new("--all")
    {
        Description = "Build every base variant in use that is missing in the first stage, then every pipeline, in dependency order, two at a time",
    };

    private readonly Option<bool> _rebuildBases = new("--rebuild-bases") { Description = "With --all: rebuild every base in use, even those in the first stage" };
    private readonly Option<bool> _noCache = VerbArguments.NoCache();

    public BuildCommand(CliConsole console)
        : base("build", "Build a pipeline's image and push it to the first stage with its tags (or reuse a cached build); prints the digest-pinned reference", console)
    {
        Arguments.Add(_pipeline);
        Options.Add(_all);
        Options.Add(_rebuildBases);
        Options.Add(_noCache);
    }

    protected override void CheckArguments(ParseResult parseResult)
    {
        if (parseResult.GetValue(_all))
        {
            if (parseResult.GetValue(_pipeline) is not null)
            {
                throw new InputException("name one pipeline or pass --all, not both");
            }
        }
        else
        {
            _ = RequirePipeline(parseResult);
        }
    }

    protected override JobRequest CreateRequest(ParseResult parseResult)
    {
        if (parseResult.GetValue(_all))
        {
            throw new InputException("--all builds in-process only: with a daemon, submit one build per pipeline ('orchestrator build NAME')");
        }

        return new(JobKind.Build, RequirePipeline(parseResult), NoCache: parseResult.GetValue(_noCache));
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken)
    {
        RequireWaitingInProcess(parseResult);
        var noCache = parseResult.GetValue(_noCache);
        if (parseResult.GetValue(_all))
        {
            return await BuildAllAsync(parseResult, services, noCache, cancellationToken).ConfigureAwait(false);
        }

        if (parseResult.GetValue(_rebuildBases))
        {
            throw new InputException("--rebuild-bases goes with --all; to rebuild one base, use 'orchestrator base build NAME/VARIANT'");
        }

        var result = await services.Workflows.Builds
            .BuildAsync(RequirePipeline(parseResult), buildMissingBase: false, noCache, cancellationToken).ConfigureAwait(false);
        WriteResult(parseResult, ResultDocuments.Build(result), ResultJsonContext.Default.BuildDocument, result.Reference.ToString());
        return 0;
    }

    private async Task<int> BuildAllAsync(ParseResult parseResult, ComposedServices services, bool noCache, CancellationToken cancellationToken)
    {
        var result = await services.Workflows.BuildAll
            .BuildAllAsync(parseResult.GetValue(_rebuildBases), noCache, BuildAllWorkflow.DefaultParallelism, onResult: null, cancellationToken).ConfigureAwait(false);
        var entries = result.Bases.Concat(result.Pipelines).ToList();
        var json = new BuildAllDocument(
            result.Succeeded,
            [.. entries.Select(e => new BuildAllEntryDocument(e.Subject, e.Kind, OutcomeText(e.Outcome), e.Reference?.ToString(), e.Reference?.Digest?.ToString(), e.Error))]);

        // One line per base and pipeline, bases first: "KIND SUBJECT OUTCOME REFERENCE-or-ERROR".
        var lines = entries.Select(e => $"{e.Kind} {e.Subject} {OutcomeText(e.Outcome)} {e.Reference?.ToString() ?? e.Error}").ToArray();
        WriteResult(parseResult, json, ResultJsonContext.Default.BuildAllDocument, lines);
        if (result.Succeeded)
        {
            return 0;
        }

        // Exit 1 like a failed job, but without a second (error) document after the results on stdout.
        var failed = entries.Where(e => e.Outcome is BuildAllOutcome.Failed or BuildAllOutcome.Skipped).Select(e => e.Subject);
        Console.Error.WriteLine($"orchestrator: build --all: {string.Join(", ", failed)} did not build; fix the failures listed and run it again (what built is kept and will be cache hits)");
        return 1;
    }

    private static string OutcomeText(BuildAllOutcome outcome) => outcome switch
    {
        BuildAllOutcome.Built => "built",
        BuildAllOutcome.Present => "present",
        BuildAllOutcome.CacheHit => "cache-hit",
        BuildAllOutcome.Failed => "failed",
        _ => "skipped",
    };

    private string RequirePipeline(ParseResult parseResult) =>
        parseResult.GetValue(_pipeline)
        ?? throw new InputException("name one pipeline, or pass --all to build every pipeline; 'orchestrator --help' shows the usage");
}
