using Npgsql;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using static Orchestrator.State.Postgres.PostgresRows;

namespace Orchestrator.State.Postgres;

/// <summary>
/// <see cref="IReplicaRegistry"/> in the <c>replicas</c> table of a PostgreSQL database (schema step 8), joined to the
/// <c>jobs</c> table's leases (<c>lease_owner</c> is the replica id). The watcher lock is a session-level advisory lock
/// (<see cref="PostgresStateDatabase.TryLockWatcherAsync"/>). Times come from the <see cref="TimeProvider"/>.
/// </summary>
public sealed class PostgresReplicaRegistry : IReplicaRegistry
{
    private readonly PostgresStateDatabase _database;
    private readonly TimeProvider _timeProvider;

    /// <summary>A registry on <paramref name="database"/> (not owned).</summary>
    public PostgresReplicaRegistry(PostgresStateDatabase database, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public async Task RegisterAsync(ReplicaRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO replicas (id, host, pid, urls, version, started_at, last_heartbeat_at, expires_at, holds_watcher)
            VALUES (@id, @host, @pid, @urls, @version, @now, @now, @now, false)
            ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, urls = excluded.urls, version = excluded.version,
                started_at = excluded.started_at, last_heartbeat_at = excluded.last_heartbeat_at, expires_at = excluded.expires_at, holds_watcher = false;
            """,
            connection);
        Text(command, "id", registration.Id);
        Text(command, "host", registration.Host);
        Integer(command, "pid", registration.Pid);
        Text(command, "urls", registration.Urls);
        Text(command, "version", registration.Version);
        Text(command, "now", PostgresStateDatabase.FormatTimestamp(_timeProvider.GetUtcNow()));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> HeartbeatAsync(string id, bool holdsWatcher, TimeSpan expiresAfter, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var now = _timeProvider.GetUtcNow();
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            "UPDATE replicas SET last_heartbeat_at = @now, expires_at = @expires, holds_watcher = @watcher WHERE id = @id;", connection);
        Text(command, "id", id);
        Text(command, "now", PostgresStateDatabase.FormatTimestamp(now));
        Text(command, "expires", PostgresStateDatabase.FormatTimestamp(now + expiresAfter));
        Boolean(command, "watcher", holdsWatcher);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async Task MarkStoppedAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("UPDATE replicas SET expires_at = @now, holds_watcher = false WHERE id = @id;", connection);
        Text(command, "id", id);
        Text(command, "now", PostgresStateDatabase.FormatTimestamp(_timeProvider.GetUtcNow()));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ReplicaRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var leases = new Dictionary<string, List<ReplicaLease>>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand(
            "SELECT lease_owner, id, kind, pipeline, stage, lease_expires_at FROM jobs WHERE state = 'Running' AND lease_owner IS NOT NULL ORDER BY id;", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var jobId = reader.GetInt64(1);
                var kind = Enum.TryParse<JobKind>(reader.GetString(2), out var parsed) ? parsed : throw Corrupt("jobs", jobId, $"'{reader.GetString(2)}' is not a JobKind");
                var lease = new ReplicaLease(
                    jobId, kind, reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.IsDBNull(5) ? null : ParseTimestamp(reader.GetString(5), "jobs", jobId));
                var owner = reader.GetString(0);
                if (!leases.TryGetValue(owner, out var list))
                {
                    leases[owner] = list = [];
                }

                list.Add(lease);
            }
        }

        var replicas = new List<ReplicaRecord>();
        await using (var command = new NpgsqlCommand(
            "SELECT id, host, pid, urls, version, started_at, last_heartbeat_at, expires_at, holds_watcher FROM replicas ORDER BY started_at DESC, id;", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            var row = 0L;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                row++;
                var id = reader.GetString(0);
                replicas.Add(new ReplicaRecord(
                    new ReplicaRegistration(id, reader.GetString(1), reader.GetInt32(2), reader.GetString(3), reader.GetString(4)),
                    ParseTimestamp(reader.GetString(5), "replicas", row),
                    ParseTimestamp(reader.GetString(6), "replicas", row),
                    ParseTimestamp(reader.GetString(7), "replicas", row),
                    reader.GetBoolean(8),
                    leases.TryGetValue(id, out var held) ? held : []));
            }
        }

        return replicas;
    }

    /// <inheritdoc />
    public Task<IHeldLock?> TryLockWatcherAsync(CancellationToken cancellationToken = default) => _database.TryLockWatcherAsync(cancellationToken);
}
