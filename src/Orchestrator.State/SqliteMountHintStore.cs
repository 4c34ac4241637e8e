using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.State;

/// <summary>
/// <see cref="IMountHintStore"/> in the <c>mount_hints</c> table of the state file (schema step 5), shared by every
/// process on that file. Failures to read or write are logged and swallowed: a hint is an optimisation, and a
/// promotion must not fail because of one.
/// </summary>
public sealed partial class SqliteMountHintStore : IMountHintStore, IDisposable
{
    // SQLite allows 32,766 bound parameters; a few hundred digests per lookup keeps statements small.
    private const int LookupBatch = 200;

    private readonly SqliteDatabase _database;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates a store on <paramref name="databasePath"/> (the state file); it is migrated on first use.</summary>
    public SqliteMountHintStore(string databasePath, TimeProvider? timeProvider = null, ILogger<SqliteMountHintStore>? logger = null)
    {
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _database = new SqliteDatabase(databasePath, _logger);
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<Digest, string>> FindAsync(string registry, IReadOnlyCollection<Digest> blobs, string excludeRepository, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        var found = new Dictionary<Digest, string>();
        try
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            foreach (var batch in blobs.Distinct().Chunk(LookupBatch))
            {
                await using var command = connection.CreateCommand();
                var names = batch.Select((_, i) => $"$d{i}").ToList();
                // Newest first, so the first row per digest wins: the repository most recently seen holding it.
                command.CommandText = $"""
                    SELECT digest, repository FROM mount_hints
                    WHERE registry = $registry AND repository <> $exclude AND digest IN ({string.Join(", ", names)})
                    ORDER BY seen_at DESC;
                    """;
                command.Parameters.AddWithValue("$registry", registry);
                command.Parameters.AddWithValue("$exclude", excludeRepository);
                for (var i = 0; i < batch.Length; i++)
                {
                    command.Parameters.AddWithValue(names[i], batch[i].ToString());
                }

                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    found.TryAdd(Digest.Parse(reader.GetString(0)), reader.GetString(1));
                }
            }
        }
        catch (Exception ex) when (ex is SqliteException or UnavailableException or JobFailedException or InvalidOperationException)
        {
            LogUnreadable(_logger, _database.DatabasePath, ex.Message);
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
            await using var transaction = connection.BeginTransaction(deferred: false);
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO mount_hints (registry, digest, repository, seen_at) VALUES ($registry, $digest, $repository, $seen_at)
                ON CONFLICT (registry, digest, repository) DO UPDATE SET seen_at = excluded.seen_at;
                """;
            var digest = command.Parameters.Add("$digest", SqliteType.Text);
            command.Parameters.AddWithValue("$registry", registry);
            command.Parameters.AddWithValue("$repository", repository);
            command.Parameters.AddWithValue("$seen_at", SqliteDatabase.FormatTimestamp(_timeProvider.GetUtcNow()));
            foreach (var blob in blobs.Distinct())
            {
                digest.Value = blob.ToString();
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SqliteException or UnavailableException or JobFailedException or InvalidOperationException)
        {
            LogUnwritable(_logger, _database.DatabasePath, ex.Message);
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
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = connection.BeginTransaction(deferred: false);
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM mount_hints WHERE registry = $registry AND digest = $digest AND repository = $repository;";
            command.Parameters.AddWithValue("$registry", registry);
            var digest = command.Parameters.Add("$digest", SqliteType.Text);
            var repository = command.Parameters.Add("$repository", SqliteType.Text);
            foreach (var (blob, holder) in hints)
            {
                digest.Value = blob.ToString();
                repository.Value = holder;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SqliteException or UnavailableException or JobFailedException or InvalidOperationException)
        {
            LogUnwritable(_logger, _database.DatabasePath, ex.Message);
        }
    }

    /// <summary>Releases the pooled connections to the file.</summary>
    public void Dispose() => _database.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mount hints in {Path} could not be read ({Reason}); blobs are copied instead of mounted")]
    private static partial void LogUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mount hints in {Path} could not be written ({Reason}); the next promotion in a new process may copy instead of mount")]
    private static partial void LogUnwritable(ILogger logger, string path, string reason);
}
