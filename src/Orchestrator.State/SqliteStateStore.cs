// Over 400 lines: the records' statements (builds, validations, promotions, cache, changes) against one
// schema; the mount hints went to SqliteMountHintStore.cs. Issue 14 splits the store per record kind.
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.State;

/// <summary>
/// <see cref="IStateStore"/> on a SQLite file (Microsoft.Data.Sqlite). Several processes may share
/// the file: it runs in WAL journal mode and waits up to <see cref="BusyTimeout"/> for a lock
/// instead of failing. Each call opens a pooled connection and closes it again, so an instance is
/// safe to use from several threads.
/// </summary>
/// <remarks>
/// Storage: digests and references as their canonical text (parsed back with <see cref="Digest.Parse"/>
/// and <see cref="ImageReference.Parse"/>), timestamps as ISO-8601 UTC text with 7 fraction digits
/// (so a <see cref="DateTimeOffset"/> round-trips to the tick, as its UTC instant; the original offset
/// is not kept), durations as whole milliseconds (rounded to the nearest), tags as JSON arrays, and
/// each test result of a validation as one row of <c>validation_results</c>. "Newest" means the
/// latest <c>At</c>, and for equal <c>At</c> the record added last.
/// </remarks>
public sealed class SqliteStateStore : IStateStore, IAsyncDisposable
{
    /// <summary>How long a call waits for another process's write lock before failing.</summary>
    public static readonly TimeSpan BusyTimeout = SqliteDatabase.BusyTimeout;

    private readonly SqliteDatabase _database;
    private readonly TimeProvider _timeProvider;
    private bool _disposed;

    /// <summary>Creates a store on <paramref name="databasePath"/>; nothing is opened until the first call.</summary>
    /// <param name="databasePath">The SQLite file; it and its folder are created when missing.</param>
    /// <param name="timeProvider">The clock for each row's <c>recorded_at</c>; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="logger">Where migrations are logged; none by default.</param>
    public SqliteStateStore(string databasePath, TimeProvider? timeProvider = null, ILogger<SqliteStateStore>? logger = null)
    {
        _timeProvider = timeProvider ?? TimeProvider.System;
        _database = new SqliteDatabase(databasePath, (ILogger?)logger ?? NullLogger.Instance);
    }

    /// <summary>The absolute path of the database file.</summary>
    public string DatabasePath => _database.DatabasePath;

    /// <summary>The schema version this code migrates to (<c>PRAGMA user_version</c>).</summary>
    public static int SchemaVersion => SqliteDatabase.SchemaVersion;

    /// <inheritdoc />
    /// <remarks>
    /// Switches the file to WAL, then applies every migration step past the file's
    /// <c>PRAGMA user_version</c> in one immediate transaction, so two processes starting at once
    /// migrate it once. Idempotent.
    /// </remarks>
    /// <exception cref="UnavailableException">The file cannot be created or opened.</exception>
    /// <exception cref="JobFailedException">The file was written by a newer Orchestrator (its schema version is higher than <see cref="SchemaVersion"/>).</exception>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _database.InitializeAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The record's reference is not pinned to a digest.</exception>
    public async Task<long> RecordBuildAsync(BuildRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var digest = RequireDigest(record.Reference, nameof(record));
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO builds (subject, kind, stage, reference, digest, tags, version, base_digest, actor, at, duration_ms, recorded_at, cache_key)
            VALUES ($subject, $kind, $stage, $reference, $digest, $tags, $version, $base_digest, $actor, $at, $duration_ms, $recorded_at, $cache_key)
            RETURNING id;
            """;
        command.Parameters.AddWithValue("$subject", record.Subject);
        command.Parameters.AddWithValue("$kind", record.Kind);
        command.Parameters.AddWithValue("$stage", record.Stage);
        command.Parameters.AddWithValue("$reference", record.Reference.ToString());
        command.Parameters.AddWithValue("$digest", digest.ToString());
        command.Parameters.AddWithValue("$tags", JsonSerializer.Serialize(record.Tags, StateJsonContext.Default.IReadOnlyListString));
        command.Parameters.AddWithValue("$version", record.Version);
        command.Parameters.AddWithValue("$base_digest", (object?)record.BaseDigest?.ToString() ?? DBNull.Value);
        command.Parameters.AddWithValue("$actor", record.Actor);
        command.Parameters.AddWithValue("$at", FormatTimestamp(record.At));
        command.Parameters.AddWithValue("$duration_ms", ToMilliseconds(record.Duration));
        command.Parameters.AddWithValue("$recorded_at", FormatTimestamp(_timeProvider.GetUtcNow()));
        command.Parameters.AddWithValue("$cache_key", (object?)record.CacheKey?.ToString() ?? DBNull.Value);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    /// <remarks>The validation and all its test results are written in one transaction.</remarks>
    /// <exception cref="ArgumentException">The record's reference is not pinned to a digest.</exception>
    public async Task<long> RecordValidationAsync(ValidationRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var digest = RequireDigest(record.Reference, nameof(record));
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // IMMEDIATE: take the write lock up front, so a concurrent writer waits on busy_timeout instead of failing on upgrade.
        await using var transaction = connection.BeginTransaction(deferred: false);

        long id;
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO validations (pipeline, stage, reference, digest, passed, actor, at, duration_ms, recorded_at)
                VALUES ($pipeline, $stage, $reference, $digest, $passed, $actor, $at, $duration_ms, $recorded_at)
                RETURNING id;
                """;
            command.Parameters.AddWithValue("$pipeline", record.Pipeline);
            command.Parameters.AddWithValue("$stage", record.Stage);
            command.Parameters.AddWithValue("$reference", record.Reference.ToString());
            command.Parameters.AddWithValue("$digest", digest.ToString());
            command.Parameters.AddWithValue("$passed", record.Passed ? 1 : 0);
            command.Parameters.AddWithValue("$actor", record.Actor);
            command.Parameters.AddWithValue("$at", FormatTimestamp(record.At));
            command.Parameters.AddWithValue("$duration_ms", ToMilliseconds(record.Duration));
            command.Parameters.AddWithValue("$recorded_at", FormatTimestamp(_timeProvider.GetUtcNow()));
            id = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO validation_results (validation_id, ordinal, kind, name, passed, detail, duration_ms)
                VALUES ($validation_id, $ordinal, $kind, $name, $passed, $detail, $duration_ms);
                """;
            var validationId = command.Parameters.Add("$validation_id", SqliteType.Integer);
            var ordinal = command.Parameters.Add("$ordinal", SqliteType.Integer);
            var kind = command.Parameters.Add("$kind", SqliteType.Text);
            var name = command.Parameters.Add("$name", SqliteType.Text);
            var passed = command.Parameters.Add("$passed", SqliteType.Integer);
            var detail = command.Parameters.Add("$detail", SqliteType.Text);
            var duration = command.Parameters.Add("$duration_ms", SqliteType.Integer);
            for (var i = 0; i < record.Results.Count; i++)
            {
                var result = record.Results[i];
                validationId.Value = id;
                ordinal.Value = i;
                kind.Value = result.Kind;
                name.Value = result.Name;
                passed.Value = result.Passed ? 1 : 0;
                detail.Value = result.Detail;
                duration.Value = ToMilliseconds(result.Duration);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
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
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO promotions (pipeline, from_stage, to_stage, source, target, digest, tags, validation_id, actor, at, bytes_copied, blobs_copied, blobs_skipped, recorded_at)
            VALUES ($pipeline, $from_stage, $to_stage, $source, $target, $digest, $tags, $validation_id, $actor, $at, $bytes_copied, $blobs_copied, $blobs_skipped, $recorded_at)
            RETURNING id;
            """;
        command.Parameters.AddWithValue("$pipeline", record.Pipeline);
        command.Parameters.AddWithValue("$from_stage", record.FromStage);
        command.Parameters.AddWithValue("$to_stage", record.ToStage);
        command.Parameters.AddWithValue("$source", record.Source.ToString());
        command.Parameters.AddWithValue("$target", record.Target.ToString());
        command.Parameters.AddWithValue("$digest", digest.ToString());
        command.Parameters.AddWithValue("$tags", JsonSerializer.Serialize(record.Tags, StateJsonContext.Default.IReadOnlyListString));
        command.Parameters.AddWithValue("$validation_id", (object?)record.ValidationId ?? DBNull.Value);
        command.Parameters.AddWithValue("$actor", record.Actor);
        command.Parameters.AddWithValue("$at", FormatTimestamp(record.At));
        command.Parameters.AddWithValue("$bytes_copied", record.BytesCopied);
        command.Parameters.AddWithValue("$blobs_copied", record.BlobsCopied);
        command.Parameters.AddWithValue("$blobs_skipped", record.BlobsSkipped);
        command.Parameters.AddWithValue("$recorded_at", FormatTimestamp(_timeProvider.GetUtcNow()));
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    /// <remarks>The highest id of each record table: three index-only lookups, and records are never rewritten.</remarks>
    public async Task<string?> GetChangeTokenAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT (SELECT coalesce(max(id), 0) FROM builds) || '.' || (SELECT coalesce(max(id), 0) FROM validations) || '.' || (SELECT coalesce(max(id), 0) FROM promotions);";
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
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, subject, kind, stage, reference, tags, version, base_digest, actor, at, duration_ms, cache_key
            FROM builds
            WHERE $subject IS NULL OR subject = $subject
            ORDER BY at DESC, id DESC
            LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$subject", (object?)subject ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadBuildsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<BuildRecord?> FindBuildByCacheKeyAsync(string subject, Digest cacheKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(cacheKey);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, subject, kind, stage, reference, tags, version, base_digest, actor, at, duration_ms, cache_key
            FROM builds
            WHERE subject = $subject AND cache_key = $cache_key
            ORDER BY at DESC, id DESC
            LIMIT 1;
            """;
        command.Parameters.AddWithValue("$subject", subject);
        command.Parameters.AddWithValue("$cache_key", cacheKey.ToString());
        var builds = await ReadBuildsAsync(command, cancellationToken).ConfigureAwait(false);
        return builds.Count == 0 ? null : builds[0];
    }

    // Reads the rows of a SELECT of the builds columns in ListBuildsAsync's order.
    private static async Task<List<BuildRecord>> ReadBuildsAsync(SqliteCommand command, CancellationToken cancellationToken)
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

    /// <inheritdoc />
    /// <remarks>
    /// The NEWEST validation of <paramref name="digest"/> for <paramref name="pipeline"/> decides:
    /// when it passed it is returned; when it failed the result is null even if an older validation
    /// passed, because a later failure (a changed test, a flaky dependency found) revokes the
    /// earlier pass. Validations of the same digest for another pipeline never count.
    /// </remarks>
    public async Task<ValidationRecord?> FindPassingValidationAsync(string pipeline, Digest digest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(digest);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var validations = await ReadValidationsAsync(
            connection,
            """
            SELECT id, pipeline, stage, reference, passed, actor, at, duration_ms
            FROM validations
            WHERE pipeline = $pipeline AND digest = $digest
            ORDER BY at DESC, id DESC
            LIMIT 1;
            """,
            [("$pipeline", pipeline), ("$digest", digest.ToString())],
            cancellationToken).ConfigureAwait(false);
        return validations is [{ Passed: true } newest] ? newest : null;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive.</exception>
    public async Task<IReadOnlyList<ValidationRecord>> ListValidationsAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ReadValidationsAsync(
            connection,
            """
            SELECT id, pipeline, stage, reference, passed, actor, at, duration_ms
            FROM validations
            WHERE $pipeline IS NULL OR pipeline = $pipeline
            ORDER BY at DESC, id DESC
            LIMIT $limit;
            """,
            [("$pipeline", pipeline), ("$limit", limit)],
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive.</exception>
    public async Task<IReadOnlyList<PromotionRecord>> ListPromotionsAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, pipeline, from_stage, to_stage, source, target, tags, validation_id, actor, at, bytes_copied, blobs_copied, blobs_skipped
            FROM promotions
            WHERE $pipeline IS NULL OR pipeline = $pipeline
            ORDER BY at DESC, id DESC
            LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$pipeline", (object?)pipeline ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
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

    /// <summary>Releases the pooled connections to the file, so it can be moved or deleted.</summary>
    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            _database.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.OpenAsync(cancellationToken);
    }

    private static async Task<IReadOnlyList<ValidationRecord>> ReadValidationsAsync(
        SqliteConnection connection,
        string sql,
        IReadOnlyList<(string Name, object? Value)> parameters,
        CancellationToken cancellationToken)
    {
        // One deferred (read) transaction so the validations and their results come from the same snapshot without blocking writers.
        await using var transaction = connection.BeginTransaction(deferred: true);
        var rows = new List<(long Id, string Pipeline, string Stage, string Reference, bool Passed, string Actor, string At, long DurationMs)>();
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }

            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4) != 0, reader.GetString(5), reader.GetString(6), reader.GetInt64(7)));
            }
        }

        var validations = new List<ValidationRecord>(rows.Count);
        await using var results = connection.CreateCommand();
        results.Transaction = transaction;
        results.CommandText = """
            SELECT kind, name, passed, detail, duration_ms
            FROM validation_results
            WHERE validation_id = $validation_id
            ORDER BY ordinal;
            """;
        var validationId = results.Parameters.Add("$validation_id", SqliteType.Integer);
        foreach (var row in rows)
        {
            validationId.Value = row.Id;
            var testResults = new List<TestResult>();
            await using (var reader = await results.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    testResults.Add(new TestResult(
                        reader.GetString(0),
                        reader.GetString(1),
                        reader.GetInt64(2) != 0,
                        reader.GetString(3),
                        TimeSpan.FromMilliseconds(reader.GetInt64(4))));
                }
            }

            validations.Add(new ValidationRecord(
                row.Id,
                row.Pipeline,
                row.Stage,
                ParseReference(row.Reference, "validations", row.Id),
                row.Passed,
                testResults,
                row.Actor,
                ParseTimestamp(row.At, "validations", row.Id),
                TimeSpan.FromMilliseconds(row.DurationMs)));
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return validations;
    }

    private static Digest RequireDigest(ImageReference reference, string parameterName) =>
        reference.Digest ?? throw new ArgumentException(
            $"The reference '{reference}' is not pinned to a digest; records name the exact image, e.g. {reference.Name}@sha256:<64 hex>.",
            parameterName);

    internal static string FormatTimestamp(DateTimeOffset value) => SqliteDatabase.FormatTimestamp(value);

    private static long ToMilliseconds(TimeSpan duration) => (long)Math.Round(duration.TotalMilliseconds, MidpointRounding.AwayFromZero);

    private static DateTimeOffset ParseTimestamp(string text, string table, long id) =>
        SqliteDatabase.TryParseTimestamp(text, out var value)
            ? value
            : throw Corrupt(table, id, $"the timestamp '{text}' is not ISO-8601 UTC");

    private static ImageReference ParseReference(string text, string table, long id) =>
        ImageReference.TryParse(text, out var reference, out var error) ? reference : throw Corrupt(table, id, error);

    private static Digest ParseDigest(string text, string table, long id) =>
        Digest.TryParse(text, out var digest, out var error) ? digest : throw Corrupt(table, id, error);

    private static IReadOnlyList<string> ParseTags(string json, string table, long id)
    {
        try
        {
            return JsonSerializer.Deserialize(json, StateJsonContext.Default.StringArray) ?? [];
        }
        catch (JsonException ex)
        {
            throw Corrupt(table, id, $"the tags are not a JSON array of strings ({ex.Message})");
        }
    }

    private static JobFailedException Corrupt(string table, long id, string problem) =>
        new($"The state database has an unreadable row {id} in '{table}': {problem}. The file was edited outside Orchestrator; fix or delete that row.");
}
