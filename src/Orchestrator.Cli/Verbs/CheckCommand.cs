using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Composition;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Verbs;

/// <summary><c>orchestrator check</c>: load and cross-check every definition, touching nothing else; for CI and editors.</summary>
internal sealed class CheckCommand : VerbCommand
{
    public CheckCommand(CliConsole console)
        : base("check", "Check orchestrator.yaml, base-images/ and pipelines/; prints every problem as file:line:column", console)
    {
    }

    protected override bool NeedsServices => false;

    protected override Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    protected override async Task<int> ExecuteWithoutServicesAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var workspace = await CliServices.LoadWorkspaceAsync(parseResult.GetValue(CliOptions.Config), cancellationToken).ConfigureAwait(false);
        var json = new CheckDocument(
            workspace.Config.SourceFile,
            [.. workspace.Config.Stages.Select(s => new CheckStageDocument(s.Name, s.Registry.Host))],
            [.. workspace.Bases.Values.OrderBy(b => b.Name, StringComparer.Ordinal).Select(b => new CheckBaseDocument(b.Name, b.Repository, [.. b.Variants.Keys]))],
            [.. workspace.Pipelines.Values.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => new CheckPipelineDocument(p.Name, p.Version, p.Base.ToString(), p.Repository, p.Tags))]);
        WriteResult(parseResult, json, ResultJsonContext.Default.CheckDocument,
            $"ok: {workspace.Bases.Count} base image(s), {workspace.Pipelines.Count} pipeline(s), stages {string.Join(" -> ", workspace.Config.Stages.Select(s => s.Name))}");
        return 0;
    }
}
