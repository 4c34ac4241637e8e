// Over 400 lines: every job-queue statement (claim, lanes, steps, log, cancel, requeue) against one schema,
// kept together so the queue's invariants read in one place; issue 14 adds the PostgreSQL twin beside it.
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.State;

/// <summary>
/// <see cref="IJobStore"/> on the same SQLite file as <see cref="SqliteStateStore"/> (tables <c>jobs</c>
/// and <c>job_log</c>, migration step 2 of the shared schema). Several daemons, workers and CLIs may
/// share the file: every write takes the write lock up front (<c>BEGIN IMMEDIATE</c>), waiting up to
/// <see cref="SqliteStateStore.BusyTimeout"/>, so a claim, a cancel and a completion are each atomic
/// across processes. Each call opens a pooled connection and closes it again, so an instance is safe
/// to use from several threads.
/// </summary>
/// <remarks>
/// Storage: kinds and states as their enum names, digests as canonical text (parsed back with
/// <see cref="Digest.Parse"/>), timestamps as ISO-8601 UTC text with 7 fraction digits. Ids are given in
/// acceptance order, so "oldest" and "newest" are by id, which a clock step cannot reorder.
/// </remarks>
public sealed class SqliteJobStore : IJobStore, IAsyncDisposable
{
    /// <summary>The error of a job cancelled while it was still queued.</summary>
    public const string CancelledBeforeStart = "cancelled before it started";

    /// <summary>The log line written when a job found running at start-up is queued again.</summary>
    public const string InterruptedMessage = "interrupted by a daemon stop; queued again";

    /// <summary>The error of a job whose cancel was asked and whose daemon stopped before the job ended.</summary>
    public const string CancelledByStop = "cancelled: a cancel was requested and the daemon stopped before the job ended; it is not run again";

    private const string Columns =
        "id, kind, pipeline, digest, stage, dry_run, no_cache, requested_by, state, created_at, started_at, finished_at, attempt, cancel_requested, error, exit_code, result_json, attest, definition_hash, lock_hash";

    // Queued jobs are read in pages while scanning for a free lane, so a long queue is never loaded whole.
    private const int ClaimPageSize = 64;

    private readonly SqliteDatabase _database;
    private readonly SqliteDataVersion _dataVersion;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private bool _disposed;

    /// <summary>Creates a store on <paramref name="databasePath"/>; nothing is opened until the first call.</summary>
    /// <param name="databasePath">The SQLite file (the state store's); it and its folder are created when missing.</param>
    /// <param name="timeProvider">The clock for created, started and finished times and log lines; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="logger">Where migrations, claims, completions and requeues are logged; none by default.</param>
    public SqliteJobStore(string databasePath, TimeProvider? timeProvider = null, ILogger<SqliteJobStore>? logger = null)
    {
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _database = new SqliteDatabase(databasePath, _logger);
        _dataVersion = new SqliteDataVersion(_database);
    }

    /// <summary>The absolute path of the database file.</summary>
    public string DatabasePath => _database.DatabasePath;

    /// <inheritdoc />
    /// <remarks>Runs the shared migrations (state and job tables alike); idempotent.</remarks>
    /// <exception cref="UnavailableException">The file cannot be created or opened.</exception>
    /// <exception cref="JobFailedException">The file was written by a newer Orchestrator.</exception>
    public Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.InitializeAsync(cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>The row is committed before this returns, so a caller may acknowledge the job at once.</remarks>
    /// <exception cref="ArgumentException">The pipeline or <paramref name="requestedBy"/> is empty.</exception>
    public async Task<Job> EnqueueAsync(JobRequest request, string requestedBy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Pipeline, nameof(request));
        ArgumentException.ThrowIfNullOrWhiteSpace(requestedBy);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO jobs (kind, pipeline, digest, stage, dry_run, no_cache, requested_by, state, created_at, attempt, cancel_requested, attest, definition_hash, lock_hash)
            VALUES ($kind, $pipeline, $digest, $stage, $dry_run, $no_cache, $requested_by, $state, $created_at, 0, 0, $attest, $definition_hash, $lock_hash)
            RETURNING {Columns};
            """;
        command.Parameters.AddWithValue("$kind", request.Kind.ToString());
        command.Parameters.AddWithValue("$pipeline", request.Pipeline);
        command.Parameters.AddWithValue("$digest", (object?)request.Digest?.ToString() ?? DBNull.Value);
        command.Parameters.AddWithValue("$stage", (object?)request.Stage ?? DBNull.Value);
        command.Parameters.AddWithValue("$dry_run", request.DryRun ? 1 : 0);
        command.Parameters.AddWithValue("$no_cache", request.NoCache ? 1 : 0);
        command.Parameters.AddWithValue("$attest", request.Attest ? 1 : 0);
        command.Parameters.AddWithValue("$definition_hash", (object?)request.Definition?.Definition.ToString() ?? DBNull.Value);
        command.Parameters.AddWithValue("$lock_hash", (object?)request.Definition?.Lock?.ToString() ?? DBNull.Value);
        command.Parameters.AddWithValue("$requested_by", requestedBy);
        command.Parameters.AddWithValue("$state", nameof(JobState.Queued));
        command.Parameters.AddWithValue("$created_at", Now());
        var job = (await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false))[0];
        _logger.LogDebug(
            "Queued job {JobId}: {JobKind} {Pipeline} requested by {RequestedBy}", job.Id, job.Request.Kind, job.Request.Pipeline, job.RequestedBy);
        return job;
    }

    /// <inheritdoc />
    public async Task<Job?> GetAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetAsync(connection, null, id, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Newest (highest id) first. <see cref="JobFilter.Stage"/> matches promote jobs whose stored target
    /// stage equals it; a promote submitted without a stage (meaning the default) does not match, so the
    /// daemon should store the resolved stage. Build, validate and run jobs never match a stage filter.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="JobFilter.Limit"/> is not positive.</exception>
    public async Task<IReadOnlyList<Job>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filter.Limit, nameof(filter));
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();

        // Only the filters given become conditions, so SQLite can use the state and pipeline indexes.
        var where = new List<string>();
        if (filter.Pipeline is { } pipeline)
        {
            where.Add("pipeline = $pipeline");
            command.Parameters.AddWithValue("$pipeline", pipeline);
        }

        if (filter.Stage is { } stage)
        {
            where.Add("kind = $promote AND stage = $stage");
            command.Parameters.AddWithValue("$promote", nameof(JobKind.Promote));
            command.Parameters.AddWithValue("$stage", stage);
        }

        if (filter.State is { } state)
        {
            where.Add("state = $state");
            command.Parameters.AddWithValue("$state", state.ToString());
        }

        if (filter.Kind is { } kind)
        {
            where.Add("kind = $kind");
            command.Parameters.AddWithValue("$kind", kind.ToString());
        }

        var sql = new StringBuilder($"SELECT {Columns} FROM jobs");
        if (where.Count > 0)
        {
            sql.Append(" WHERE ").AppendJoin(" AND ", where.Select(condition => $"({condition})"));
        }

        sql.Append(" ORDER BY id DESC LIMIT $limit;");
        command.CommandText = sql.ToString();
        command.Parameters.AddWithValue("$limit", filter.Limit);
        return await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One <c>BEGIN IMMEDIATE</c> transaction: two processes or workers never claim the same job. Queued
    /// jobs are scanned oldest first; a job is skipped when its lane is in <paramref name="busyLanes"/> OR is
    /// the lane of a job already Running in this file (so two daemons sharing the file still run one job
    /// per lane); a queued job never blocks a later one. One call claims at most one job.
    /// </remarks>
    public async Task<Job?> ClaimNextAsync(Func<Job, string> laneOf, IReadOnlySet<string> busyLanes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(laneOf);
        ArgumentNullException.ThrowIfNull(busyLanes);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);

        var taken = new HashSet<string>(busyLanes, StringComparer.Ordinal);
        foreach (var running in await ListByStateAsync(connection, transaction, JobState.Running, 0, int.MaxValue, cancellationToken).ConfigureAwait(false))
        {
            taken.Add(laneOf(running));
        }

        Job? candidate = null;
        string? lane = null;
        long after = 0;
        while (candidate is null)
        {
            var page = await ListByStateAsync(connection, transaction, JobState.Queued, after, ClaimPageSize, cancellationToken).ConfigureAwait(false);
            foreach (var queued in page)
            {
                var queuedLane = laneOf(queued);
                if (!taken.Contains(queuedLane))
                {
                    candidate = queued;
                    lane = queuedLane;
                    break;
                }
            }

            if (page.Count < ClaimPageSize)
            {
                break;
            }

            after = page[^1].Id;
        }

        if (candidate is null)
        {
            return null;
        }

        Job claimed;
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"""
                UPDATE jobs SET state = $running, attempt = attempt + 1, started_at = $now
                WHERE id = $id AND state = $queued
                RETURNING {Columns};
                """;
            command.Parameters.AddWithValue("$running", nameof(JobState.Running));
            command.Parameters.AddWithValue("$queued", nameof(JobState.Queued));
            command.Parameters.AddWithValue("$now", Now());
            command.Parameters.AddWithValue("$id", candidate.Id);
            claimed = (await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false))[0];
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        _logger.LogDebug("Claimed job {JobId} in lane {Lane}, attempt {Attempt}", claimed.Id, lane, claimed.Attempt);
        return claimed;
    }

    /// <inheritdoc />
    /// <remarks>The sequence is the job's highest plus one, assigned under the write lock, so concurrent appends leave no gaps or duplicates.</remarks>
    /// <exception cref="ArgumentException"><paramref name="kind"/> is empty.</exception>
    /// <exception cref="InputException">There is no job <paramref name="id"/>.</exception>
    public async Task<JobLogEntry> AppendLogAsync(long id, string kind, string message, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(message);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var entry = await AppendLogAsync(connection, transaction, id, kind, message, cancellationToken).ConfigureAwait(false)
            ?? throw new InputException($"There is no job {id} to log to: list jobs with 'orchestrator jobs' and use an existing id.");
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return entry;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive.</exception>
    public async Task<IReadOnlyList<JobLogEntry>> GetLogAsync(long id, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT sequence, at, kind, message
            FROM job_log
            WHERE job_id = $id AND sequence > $after
            ORDER BY sequence
            LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$after", afterSequence);
        command.Parameters.AddWithValue("$limit", limit);
        var entries = new List<JobLogEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            entries.Add(new JobLogEntry(reader.GetInt64(0), ParseTimestamp(reader.GetString(1), "job_log", id), reader.GetString(2), reader.GetString(3)));
        }

        return entries;
    }

    /// <inheritdoc />
    /// <remarks>Guarded in SQL (<c>WHERE state = 'Running'</c>): a queued, cancelled or finished job is left as it is and false is returned.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="finalState"/> is Queued or Running.</exception>
    public async Task<bool> CompleteAsync(long id, JobState finalState, int exitCode, string? error, string? resultJson, CancellationToken cancellationToken = default)
    {
        if (finalState is not (JobState.Succeeded or JobState.Failed or JobState.Cancelled))
        {
            throw new ArgumentOutOfRangeException(nameof(finalState), finalState, "A job completes as Succeeded, Failed or Cancelled.");
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE jobs SET state = $state, finished_at = $now, exit_code = $exit_code, error = $error, result_json = $result_json
            WHERE id = $id AND state = $running;
            """;
        command.Parameters.AddWithValue("$state", finalState.ToString());
        command.Parameters.AddWithValue("$now", Now());
        command.Parameters.AddWithValue("$exit_code", exitCode);
        command.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
        command.Parameters.AddWithValue("$result_json", (object?)resultJson ?? DBNull.Value);
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$running", nameof(JobState.Running));
        var completed = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        if (completed)
        {
            _logger.LogDebug("Job {JobId} ended {JobState} with exit code {ExitCode}", id, finalState, exitCode);
        }
        else
        {
            _logger.LogWarning("Job {JobId} was not running, so its outcome {JobState} was not stored", id, finalState);
        }

        return completed;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Queued: Cancelled at once (finished now, exit code 1, error <see cref="CancelledBeforeStart"/>).
    /// Running: <c>cancel_requested</c> set; the worker stops the job and completes it. Final: unchanged.
    /// Each change also writes a log line, so a client following the log sees it.
    /// </remarks>
    public async Task<Job?> RequestCancelAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var job = await GetAsync(connection, transaction, id, cancellationToken).ConfigureAwait(false);
        if (job is null || job.IsFinal || (job.State == JobState.Running && job.CancelRequested))
        {
            return job;
        }

        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.Parameters.AddWithValue("$id", id);
            if (job.State == JobState.Queued)
            {
                command.CommandText = "UPDATE jobs SET state = $cancelled, finished_at = $now, exit_code = $exit_code, error = $error WHERE id = $id;";
                command.Parameters.AddWithValue("$cancelled", nameof(JobState.Cancelled));
                command.Parameters.AddWithValue("$now", Now());
                command.Parameters.AddWithValue("$exit_code", ExitCodes.JobFailed);
                command.Parameters.AddWithValue("$error", CancelledBeforeStart);
            }
            else
            {
                command.CommandText = "UPDATE jobs SET cancel_requested = 1 WHERE id = $id;";
            }

            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await AppendLogAsync(
            connection,
            transaction,
            id,
            "step",
            job.State == JobState.Queued ? CancelledBeforeStart : "cancel requested; stopping the job",
            cancellationToken).ConfigureAwait(false);
        var now = await GetAsync(connection, transaction, id, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Cancel requested for job {JobId} while {JobState}", id, job.State);
        return now;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Every Running job goes back to Queued with its started time cleared and its attempt kept (the next
    /// claim increments it), and gets the log line <see cref="InterruptedMessage"/>. A running job whose
    /// cancel had been requested is not run again: it becomes Cancelled (exit code 1,
    /// <see cref="CancelledByStop"/>) and is not counted. Call it only when no other daemon runs on this file.
    /// </remarks>
    public async Task<int> RequeueInterruptedAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var running = await ListByStateAsync(connection, transaction, JobState.Running, 0, int.MaxValue, cancellationToken).ConfigureAwait(false);
        var requeued = 0;
        foreach (var job in running)
        {
            await using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.Parameters.AddWithValue("$id", job.Id);
                if (job.CancelRequested)
                {
                    command.CommandText = "UPDATE jobs SET state = $cancelled, finished_at = $now, exit_code = $exit_code, error = $error WHERE id = $id;";
                    command.Parameters.AddWithValue("$cancelled", nameof(JobState.Cancelled));
                    command.Parameters.AddWithValue("$now", Now());
                    command.Parameters.AddWithValue("$exit_code", ExitCodes.JobFailed);
                    command.Parameters.AddWithValue("$error", CancelledByStop);
                }
                else
                {
                    command.CommandText = "UPDATE jobs SET state = $queued, started_at = NULL WHERE id = $id;";
                    command.Parameters.AddWithValue("$queued", nameof(JobState.Queued));
                    requeued++;
                }

                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await AppendLogAsync(connection, transaction, job.Id, "step", job.CancelRequested ? CancelledByStop : InterruptedMessage, cancellationToken).ConfigureAwait(false);
            _logger.LogWarning(
                "Job {JobId} (attempt {Attempt}) was interrupted by a daemon stop; {Outcome}", job.Id, job.Attempt, job.CancelRequested ? "cancelled as requested" : "queued again");
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return requeued;
    }

    /// <inheritdoc />
    /// <remarks>
    /// SQLite's <c>PRAGMA data_version</c> on a connection kept for it (see <see cref="SqliteDataVersion"/>): it
    /// moves on every commit to the file from any connection or process, so on every job write (enqueue, claim,
    /// completion, cancel, requeue) and also on log lines and the state store's records. One pragma, no query
    /// of the jobs table. Null while the file cannot be opened.
    /// </remarks>
    public Task<string?> GetChangeTokenAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _dataVersion.ReadAsync(cancellationToken);
    }

    /// <summary>Releases the pooled connections to the file, so it can be moved or deleted.</summary>
    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            _dataVersion.Dispose();
            _database.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.OpenAsync(cancellationToken);
    }

    private string Now() => SqliteDatabase.FormatTimestamp(_timeProvider.GetUtcNow());

    private async Task<JobLogEntry?> AppendLogAsync(
        SqliteConnection connection, SqliteTransaction transaction, long id, string kind, string message, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO job_log (job_id, sequence, at, kind, message)
            SELECT $id, COALESCE((SELECT MAX(sequence) FROM job_log WHERE job_id = $id), 0) + 1, $at, $kind, $message
            WHERE EXISTS (SELECT 1 FROM jobs WHERE id = $id)
            RETURNING sequence, at;
            """;
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$at", Now());
        command.Parameters.AddWithValue("$kind", kind);
        command.Parameters.AddWithValue("$message", message);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new JobLogEntry(reader.GetInt64(0), ParseTimestamp(reader.GetString(1), "job_log", id), kind, message)
            : null;
    }

    private static async Task<Job?> GetAsync(SqliteConnection connection, SqliteTransaction? transaction, long id, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {Columns} FROM jobs WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        var jobs = await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false);
        return jobs.Count == 0 ? null : jobs[0];
    }

    private static async Task<IReadOnlyList<Job>> ListByStateAsync(
        SqliteConnection connection, SqliteTransaction transaction, JobState state, long afterId, int limit, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {Columns} FROM jobs WHERE state = $state AND id > $after ORDER BY id LIMIT $limit;";
        command.Parameters.AddWithValue("$state", state.ToString());
        command.Parameters.AddWithValue("$after", afterId);
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<Job>> ReadJobsAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var jobs = new List<Job>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(ReadJob(reader));
        }

        return jobs;
    }

    // Column order is Columns'.
    private static Job ReadJob(SqliteDataReader reader)
    {
        var id = reader.GetInt64(0);
        var request = new JobRequest(
            ParseEnum<JobKind>(reader.GetString(1), id),
            reader.GetString(2),
            reader.IsDBNull(3) ? null : ParseDigest(reader.GetString(3), id),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            reader.GetInt64(5) != 0,
            reader.GetInt64(6) != 0,
            reader.GetInt64(17) != 0)
        {
            Definition = reader.IsDBNull(18)
                ? null
                : new DefinitionHashes(ParseDigest(reader.GetString(18), id), reader.IsDBNull(19) ? null : ParseDigest(reader.GetString(19), id)),
        };
        return new Job(
            id,
            request,
            reader.GetString(7),
            ParseEnum<JobState>(reader.GetString(8), id),
            ParseTimestamp(reader.GetString(9), "jobs", id),
            reader.IsDBNull(10) ? null : ParseTimestamp(reader.GetString(10), "jobs", id),
            reader.IsDBNull(11) ? null : ParseTimestamp(reader.GetString(11), "jobs", id),
            reader.GetInt32(12),
            reader.GetInt64(13) != 0,
            reader.IsDBNull(14) ? null : reader.GetString(14),
            reader.IsDBNull(15) ? null : reader.GetInt32(15),
            reader.IsDBNull(16) ? null : reader.GetString(16));
    }

    private static TEnum ParseEnum<TEnum>(string text, long id)
        where TEnum : struct, Enum =>
        Enum.TryParse<TEnum>(text, ignoreCase: false, out var value) && Enum.IsDefined(value)
            ? value
            : throw Corrupt("jobs", id, $"'{text}' is not a {typeof(TEnum).Name} ({string.Join(", ", Enum.GetNames<TEnum>())})");

    private static Digest ParseDigest(string text, long id) =>
        Digest.TryParse(text, out var digest, out var error) ? digest : throw Corrupt("jobs", id, error);

    private static DateTimeOffset ParseTimestamp(string text, string table, long id) =>
        SqliteDatabase.TryParseTimestamp(text, out var value)
            ? value
            : throw Corrupt(table, id, $"the timestamp '{text}' is not ISO-8601 UTC");

    private static JobFailedException Corrupt(string table, long id, string problem) =>
        new($"The state database has an unreadable row for job {id} in '{table}': {problem}. The file was edited outside Orchestrator; fix or delete that row.");
}
