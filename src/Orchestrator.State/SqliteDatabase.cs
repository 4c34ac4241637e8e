using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Errors;

namespace Orchestrator.State;

/// <summary>
/// One SQLite file as both stores see it: the connection settings, WAL, the busy timeout and the
/// migrations of <see cref="Schema"/>. <see cref="SqliteStateStore"/> and <see cref="SqliteJobStore"/>
/// each own one over the same file, so whichever initialises first migrates every table, and there
/// is exactly one <c>PRAGMA user_version</c> scheme.
/// </summary>
internal sealed class SqliteDatabase : IDisposable
{
    /// <summary>How long a call waits for another process's write lock before failing.</summary>
    internal static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);

    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _initializeLock = new(1, 1);
    private volatile bool _initialized;

    internal SqliteDatabase(string databasePath, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        DatabasePath = Path.GetFullPath(databasePath);
        _logger = logger;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = (int)BusyTimeout.TotalSeconds,
            ForeignKeys = true,
        }.ToString();
    }

    internal string DatabasePath { get; }

    internal static int SchemaVersion => Schema.Migrations.Count;

    /// <summary>Switches the file to WAL and applies every missing migration step; idempotent.</summary>
    /// <exception cref="UnavailableException">The file cannot be created or opened.</exception>
    /// <exception cref="JobFailedException">The file's schema version is newer than this code's, or the file is not a readable SQLite database.</exception>
    internal async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await _initializeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await MigrateAsync(cancellationToken).ConfigureAwait(false);
            _initialized = true;
        }
        catch (SqliteException exception) when (StateMaintenance.IsUnreadable(exception))
        {
            // Garbage or a truncated file fails here, at the first read of its header and schema: say which file and how back.
            throw new JobFailedException(StateMaintenance.UnreadableMessage(DatabasePath, exception.Message), exception);
        }
        finally
        {
            _initializeLock.Release();
        }
    }

    /// <summary>An open connection with the busy timeout set, after migrating the file on first use.</summary>
    internal async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        return await OpenRawAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Releases the pooled connections to the file, so it can be moved or deleted.</summary>
    public void Dispose()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        _initializeLock.Dispose();
    }

    internal static string FormatTimestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture);

    internal static bool TryParseTimestamp(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParseExact(text, TimestampFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenRawAsync(cancellationToken).ConfigureAwait(false);

        // journal_mode cannot change inside a transaction; it is a property of the file, so setting it once is enough.
        await using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            await wal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // Reading the whole schema makes a truncated or garbage file fail now, with the clear message, not at some later query.
        await using (var schema = connection.CreateCommand())
        {
            schema.CommandText = "SELECT count(*) FROM sqlite_schema;";
            await schema.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        // IMMEDIATE takes the write lock before reading user_version, so a second process waits and then sees the migrated version.
        await using var transaction = connection.BeginTransaction(deferred: false);
        long current;
        await using (var version = connection.CreateCommand())
        {
            version.Transaction = transaction;
            version.CommandText = "PRAGMA user_version;";
            current = (long)(await version.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        if (current > Schema.Migrations.Count)
        {
            throw new JobFailedException(
                $"The state database '{DatabasePath}' has schema version {current}, newer than the {Schema.Migrations.Count} this Orchestrator knows: " +
                "upgrade Orchestrator, or point it at another state file.");
        }

        for (var step = (int)current; step < Schema.Migrations.Count; step++)
        {
            await using var migration = connection.CreateCommand();
            migration.Transaction = transaction;
            // user_version takes no bound parameter; the value is our own integer, never input.
            migration.CommandText = Schema.Migrations[step] + $"\nPRAGMA user_version = {step + 1};";
            await migration.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("Migrated the state database {DatabasePath} to schema version {SchemaVersion}", DatabasePath, step + 1);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<SqliteConnection> OpenRawAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            var folder = Path.GetDirectoryName(DatabasePath);
            if (!string.IsNullOrEmpty(folder))
            {
                Directory.CreateDirectory(folder);
            }

            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = $"PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds};";
            await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new UnavailableException(
                $"Cannot open the state database '{DatabasePath}': {ex.Message}. Check that the folder exists or can be created and is writable by this user.",
                ex);
        }
    }
}
