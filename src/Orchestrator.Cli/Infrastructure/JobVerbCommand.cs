using System.CommandLine;
using Orchestrator.Cli.Remote;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;

namespace Orchestrator.Cli.Infrastructure;

/// <summary>
/// A verb that is a job: with a daemon set it submits the job (<c>POST /api/jobs</c>) and follows it live,
/// exiting with the job's exit code; without one it runs in-process as before. <c>--no-wait</c> only submits.
/// </summary>
internal abstract class JobVerbCommand : VerbCommand
{
    private readonly Option<bool> _noWait = new("--no-wait")
    {
        Description = "With a daemon: print the job id and exit 0 without following it",
    };

    protected JobVerbCommand(string name, string description, CliConsole console)
        : base(name, description, console)
    {
        Options.Add(_noWait);
    }

    protected sealed override RemoteMode Remote => RemoteMode.Optional;

    /// <summary>The job this invocation asks for, from its arguments.</summary>
    /// <exception cref="InputException">The arguments do not make one job.</exception>
    protected abstract JobRequest CreateRequest(ParseResult parseResult);

    protected sealed override async Task<int> ExecuteRemoteAsync(ParseResult parseResult, DaemonClient daemon, CancellationToken cancellationToken)
    {
        var request = CreateRequest(parseResult);

        // The daemon must run this checkout's definition and lock, not whatever it loaded last (issue 11, item 9).
        request = request with { Definition = await LocalContentAsync(parseResult, request.Pipeline, cancellationToken).ConfigureAwait(false) };
        return await new JobFollower(daemon, Console, parseResult.GetValue(CliOptions.Json), parseResult.GetValue(CliOptions.Verbose))
            .SubmitAsync(request, parseResult.GetValue(_noWait), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The hashes of <paramref name="pipeline"/>'s definition and lock in this checkout, or null when there is
    /// no checkout here (no orchestrator.yaml found) or it has no such pipeline: then the daemon runs its own.
    /// </summary>
    /// <exception cref="DefinitionException">This checkout's definitions do not load (file:line:column); fix them first.</exception>
    internal static async Task<DefinitionHashes?> LocalContentAsync(ParseResult parseResult, string pipeline, CancellationToken cancellationToken)
    {
        var option = parseResult.GetValue(CliOptions.Config);
        if (!File.Exists(CliServices.ResolveConfigPath(option)))
        {
            return null;
        }

        var workspace = await CliServices.LoadWorkspaceAsync(option, cancellationToken).ConfigureAwait(false);
        return workspace.Pipelines.TryGetValue(pipeline, out var definition)
            ? await DefinitionHashes.OfFilesAsync(definition.SourceFile, cancellationToken).ConfigureAwait(false)
            : null;
    }

    /// <summary>Refuses --no-wait in-process, where there is nothing to leave running.</summary>
    protected void RequireWaitingInProcess(ParseResult parseResult)
    {
        if (parseResult.GetValue(_noWait))
        {
            throw new InputException($"--no-wait needs a daemon to leave the job with: pass --server URL or set {CliOptions.ServerVariable}");
        }
    }
}
