using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Composition;
using Orchestrator.Core.Workflows;
using Orchestrator.State;

namespace Orchestrator.Cli.Verbs;

/// <summary><c>orchestrator state …</c>: the state store's health and backups.</summary>
internal sealed class StateCommand : Command
{
    public StateCommand(CliConsole console)
        : base("state", "Check the state store (state.path in orchestrator.yaml) or back it up")
    {
        Subcommands.Add(new StateCheckCommand(console));
        Subcommands.Add(new StateBackupCommand(console));
    }

    /// <summary>The state file the config names; only orchestrator.yaml is needed, not the engine or registries.</summary>
    /// <exception cref="Core.Errors.InputException">The state lives in PostgreSQL (<c>state: postgres</c>): these verbs work on the SQLite file only.</exception>
    internal static async Task<string> StatePathAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var config = (await CliServices.LoadWorkspaceAsync(parseResult.GetValue(CliOptions.Config), cancellationToken).ConfigureAwait(false)).Config;
        if (config.Postgres is { } postgres)
        {
            // Both verbs are SQLite's own tools (integrity_check, the online backup API); PostgreSQL has better ones.
            throw new Core.Errors.InputException(
                $"'orchestrator state {parseResult.CommandResult.Command.Name}' works on the SQLite state file, but {config.SourceFile} keeps the state in {postgres.Describe()}: " +
                "back it up with pg_dump (e.g. 'pg_dump -Fc -f state.dump orchestrator') and check it with PostgreSQL's amcheck (pg_amcheck).");
        }

        return config.StatePath;
    }
}

/// <summary>
/// <c>orchestrator state check</c>: SQLite's <c>PRAGMA integrity_check</c> plus the schema version and tables.
/// Prints ok (exit 0) or every problem (exit 1); never writes to the store.
/// </summary>
internal sealed class StateCheckCommand : VerbCommand
{
    public StateCheckCommand(CliConsole console)
        : base("check", "Run SQLite's integrity check and a schema check on the state store; exit 0 when sound, 1 with the problems", console)
    {
    }

    protected override bool NeedsServices => false;

    protected override Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    protected override async Task<int> ExecuteWithoutServicesAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var result = await StateMaintenance.CheckAsync(await StateCommand.StatePathAsync(parseResult, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        var lines = result.Ok
            ? [$"ok: {result.Path} (schema version {result.SchemaVersion})"]
            : new[] { $"{result.Path} has {result.Problems.Count} problem(s):" }
                .Concat(result.Problems.Select(p => "  " + p))
                .Append($"restore a backup made with 'orchestrator state backup FILE' over it, or move it aside to start with an empty store")
                .ToArray();
        WriteResult(parseResult, new StateCheckDocument(result.Path, result.Ok, result.SchemaVersion, result.Problems), ResultJsonContext.Default.StateCheckDocument, lines);
        return result.Ok ? 0 : Core.Errors.ExitCodes.JobFailed;
    }
}

/// <summary>
/// <c>orchestrator state backup FILE [--force]</c>: an online copy through SQLite's backup API, safe while a
/// daemon runs; refuses to overwrite FILE unless --force.
/// </summary>
internal sealed class StateBackupCommand : VerbCommand
{
    private readonly Argument<FileInfo> _file = new("file") { Description = "Where to write the backup (a new file unless --force)" };

    private readonly Option<bool> _force = new("--force") { Description = "Overwrite FILE if it exists" };

    public StateBackupCommand(CliConsole console)
        : base("backup", "Copy the state store to FILE with SQLite's online backup (safe while the daemon runs)", console)
    {
        Arguments.Add(_file);
        Options.Add(_force);
    }

    protected override bool NeedsServices => false;

    protected override Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    protected override async Task<int> ExecuteWithoutServicesAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var source = await StateCommand.StatePathAsync(parseResult, cancellationToken).ConfigureAwait(false);
        var target = parseResult.GetRequiredValue(_file).FullName;
        var bytes = await StateMaintenance.BackupAsync(source, target, parseResult.GetValue(_force), cancellationToken).ConfigureAwait(false);
        WriteResult(parseResult, new StateBackupDocument(Path.GetFullPath(source), target, bytes), ResultJsonContext.Default.StateBackupDocument,
            $"backed up {Path.GetFullPath(source)} to {target} ({bytes / 1024.0 / 1024.0:0.00} MiB); restore by copying it over the state file while no daemon runs");
        return 0;
    }
}
