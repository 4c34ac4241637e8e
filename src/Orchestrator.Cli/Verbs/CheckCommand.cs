using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
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
        var json = new
        {
            config = workspace.Config.SourceFile,
            stages = workspace.Config.Stages.Select(s => new { name = s.Name, registry = s.Registry.Host }),
            bases = workspace.Bases.Values.OrderBy(b => b.Name, StringComparer.Ordinal).Select(b => new { name = b.Name, repository = b.Repository, variants = b.Variants.Keys }),
            pipelines = workspace.Pipelines.Values.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => new { name = p.Name, version = p.Version, @base = p.Base.ToString(), repository = p.Repository, tags = p.Tags }),
        };
        WriteResult(parseResult, json,
            $"ok: {workspace.Bases.Count} base image(s), {workspace.Pipelines.Count} pipeline(s), stages {string.Join(" -> ", workspace.Config.Stages.Select(s => s.Name))}");
        return 0;
    }
}
