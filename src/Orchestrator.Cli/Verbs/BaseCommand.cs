using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Core.Workflows;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Jobs.Documents;

namespace Orchestrator.Cli.Verbs;

/// <summary><c>orchestrator base …</c>: base images.</summary>
internal sealed class BaseCommand : Command
{
    public BaseCommand(CliConsole console)
        : base("base", "Build base images (base-images/NAME.yaml) in their variants")
    {
        Subcommands.Add(new BaseBuildCommand(console));
    }
}

/// <summary><c>orchestrator base build NAME[/VARIANT]</c>: debootstrap (or copy by digest), import, push to the first stage.</summary>
internal sealed class BaseBuildCommand : VerbCommand
{
    private readonly Argument<string> _base = new("base") { Description = "NAME or NAME/VARIANT, e.g. debian-bookworm/slim (NAME alone: its default variant)" };

    public BaseBuildCommand(CliConsole console)
        : base("build", "Build a base image variant and push it to the first stage; prints its digest-pinned reference", console)
    {
        Arguments.Add(_base);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken)
    {
        var result = await services.Workflows.Bases.BuildAsync(parseResult.GetRequiredValue(_base), cancellationToken).ConfigureAwait(false);
        WriteResult(parseResult, ResultDocuments.BaseBuild(result), ResultJsonContext.Default.BaseBuildDocument, result.TaggedReference);
        return 0;
    }
}
