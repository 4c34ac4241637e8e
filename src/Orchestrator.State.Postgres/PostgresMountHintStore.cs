using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using static Orchestrator.State.Postgres.PostgresRows;

namespace Orchestrator.State.Postgres;

/// <summary>
/// <see cref="IMountHintStore"/> in the <c>mount_hints</c> table of a PostgreSQL database (schema step 5), shared by every
/// process on it. As in SQLite, failures to read or write are logged and swallowed: a hint is an optimisation, and a
/// promotion must not fail because of one.
/// </summary>
public sealed partial class PostgresMountHintStore : IMountHintStore
{
    private readonly PostgresStateDatabase _database;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates a store on <paramref name="database"/> (not owned: the caller disposes it).</summary>
    public PostgresMountHintStore(PostgresStateDatabase database, TimeProvider? timeProvider = null, ILogger<PostgresMountHintStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<Digest, string>> FindAsync(string registry, IReadOnlyCollection<Digest> blobs, string excludeRepository, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        var found = new Dictionary<Digest, string>();
        if (blobs.Count == 0)
        {
            return found;
        }

        try
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            // One array parameter however many digests; newest first, so the first row per digest wins.
            await using var command = new NpgsqlCommand(
                """
                SELECT digest, repository FROM mount_hints
                WHERE registry = @registry AND repository <> @exclude AND digest = ANY(@digests)
                ORDER BY seen_at DESC;
                """,
                connection);
            Text(command, "registry", registry);
            Text(command, "exclude", excludeRepository);
            command.Parameters.Add(new NpgsqlParameter<string[]>("digests", blobs.Select(blob => blob.ToString()).Distinct().ToArray()));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                found.TryAdd(Digest.Parse(reader.GetString(0)), reader.GetString(1));
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or UnavailableException or JobFailedException or InvalidOperationException)
        {
            LogUnreadable(_logger, _database.Description, ex.Message);
        }

        return found;
    }

    /// <inheritdoc />
    public async Task RememberAsync(string registry, string repository, IReadOnlyCollection<Digest> blobs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        if (blobs.Count == 0)
        {
            return;
        }

        try
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand(
                """
                INSERT INTO mount_hints (registry, digest, repository, seen_at)
                SELECT @registry, digest, @repository, @seen_at FROM unnest(@digests) AS digest
                ON CONFLICT (registry, digest, repository) DO UPDATE SET seen_at = excluded.seen_at;
                """,
                connection);
            Text(command, "registry", registry);
            Text(command, "repository", repository);
            Text(command, "seen_at", PostgresStateDatabase.FormatTimestamp(_timeProvider.GetUtcNow()));
            command.Parameters.Add(new NpgsqlParameter<string[]>("digests", blobs.Select(blob => blob.ToString()).Distinct().ToArray()));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or UnavailableException or JobFailedException or InvalidOperationException)
        {
            LogUnwritable(_logger, _database.Description, ex.Message);
        }
    }

    /// <inheritdoc />
    public Task ForgetAsync(string registry, string repository, Digest blob, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blob);
        return ForgetAsync(registry, [new KeyValuePair<Digest, string>(blob, repository)], cancellationToken);
    }

    /// <inheritdoc />
    public async Task ForgetAsync(string registry, IReadOnlyCollection<KeyValuePair<Digest, string>> hints, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hints);
        if (hints.Count == 0)
        {
            return;
        }

        try
        {
            // One statement over two parallel arrays: every stale hint goes in one round trip and one commit.
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand(
                """
                DELETE FROM mount_hints h
                USING unnest(@digests, @repositories) AS stale(digest, repository)
                WHERE h.registry = @registry AND h.digest = stale.digest AND h.repository = stale.repository;
                """, connection);
            Text(command, "registry", registry);
            command.Parameters.Add(new NpgsqlParameter<string[]>("digests", hints.Select(h => h.Key.ToString()).ToArray()));
            command.Parameters.Add(new NpgsqlParameter<string[]>("repositories", hints.Select(h => h.Value).ToArray()));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or UnavailableException or JobFailedException or InvalidOperationException)
        {
            LogUnwritable(_logger, _database.Description, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mount hints in {Database} could not be read ({Reason}); blobs are copied instead of mounted")]
    private static partial void LogUnreadable(ILogger logger, string database, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mount hints in {Database} could not be written ({Reason}); the next promotion in a new process may copy instead of mount")]
    private static partial void LogUnwritable(ILogger logger, string database, string reason);
}
