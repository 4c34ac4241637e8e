using Microsoft.Data.Sqlite;
using Orchestrator.Core.Errors;

namespace Orchestrator.State;

/// <summary>What <see cref="StateMaintenance.CheckAsync"/> found: no problems means the store is sound.</summary>
/// <param name="Path">The absolute path of the state file.</param>
/// <param name="SchemaVersion">Its <c>PRAGMA user_version</c>, or null when it could not be read.</param>
/// <param name="Problems">SQLite's integrity_check lines and schema problems, empty when all is well.</param>
public sealed record StateCheckResult(string Path, long? SchemaVersion, IReadOnlyList<string> Problems)
{
    public bool Ok => Problems.Count == 0;
}

/// <summary>
/// <c>orchestrator state check</c> and <c>state backup</c> over the SQLite state file: SQLite's own
/// integrity check plus a schema check, and an online copy through SQLite's backup API
/// (https://www.sqlite.org/backup.html), consistent even while a daemon writes.
/// </summary>
public static class StateMaintenance
{
    /// <summary>The tables every migrated store has; one missing means the file is not (all of) a state store.</summary>
    internal static readonly IReadOnlyList<string> Tables = ["builds", "validations", "validation_results", "promotions", "jobs", "job_log"];

    /// <summary>SQLITE_CORRUPT and SQLITE_NOTADB: the file's bytes are not a database SQLite can read.</summary>
    internal static bool IsUnreadable(SqliteException exception) => exception.SqliteErrorCode is 11 or 26;

    /// <summary>The message for a state file SQLite cannot read: which file, what SQLite said, and the two ways back.</summary>
    public static string UnreadableMessage(string path, string sqliteMessage) =>
        $"'{path}' is not a readable state store (SQLite: {sqliteMessage}). To recover, either restore a backup made with " +
        $"'orchestrator state backup FILE' by copying it over '{path}', or move the file aside (e.g. mv '{path}' '{path}.corrupt') " +
        "to start with an empty store; 'orchestrator state check' shows what is wrong";

    /// <summary>Runs <c>PRAGMA integrity_check</c> and checks the schema version and tables. Never writes.</summary>
    /// <exception cref="InputException">There is no file at <paramref name="path"/>.</exception>
    public static async Task<StateCheckResult> CheckAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new InputException($"there is no state store at '{full}': nothing to check (state.path in orchestrator.yaml names it)");
        }

        var problems = new List<string>();
        long? version = null;
        await using var connection = new SqliteConnection(ConnectionString(full, SqliteOpenMode.ReadOnly));
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (var integrity = connection.CreateCommand())
            {
                integrity.CommandText = "PRAGMA integrity_check;";
                await using var reader = await integrity.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var line = reader.GetString(0);
                    if (line != "ok")
                    {
                        problems.Add(line);
                    }
                }
            }

            await using (var userVersion = connection.CreateCommand())
            {
                userVersion.CommandText = "PRAGMA user_version;";
                version = (long)(await userVersion.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }

            if (version > Schema.Migrations.Count)
            {
                problems.Add($"schema version {version} is newer than the {Schema.Migrations.Count} this Orchestrator knows: upgrade Orchestrator");
            }
            else if (version == 0)
            {
                problems.Add("schema version 0: the file has never been migrated, so it holds no state (an empty or foreign SQLite file)");
            }

            if (version > 0)
            {
                await using var tables = connection.CreateCommand();
                tables.CommandText = "SELECT name FROM sqlite_schema WHERE type = 'table';";
                var present = new HashSet<string>(StringComparer.Ordinal);
                await using var reader = await tables.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    present.Add(reader.GetString(0));
                }

                problems.AddRange(Tables.Where(t => !present.Contains(t)).Select(t => $"table '{t}' is missing"));
            }
        }
        catch (SqliteException exception)
        {
            problems.Add(IsUnreadable(exception) ? $"not a readable SQLite database: {exception.Message}" : $"SQLite could not read it: {exception.Message}");
        }

        return new StateCheckResult(full, version, problems);
    }

    /// <summary>
    /// Copies the state at <paramref name="source"/> to <paramref name="target"/> with SQLite's online backup
    /// API: a consistent snapshot even while a daemon writes. Writes to a temporary file beside the target and
    /// renames it, so a failed backup never leaves a half-written <paramref name="target"/>. Returns the target's
    /// size in bytes.
    /// </summary>
    /// <exception cref="InputException">No state at <paramref name="source"/>, or <paramref name="target"/> exists and <paramref name="force"/> is false.</exception>
    /// <exception cref="JobFailedException">The source is not a readable state store.</exception>
    public static async Task<long> BackupAsync(string source, string target, bool force, CancellationToken cancellationToken = default)
    {
        var from = Path.GetFullPath(source);
        var to = Path.GetFullPath(target);
        if (!File.Exists(from))
        {
            throw new InputException($"there is no state store at '{from}' to back up (state.path in orchestrator.yaml names it)");
        }

        if (string.Equals(from, to, StringComparison.Ordinal))
        {
            throw new InputException($"the backup file '{to}' is the state store itself: give another path");
        }

        if (File.Exists(to) && !force)
        {
            throw new InputException($"'{to}' already exists: give a new file name, or pass --force to overwrite it");
        }

        var folder = Path.GetDirectoryName(to)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(to)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var sourceConnection = new SqliteConnection(ConnectionString(from, SqliteOpenMode.ReadOnly)))
            await using (var targetConnection = new SqliteConnection(ConnectionString(temporary, SqliteOpenMode.ReadWriteCreate)))
            {
                await sourceConnection.OpenAsync(cancellationToken).ConfigureAwait(false);
                await targetConnection.OpenAsync(cancellationToken).ConfigureAwait(false);
                sourceConnection.BackupDatabase(targetConnection);

                // The copy is a plain rollback-journal file: one self-contained file, no -wal beside it to lose.
                await using var journal = targetConnection.CreateCommand();
                journal.CommandText = "PRAGMA journal_mode = DELETE;";
                await journal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            SqliteConnection.ClearAllPools();
            File.Move(temporary, to, overwrite: force);
            return new FileInfo(to).Length;
        }
        catch (SqliteException exception) when (IsUnreadable(exception))
        {
            throw new JobFailedException(UnreadableMessage(from, exception.Message), exception);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                SqliteConnection.ClearAllPools();
                File.Delete(temporary);
            }
        }
    }

    private static string ConnectionString(string path, SqliteOpenMode mode) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = mode,
        Pooling = false,
        DefaultTimeout = (int)SqliteDatabase.BusyTimeout.TotalSeconds,
    }.ToString();
}
