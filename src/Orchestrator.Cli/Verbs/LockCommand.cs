using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Locks;
using Orchestrator.Core.Workflows;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Definitions;

namespace Orchestrator.Cli.Verbs;

/// <summary>
/// <c>orchestrator lock [PIPELINE] [--all] [--check] [--update]</c>: resolve the full apt closure on the
/// base's current digest (building the base first when the first stage lacks it) and write
/// pipelines/NAME.lock.yaml when it is missing or stale; with --check, only compare (exit 1 on drift).
/// </summary>
internal sealed class LockCommand : VerbCommand
{
    private readonly Argument<string?> _pipeline = new("pipeline") { Description = "The pipeline's name (pipelines/NAME.yaml)", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<bool> _all = new("--all") { Description = "Every pipeline" };
    private readonly Option<bool> _check = new("--check") { Description = "Write nothing; exit 1 when a lock is missing or stale (for CI)" };
    private readonly Option<bool> _update = new("--update") { Description = "Resolve again even when the lock is fresh (moves to what the mirror serves now)" };

    public LockCommand(CliConsole console)
        : base("lock", "Resolve a pipeline's full apt closure on its base's current digest and write pipelines/NAME.lock.yaml", console)
    {
        Arguments.Add(_pipeline);
        Options.Add(_all);
        Options.Add(_check);
        Options.Add(_update);
    }

    protected override bool NeedsServices => false;

    protected override void CheckArguments(ParseResult parseResult)
    {
        if (parseResult.GetValue(_check) && parseResult.GetValue(_update))
        {
            throw new InputException("--check writes nothing and --update rewrites the lock: pass one of them");
        }

        switch (parseResult.GetValue(_pipeline), parseResult.GetValue(_all))
        {
            case (not null, true):
                throw new InputException("pass a pipeline or --all, not both");
            case (null, false):
                throw new InputException("name the pipeline to lock ('orchestrator lock NAME'), or pass --all");
        }
    }

    // The definitions are loaded here rather than by the shared services, because a pipeline whose
    // packages are unpinned has no lock yet and every other verb refuses it until this one writes it.
    protected override async Task<int> ExecuteWithoutServicesAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var configPath = CliServices.ResolveConfigPath(parseResult.GetValue(CliOptions.Config));
        var workspace = await new WorkspaceLoader { AllowUnpinnedWithoutLock = true, Scope = ScopeOf(parseResult) }.LoadAsync(configPath, cancellationToken).ConfigureAwait(false);
        WriteWarnings(workspace);
        if (parseResult.GetValue(_pipeline) is { } name)
        {
            // An unknown name is bad input: refuse it before the state store is created.
            _ = workspace.GetPipeline(name);
        }

        await using var composed = await ComposedServices.CreateAsync(
            workspace, new ConsoleJobReporter(Console.Error, parseResult.GetValue(CliOptions.Verbose)), NullLoggerFactory.Instance, Console.Environment.Time, cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(parseResult, composed, cancellationToken).ConfigureAwait(false);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken)
    {
        var pipelines = Targets(parseResult, services.Workspace);
        var check = parseResult.GetValue(_check);

        var workflow = services.Workflows.Locks;
        var results = new List<LockDocument>();
        var lines = new List<string>();
        var drift = false;
        foreach (var pipeline in pipelines)
        {
            if (!check)
            {
                // A first lock on a fresh machine needs the bases it resolves on (a Python pipeline's build base too):
                // build those the stage lacks, as 'run' does.
                foreach (var used in pipeline.BasesUsed)
                {
                    await services.Workflows.Bases.EnsureAsync(used.ToString(), cancellationToken).ConfigureAwait(false);
                }
            }

            var status = await workflow.CheckAsync(pipeline.Name, cancellationToken).ConfigureAwait(false);
            if (check)
            {
                drift |= !status.IsFresh;
                results.Add(new LockDocument(pipeline.Name, status.State.ToString().ToLowerInvariant()) { Reasons = status.Reasons, Message = status.Message });
                lines.Add(status.IsFresh ? $"{pipeline.Name}: fresh" : $"{pipeline.Name}: {status.Message}");
                continue;
            }

            if (status.IsFresh && !parseResult.GetValue(_update))
            {
                results.Add(new LockDocument(pipeline.Name, "fresh") { Written = false, LockFile = pipeline.LockFile });
                lines.Add($"{pipeline.Name}: the lock is fresh ({Relative(services, pipeline.LockFile)}); 'orchestrator lock --update {pipeline.Name}' resolves it again");
                continue;
            }

            var resolved = await workflow.ResolveAsync(pipeline.Name, cancellationToken).ConfigureAwait(false);
            var path = pipeline.LockFile;
            await LockFileWriter.WriteAsync(resolved, path, cancellationToken).ConfigureAwait(false);
            results.Add(new LockDocument(pipeline.Name, "written")
            {
                Written = true,
                LockFile = path,
                BaseDigest = resolved.Base.Digest.ToString(),
                Packages = [.. resolved.Packages.Select(p => new LockedPackageDocument(p.Name, p.Version, p.Architecture, p.Sha256, p.Direct))],
            });
            lines.Add($"{pipeline.Name}: locked {resolved.Packages.Count} package(s) ({resolved.Packages.Count(p => p.Direct)} direct) on {resolved.Base.Digest.ToShortString()} in {Relative(services, path)}");
        }

        WriteResult(parseResult, new LocksDocument(results), ResultJsonContext.Default.LocksDocument, [.. lines]);
        if (drift)
        {
            Console.Error.WriteLine("orchestrator: lock drift: run 'orchestrator lock PIPELINE' (or 'orchestrator lock --all') and commit the lock files");
            return ExitCodes.JobFailed;
        }

        return ExitCodes.Success;
    }

    private List<PipelineDefinition> Targets(ParseResult parseResult, Workspace workspace)
    {
        var name = parseResult.GetValue(_pipeline);
        var all = parseResult.GetValue(_all);
        return (name, all) switch
        {
            (not null, false) => [workspace.GetPipeline(name)],
            (null, true) => workspace.Pipelines.Values.OrderBy(p => p.Name, StringComparer.Ordinal).ToList(),
            _ => throw new InputException("pass a pipeline or --all, not both"),
        };
    }

    private static string Relative(ComposedServices services, string path) =>
        Path.GetRelativePath(services.Config.RootDirectory, path).Replace('\\', '/');
}
