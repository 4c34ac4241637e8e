using Npgsql;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using static Orchestrator.State.Postgres.PostgresRows;

namespace Orchestrator.State.Postgres;

/// <summary>
/// <see cref="IStateStore"/> in a PostgreSQL database (Npgsql): the same records, ordering and errors as the SQLite
/// store, checked by the same contract tests. Each call takes a pooled connection and returns it, so an instance is
/// safe to use from several threads and several processes may share the database.
/// </summary>
/// <remarks>
/// Storage as in SQLite (see <see cref="PostgresSchema"/>): digests and references as canonical text, timestamps as
/// ISO-8601 UTC text with 7 fraction digits, durations in whole milliseconds, tags as JSON arrays, one row per test
/// result. "Newest" means the latest <c>At</c>, and for equal <c>At</c> the record added last.
/// </remarks>
public sealed class PostgresStateStore : IStateStore
{
    private const string BuildColumns = "id, subject, kind, stage, reference, tags, version, base_digest, actor, at, duration_ms, cache_key";
    private const string ValidationColumns = "id, pipeline, stage, reference, passed, actor, at, duration_ms";

    private readonly PostgresStateDatabase _database;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates a store on <paramref name="database"/> (not owned: the caller disposes it); nothing is opened until the first call.</summary>
    /// <param name="database">The database, shared with the job and mount hint stores.</param>
    /// <param name="timeProvider">The clock for each row's <c>recorded_at</c>; <see cref="TimeProvider.System"/> by default.</param>
    public PostgresStateStore(PostgresStateDatabase database, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    /// <exception cref="UnavailableException">The server cannot be reached.</exception>
    /// <exception cref="JobFailedException">The database was migrated by a newer Orchestrator.</exception>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The record's reference is not pinned to a digest.</exception>
    public async Task<long> RecordBuildAsync(BuildRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var digest = RequireDigest(record.Reference, nameof(record));
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO builds (subject, kind, stage, reference, digest, tags, version, base_digest, actor, at, duration_ms, recorded_at, cache_key)
            VALUES (@subject, @kind, @stage, @reference, @digest, @tags, @version, @base_digest, @actor, @at, @duration_ms, @recorded_at, @cache_key)
            RETURNING id;
            """,
            connection);
        Text(command, "subject", record.Subject);
        Text(command, "kind", record.Kind);
        Text(command, "stage", record.Stage);
        Text(command, "reference", record.Reference.ToString());
        Text(command, "digest", digest.ToString());
        Text(command, "tags", Tags(record.Tags));
        Text(command, "version", record.Version);
        Text(command, "base_digest", record.BaseDigest?.ToString());
        Text(command, "actor", record.Actor);
        Text(command, "at", PostgresStateDatabase.FormatTimestamp(record.At));
        Bigint(command, "duration_ms", ToMilliseconds(record.Duration));
        Text(command, "recorded_at", PostgresStateDatabase.FormatTimestamp(_timeProvider.GetUtcNow()));
        Text(command, "cache_key", record.CacheKey?.ToString());
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    /// <remarks>The validation and all its test results are written in one transaction.</remarks>
    /// <exception cref="ArgumentException">The record's reference is not pinned to a digest.</exception>
    public async Task<long> RecordValidationAsync(ValidationRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var digest = RequireDigest(record.Reference, nameof(record));
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        long id;
        await using (var command = new NpgsqlCommand(
            """
            INSERT INTO validations (pipeline, stage, reference, digest, passed, actor, at, duration_ms, recorded_at)
            VALUES (@pipeline, @stage, @reference, @digest, @passed, @actor, @at, @duration_ms, @recorded_at)
            RETURNING id;
            """,
            connection,
            transaction))
        {
            Text(command, "pipeline", record.Pipeline);
            Text(command, "stage", record.Stage);
            Text(command, "reference", record.Reference.ToString());
            Text(command, "digest", digest.ToString());
            Boolean(command, "passed", record.Passed);
            Text(command, "actor", record.Actor);
            Text(command, "at", PostgresStateDatabase.FormatTimestamp(record.At));
            Bigint(command, "duration_ms", ToMilliseconds(record.Duration));
            Text(command, "recorded_at", PostgresStateDatabase.FormatTimestamp(_timeProvider.GetUtcNow()));
            id = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        // One batch for every result: a single round trip however many tests the validation ran.
        if (record.Results.Count > 0)
        {
            await using var batch = new NpgsqlBatch(connection, transaction);
            for (var i = 0; i < record.Results.Count; i++)
            {
                var result = record.Results[i];
                var insert = new NpgsqlBatchCommand(
                    "INSERT INTO validation_results (validation_id, ordinal, kind, name, passed, detail, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7);");
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
                insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = i });
                insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = result.Kind });
                insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = result.Name });
                insert.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = result.Passed });
                insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = result.Detail });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = ToMilliseconds(result.Duration) });
                batch.BatchCommands.Add(insert);
            }

            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return id;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The record's target is not pinned to a digest.</exception>
    public async Task<long> RecordPromotionAsync(PromotionRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var digest = RequireDigest(record.Target, nameof(record));
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO promotions (pipeline, from_stage, to_stage, source, target, digest, tags, validation_id, actor, at, bytes_copied, blobs_copied, blobs_skipped, recorded_at)
            VALUES (@pipeline, @from_stage, @to_stage, @source, @target, @digest, @tags, @validation_id, @actor, @at, @bytes_copied, @blobs_copied, @blobs_skipped, @recorded_at)
            RETURNING id;
            """,
            connection);
        Text(command, "pipeline", record.Pipeline);
        Text(command, "from_stage", record.FromStage);
        Text(command, "to_stage", record.ToStage);
        Text(command, "source", record.Source.ToString());
        Text(command, "target", record.Target.ToString());
        Text(command, "digest", digest.ToString());
        Text(command, "tags", Tags(record.Tags));
        Bigint(command, "validation_id", record.ValidationId);
        Text(command, "actor", record.Actor);
        Text(command, "at", PostgresStateDatabase.FormatTimestamp(record.At));
        Bigint(command, "bytes_copied", record.BytesCopied);
        Integer(command, "blobs_copied", record.BlobsCopied);
        Integer(command, "blobs_skipped", record.BlobsSkipped);
        Text(command, "recorded_at", PostgresStateDatabase.FormatTimestamp(_timeProvider.GetUtcNow()));
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    /// <remarks>The highest id of each record table, as in SQLite: records are never rewritten, and ids only grow.</remarks>
    public async Task<string?> GetChangeTokenAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            "SELECT (SELECT coalesce(max(id), 0) FROM builds) || '.' || (SELECT coalesce(max(id), 0) FROM validations) || '.' || (SELECT coalesce(max(id), 0) FROM promotions);",
            connection);
        return (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<BuildRecord?> GetLatestBuildAsync(string subject, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subject);
        var builds = await ListBuildsAsync(subject, 1, cancellationToken).ConfigureAwait(false);
        return builds.Count == 0 ? null : builds[0];
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive.</exception>
    public async Task<IReadOnlyList<BuildRecord>> ListBuildsAsync(string? subject = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            $"SELECT {BuildColumns} FROM builds WHERE @subject::text IS NULL OR subject = @subject ORDER BY at DESC, id DESC LIMIT @limit;", connection);
        Text(command, "subject", subject);
        Integer(command, "limit", limit);
        return await ReadBuildsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<BuildRecord?> FindBuildByCacheKeyAsync(string subject, Digest cacheKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(cacheKey);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            $"SELECT {BuildColumns} FROM builds WHERE subject = @subject AND cache_key = @cache_key ORDER BY at DESC, id DESC LIMIT 1;", connection);
        Text(command, "subject", subject);
        Text(command, "cache_key", cacheKey.ToString());
        var builds = await ReadBuildsAsync(command, cancellationToken).ConfigureAwait(false);
        return builds.Count == 0 ? null : builds[0];
    }

    /// <inheritdoc />
    /// <remarks>
    /// The NEWEST validation of <paramref name="digest"/> for <paramref name="pipeline"/> decides, as in SQLite: a later
    /// failure revokes an earlier pass; validations of the same digest for another pipeline never count.
    /// </remarks>
    public async Task<ValidationRecord?> FindPassingValidationAsync(string pipeline, Digest digest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(digest);
        var validations = await ReadValidationsAsync(
            $"SELECT {ValidationColumns} FROM validations WHERE pipeline = @pipeline AND digest = @digest ORDER BY at DESC, id DESC LIMIT 1;",
            command =>
            {
                Text(command, "pipeline", pipeline);
                Text(command, "digest", digest.ToString());
            },
            cancellationToken).ConfigureAwait(false);
        return validations is [{ Passed: true } newest] ? newest : null;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive.</exception>
    public Task<IReadOnlyList<ValidationRecord>> ListValidationsAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return ReadValidationsAsync(
            $"SELECT {ValidationColumns} FROM validations WHERE @pipeline::text IS NULL OR pipeline = @pipeline ORDER BY at DESC, id DESC LIMIT @limit;",
            command =>
            {
                Text(command, "pipeline", pipeline);
                Integer(command, "limit", limit);
            },
            cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive.</exception>
    public async Task<IReadOnlyList<PromotionRecord>> ListPromotionsAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            """
            SELECT id, pipeline, from_stage, to_stage, source, target, tags, validation_id, actor, at, bytes_copied, blobs_copied, blobs_skipped
            FROM promotions
            WHERE @pipeline::text IS NULL OR pipeline = @pipeline
            ORDER BY at DESC, id DESC
            LIMIT @limit;
            """,
            connection);
        Text(command, "pipeline", pipeline);
        Integer(command, "limit", limit);
        var promotions = new List<PromotionRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var id = reader.GetInt64(0);
            promotions.Add(new PromotionRecord(
                id,
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                ParseReference(reader.GetString(4), "promotions", id),
                ParseReference(reader.GetString(5), "promotions", id),
                ParseTags(reader.GetString(6), "promotions", id),
                reader.IsDBNull(7) ? null : reader.GetInt64(7),
                reader.GetString(8),
                ParseTimestamp(reader.GetString(9), "promotions", id),
                reader.GetInt64(10),
                reader.GetInt32(11),
                reader.GetInt32(12)));
        }

        return promotions;
    }

    private static async Task<List<BuildRecord>> ReadBuildsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var builds = new List<BuildRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var id = reader.GetInt64(0);
            builds.Add(new BuildRecord(
                id,
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                ParseReference(reader.GetString(4), "builds", id),
                ParseTags(reader.GetString(5), "builds", id),
                reader.GetString(6),
                reader.IsDBNull(7) ? null : ParseDigest(reader.GetString(7), "builds", id),
                reader.GetString(8),
                ParseTimestamp(reader.GetString(9), "builds", id),
                TimeSpan.FromMilliseconds(reader.GetInt64(10)))
            {
                CacheKey = reader.IsDBNull(11) ? null : ParseDigest(reader.GetString(11), "builds", id),
            });
        }

        return builds;
    }

    private async Task<IReadOnlyList<ValidationRecord>> ReadValidationsAsync(string sql, Action<NpgsqlCommand> bind, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        // REPEATABLE READ: the validations and their results come from one snapshot, without blocking writers.
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        var rows = new List<(long Id, string Pipeline, string Stage, string Reference, bool Passed, string Actor, string At, long DurationMs)>();
        await using (var command = new NpgsqlCommand(sql, connection, transaction))
        {
            bind(command);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetBoolean(4), reader.GetString(5), reader.GetString(6), reader.GetInt64(7)));
            }
        }

        // Every result of every row in one query, grouped here: no round trip per validation.
        var results = rows.ToDictionary(row => row.Id, _ => new List<TestResult>());
        if (rows.Count > 0)
        {
            await using var command = new NpgsqlCommand(
                "SELECT validation_id, kind, name, passed, detail, duration_ms FROM validation_results WHERE validation_id = ANY(@ids) ORDER BY validation_id, ordinal;",
                connection,
                transaction);
            command.Parameters.Add(new NpgsqlParameter<long[]>("ids", rows.Select(row => row.Id).ToArray()));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                results[reader.GetInt64(0)].Add(new TestResult(
                    reader.GetString(1), reader.GetString(2), reader.GetBoolean(3), reader.GetString(4), TimeSpan.FromMilliseconds(reader.GetInt64(5))));
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return rows.Select(row => new ValidationRecord(
                row.Id,
                row.Pipeline,
                row.Stage,
                ParseReference(row.Reference, "validations", row.Id),
                row.Passed,
                results[row.Id],
                row.Actor,
                ParseTimestamp(row.At, "validations", row.Id),
                TimeSpan.FromMilliseconds(row.DurationMs)))
            .ToList();
    }

    private static Digest RequireDigest(ImageReference reference, string parameterName) =>
        reference.Digest ?? throw new ArgumentException(
            $"The reference '{reference}' is not pinned to a digest; records name the exact image, e.g. {reference.Name}@sha256:<64 hex>.",
            parameterName);
}
