using Microsoft.Data.Sqlite;

namespace Orchestrator.State;

/// <summary>
/// A token that moves whenever anything is committed to the SQLite file by any connection: this process's
/// pooled ones or another process's (a second daemon, an in-process CLI run). Read with SQLite's
/// <c>PRAGMA data_version</c> (https://sqlite.org/pragma.html#pragma_data_version) on one connection kept
/// open for nothing else: its value changes when another connection commits, and since this one never
/// writes, every commit is another connection's.
/// </summary>
/// <remarks>
/// Why not <c>max(id)</c> as <see cref="SqliteStateStore.GetChangeTokenAsync"/> does: jobs are rewritten in
/// place (claimed, completed, cancelled, requeued), so the highest id says nothing about a state change, and a
/// per-row "updated" counter would need a schema step and a trigger. The price of this token is that any commit
/// moves it (a job's log line, a build record), so a cached view is rebuilt a little more often than needed;
/// it never stays put while a job changed. One read costs a lock and one pragma on an open connection, no pool
/// round trip. The value only means something on the connection it came from, so the token also carries a
/// number unique to that connection (process-wide), and a reopened connection can never repeat an old token.
/// </remarks>
internal sealed class SqliteDataVersion : IDisposable
{
    private static long s_connections;

    private readonly SqliteDatabase _database;
    private readonly Lock _gate = new();
    private SqliteConnection? _connection;
    private SqliteCommand? _command;
    private long _connectionNumber;
    private long _lastVersion = -1;
    private string? _lastToken;
    private bool _disposed;

    internal SqliteDataVersion(SqliteDatabase database) => _database = database;

    /// <summary>
    /// <c>CONNECTION.VERSION</c>, equal to the previous answer exactly when nothing was committed to the file
    /// since; null when the file cannot be read now (the caller then caches nothing).
    /// </summary>
    /// <exception cref="ObjectDisposedException">Called after <see cref="Dispose"/>.</exception>
    internal async Task<string?> ReadAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _command) is null)
        {
            await OpenAsync(cancellationToken).ConfigureAwait(false);
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_command is null)
            {
                return null;
            }

            try
            {
                var version = (long)_command.ExecuteScalar()!;
                if (version != _lastVersion)
                {
                    _lastVersion = version;
                    _lastToken = $"{_connectionNumber}.{version}";
                }

                return _lastToken;
            }
            catch (SqliteException)
            {
                // A broken connection says nothing; the next read opens a new one, under a new number.
                Close();
                return null;
            }
        }
    }

    /// <summary>Closes the connection, so the file can be moved or deleted.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Close();
        }
    }

    private async Task OpenAsync(CancellationToken cancellationToken)
    {
        SqliteConnection connection;
        try
        {
            connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Orchestrator.Core.Errors.UnavailableException)
        {
            // Not readable now: the read answers null; the caller's own query reports the error properly.
            return;
        }

        lock (_gate)
        {
            if (_command is null && !_disposed)
            {
                _connection = connection;
                _command = connection.CreateCommand();
                _command.CommandText = "PRAGMA data_version;";
                _connectionNumber = Interlocked.Increment(ref s_connections);
                _lastVersion = -1;
                return;
            }
        }

        // Another caller opened one first (or the store is closing): this one is not needed.
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    private void Close()
    {
        _command?.Dispose();
        _command = null;
        _connection?.Dispose();
        _connection = null;
    }
}
