using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;

namespace Orchestrator.State.Postgres;

/// <summary>
/// One PostgreSQL database as every PostgreSQL store sees it: a pooled <see cref="NpgsqlDataSource"/> (built with
/// <see cref="NpgsqlSlimDataSourceBuilder"/>, trim- and AOT-clean) and the migrations of <see cref="PostgresSchema"/>.
/// <see cref="PostgresStateStore"/>, <see cref="PostgresJobStore"/> and <see cref="PostgresMountHintStore"/> share one
/// instance; whichever initialises first migrates every table. Safe to use from several threads.
/// </summary>
/// <remarks>
/// Migrations run in one transaction under a transaction-level advisory lock (<see cref="MigrationLockKey"/>), so two
/// processes starting at once migrate once: the second waits, then reads the new version. The connection string and
/// the password never reach a message or a log line; <see cref="Description"/> names the server or the variable.
/// </remarks>
public sealed class PostgresStateDatabase : IAsyncDisposable
{
    /// <summary>The advisory lock key (first of the two int4 keys) this product uses; the second key says what for.</summary>
    internal const int LockClass = 0x4f524348; // "ORCH"

    /// <summary>Second key: schema migrations (transaction-level).</summary>
    internal const int MigrationLockKey = 1;

    /// <summary>Second key: the one daemon that may requeue interrupted jobs at start (session-level).</summary>
    internal const int DaemonLockKey = 2;

    /// <summary>Second key: the one replica that runs the pipeline watcher (session-level, on a dedicated connection).</summary>
    internal const int WatcherLockKey = 3;

    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _initializeLock = new(1, 1);
    private volatile bool _initialized;

    private PostgresStateDatabase(NpgsqlDataSource dataSource, string description, ILogger? logger)
    {
        _dataSource = dataSource;
        Description = description;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Where the database is, without secrets: <c>PostgreSQL host:port/database</c> or the variable's name.</summary>
    public string Description { get; }

    /// <summary>The schema version this code migrates to; the same number as the SQLite store's.</summary>
    public static int SchemaVersion => PostgresSchema.Migrations.Count;

    /// <summary>
    /// A database from <c>state: postgres:</c>: the password (or the whole connection string) is read from the
    /// variable the settings name, through <paramref name="getEnvironmentVariable"/> (the process environment by default).
    /// </summary>
    /// <exception cref="InputException">A named variable is unset or empty, or the connection string in it does not parse; the message names the variable, never its value.</exception>
    public static PostgresStateDatabase Create(PostgresSettings settings, ILogger? logger = null, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var lookup = getEnvironmentVariable ?? Environment.GetEnvironmentVariable;
        NpgsqlConnectionStringBuilder builder;
        if (settings.ConnectionStringEnv is { } connectionVariable)
        {
            var text = lookup(connectionVariable);
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new InputException(
                    $"The environment variable {connectionVariable} (state: postgres: connection-string-env) is unset or empty: " +
                    $"export it with an Npgsql connection string, e.g. {connectionVariable}='Host=127.0.0.1;Port=5432;Database=orchestrator;Username=orchestrator;Password=…'.");
            }

            try
            {
                builder = new NpgsqlConnectionStringBuilder(text);
            }
            catch (ArgumentException)
            {
                // The parser's message may quote the string, password and all: say only which variable is wrong.
                throw new InputException(
                    $"The environment variable {connectionVariable} does not hold a valid Npgsql connection string: " +
                    "write it as Key=Value pairs separated by ';' (Host, Port, Database, Username, Password).");
            }
        }
        else
        {
            builder = new NpgsqlConnectionStringBuilder
            {
                Host = settings.Host,
                Port = settings.Port,
                Database = settings.Database,
                Username = settings.Username,
            };
            if (settings.PasswordEnv is { } passwordVariable)
            {
                var password = lookup(passwordVariable);
                if (string.IsNullOrEmpty(password))
                {
                    throw new InputException(
                        $"The environment variable {passwordVariable} (state: postgres: password-env) is unset or empty: export the password of role '{settings.Username}' in it.");
                }

                builder.Password = password;
            }
        }

        return FromConnectionString(builder, settings.Describe(), logger);
    }

    /// <summary>A database from a whole connection string (tests, tools); <paramref name="description"/> is what messages show.</summary>
    public static PostgresStateDatabase FromConnectionString(string connectionString, string description, ILogger? logger = null) =>
        FromConnectionString(new NpgsqlConnectionStringBuilder(connectionString), description, logger);

    private static PostgresStateDatabase FromConnectionString(NpgsqlConnectionStringBuilder builder, string description, ILogger? logger)
    {
        // Identifies our sessions in pg_stat_activity; never part of a message.
        builder.ApplicationName ??= "orchestrator";
        // Arrays: validation results are read for many validations at once (validation_id = ANY(@ids)).
        var dataSource = new NpgsqlSlimDataSourceBuilder(builder.ConnectionString).EnableArrays().Build();
        return new PostgresStateDatabase(dataSource, description, logger);
    }

    /// <summary>Applies every missing migration step; idempotent, and safe when several processes start at once.</summary>
    /// <exception cref="UnavailableException">The server cannot be reached or refuses the login.</exception>
    /// <exception cref="JobFailedException">The database's schema version is newer than this code's.</exception>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _initializeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_initialized)
            {
                await MigrateAsync(cancellationToken).ConfigureAwait(false);
                _initialized = true;
            }
        }
        finally
        {
            _initializeLock.Release();
        }
    }

    /// <summary>
    /// Takes the session-level advisory lock that makes this process the one daemon that owns the queue's restart
    /// (it requeues jobs left Running); the lock lasts until the returned handle is disposed or the session ends.
    /// Null when another process holds it. The PostgreSQL form of the SQLite store's <c>state.db.daemon.lock</c> file.
    /// </summary>
    /// <exception cref="UnavailableException">The server cannot be reached.</exception>
    public async Task<IAsyncDisposable?> TryLockDaemonAsync(CancellationToken cancellationToken = default) =>
        await TrySessionLockAsync(DaemonLockKey, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Takes the session-level advisory lock of the pipeline watcher (one replica at a time runs it), on a connection
    /// of its own that the handle keeps open; null when another process holds it. The lock ends with the handle, the
    /// session or the process, so a replica that dies hands the watcher to whichever replica tries next.
    /// </summary>
    /// <exception cref="UnavailableException">The server cannot be reached.</exception>
    public Task<Core.Ports.IHeldLock?> TryLockWatcherAsync(CancellationToken cancellationToken = default) =>
        TrySessionLockAsync(WatcherLockKey, cancellationToken);

    private async Task<Core.Ports.IHeldLock?> TrySessionLockAsync(int key, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(@class, @key);", connection);
            command.Parameters.AddWithValue("class", LockClass);
            command.Parameters.AddWithValue("key", key);
            if ((bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                return new SessionLock(connection, key);
            }
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        await connection.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    /// <summary>An open connection, after migrating the database on first use.</summary>
    /// <exception cref="UnavailableException">The server cannot be reached or refuses the login.</exception>
    internal async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        return await OpenRawAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes every pooled connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _initializeLock.Dispose();
    }

    internal static string FormatTimestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture);

    internal static bool TryParseTimestamp(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParseExact(text, TimestampFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenRawAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = new NpgsqlCommand(
            """
            SELECT pg_advisory_xact_lock(@class, @key);
            CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);
            INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version);
            """,
            connection,
            transaction))
        {
            command.Parameters.AddWithValue("class", LockClass);
            command.Parameters.AddWithValue("key", MigrationLockKey);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        int current;
        await using (var version = new NpgsqlCommand("SELECT version FROM schema_version;", connection, transaction))
        {
            current = (int)(await version.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        if (current > PostgresSchema.Migrations.Count)
        {
            throw new JobFailedException(
                $"The state database {Description} has schema version {current}, newer than the {PostgresSchema.Migrations.Count} this Orchestrator knows: " +
                "upgrade Orchestrator, or point it at another database.");
        }

        for (var step = current; step < PostgresSchema.Migrations.Count; step++)
        {
            await using var migration = new NpgsqlCommand(PostgresSchema.Migrations[step] + "\nUPDATE schema_version SET version = @version;", connection, transaction);
            migration.Parameters.AddWithValue("version", step + 1);
            await migration.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("Migrated the state database {Database} to schema version {SchemaVersion}", Description, step + 1);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<NpgsqlConnection> OpenRawAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // Npgsql's messages name the server and the failure (refused, no such role, bad password), never the password.
            throw new UnavailableException(
                $"Cannot open the state database {Description}: {ex.Message}. Check that PostgreSQL runs and accepts this role " +
                "(scripts/setup-postgres starts a local one), and that the password variable is set.",
                ex);
        }
    }

    private sealed class SessionLock(NpgsqlConnection connection, int key) : Core.Ports.IHeldLock
    {
        private int _disposed;

        public async Task<bool> IsHeldAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                // This session's own lock rows: gone when the session was ended (server restart, terminated backend).
                await using var command = new NpgsqlCommand(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = @class::oid AND objid = @key::oid AND objsubid = 2 AND granted;",
                    connection);
                command.Parameters.AddWithValue("class", (long)LockClass);
                command.Parameters.AddWithValue("key", (long)key);
                return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! == 1;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
            {
                return false;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            try
            {
                await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock(@class, @key);", connection);
                command.Parameters.AddWithValue("class", LockClass);
                command.Parameters.AddWithValue("key", key);
                await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
            {
                // A broken session has already dropped its advisory locks.
            }

            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
