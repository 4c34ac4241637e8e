using System.CommandLine;
using System.Text.Json;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Cli.Remote;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Verbs;

/// <summary>
/// <c>orchestrator release PIPELINE [--stage S] [--format F]</c>: what a cluster should deploy from a stage, pinned
/// by digest, as YAML, a kustomize <c>images:</c> entry, env lines or JSON; printed alone on standard output so
/// it can be redirected into a file.
/// </summary>
internal sealed class ReleaseCommand : VerbCommand
{
    private readonly Argument<string> _pipeline = VerbArguments.Pipeline();
    private readonly Option<string?> _stage = new("--stage") { Description = "The stage to release from (default: the last stage)" };
    private readonly Option<string?> _format = new("--format") { Description = "yaml (default), kustomize, env or json (--json alone means json)" };

    public ReleaseCommand(CliConsole console)
        : base("release", "Print the digest-pinned release of a pipeline in a stage for a cluster: yaml, kustomize, env or json", console)
    {
        Arguments.Add(_pipeline);
        Options.Add(_stage);
        Options.Add(_format);
    }

    protected override RemoteMode Remote => RemoteMode.Optional;

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken)
    {
        var format = FormatOf(parseResult);
        var stage = parseResult.GetValue(_stage) ?? services.Config.Stages[^1].Name;
        var release = await services.Workflows.Releases.GetReleaseAsync(parseResult.GetRequiredValue(_pipeline), stage, cancellationToken).ConfigureAwait(false);
        await Console.Out.WriteAsync(ReleaseFormatter.Format(release, format)).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    protected override async Task<int> ExecuteRemoteAsync(ParseResult parseResult, DaemonClient daemon, CancellationToken cancellationToken)
    {
        var format = FormatOf(parseResult);
        var pipeline = parseResult.GetRequiredValue(_pipeline);

        // The status says which stages exist (the default is the last) and whether anything reached the stage:
        // nothing there is a job not done yet (exit 1), not bad input, which the daemon's 404 would suggest.
        using var status = await daemon.GetStatusAsync(pipeline, cancellationToken).ConfigureAwait(false);
        var entry = StatusCommand.PipelinesOf(status.RootElement).FirstOrDefault(p => TextTable.Text(p, "pipeline") == pipeline);
        if (entry.ValueKind != JsonValueKind.Object)
        {
            throw new InputException($"the daemon knows no pipeline named '{pipeline}': 'orchestrator status' lists them");
        }

        var stages = TextTable.Array(entry, "stages").ToList();
        var stage = parseResult.GetValue(_stage)
            ?? (stages.Count > 0 ? TextTable.Text(stages[^1], "stage") : null)
            ?? throw new InputException($"the daemon lists no stages for {pipeline}: pass --stage STAGE");
        if (stages.FirstOrDefault(s => TextTable.Text(s, "stage") == stage) is { ValueKind: JsonValueKind.Object } here
            && TextTable.Text(here, "digest") is null)
        {
            throw new JobFailedException($"nothing of {pipeline} has reached {stage} yet: run 'orchestrator run {pipeline}', or build, validate and promote it");
        }

        var text = await daemon.GetReleaseAsync(pipeline, stage, format.ToString().ToLowerInvariant(), cancellationToken).ConfigureAwait(false);
        await Console.Out.WriteAsync(text.EndsWith('\n') ? text : text + "\n").ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private ReleaseFormat FormatOf(ParseResult parseResult) =>
        parseResult.GetValue(_format) is { } format ? ReleaseFormatter.ParseFormat(format)
        : parseResult.GetValue(CliOptions.Json) ? ReleaseFormat.Json
        : ReleaseFormat.Yaml;
}
