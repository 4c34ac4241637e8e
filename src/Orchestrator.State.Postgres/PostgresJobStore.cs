// Over 400 lines: every job-queue statement (claim, lanes, leases, log, cancel, requeue) against one schema, kept
// together so the queue's invariants read in one place, as in its twin SqliteJobStore.cs.
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using static Orchestrator.State.Postgres.PostgresRows;

namespace Orchestrator.State.Postgres;

/// <summary>
/// <see cref="IJobStore"/> and <see cref="IJobLeases"/> in a PostgreSQL database (tables <c>jobs</c> and <c>job_log</c>):
/// the same behaviour as the SQLite store, checked by the same contract tests, and safe for several processes claiming
/// from one queue at once. Each call takes a pooled connection and returns it.
/// </summary>
/// <remarks>
/// <para>Over 400 lines because it implements both IJobStore and IJobLeases on one connection pool and SQL dialect;
/// its row readers repeat SqliteJobStore's and should move to a shared reader over DbDataReader.</para>
/// <para>Claims: a queued job is taken with <c>SELECT … FOR UPDATE SKIP LOCKED</c>, so two claimers never wait on or
/// take the same row. Lanes (one Running job per pipeline and stage) are held by the database, not by one process's
/// memory: a claimer takes a transaction-level advisory lock on the lane's hash before it looks for a Running job in
/// that lane, so two claimers of one lane are serialised and the second sees the first one's committed claim.</para>
/// <para>Leases: a claim sets <c>lease_owner</c> (<see cref="LeaseOwner"/>) and <c>lease_expires_at</c> (now +
/// <see cref="LeaseDuration"/>); <see cref="RenewLeaseAsync"/> is the heartbeat; <see cref="RequeueExpiredLeasesAsync"/>
/// queues again what a dead process held. Times come from the <see cref="TimeProvider"/>, never the server's clock.</para>
/// <para>Change token: <c>job_changes</c>, one row whose version a statement trigger on <c>jobs</c> bumps inside the
/// writing transaction (see <see cref="PostgresSchema"/>, step 2), so the token moves exactly when a job change commits,
/// whichever process wrote it. Each transaction writes <c>jobs</c> in at most one statement, so the counter row is
/// always the last lock a writer takes and writers cannot deadlock on it.</para>
/// </remarks>
public sealed class PostgresJobStore : IJobStore, IJobLeases
{
    /// <summary>The error of a job cancelled while it was still queued (the SQLite store's text).</summary>
    public const string CancelledBeforeStart = "cancelled before it started";

    /// <summary>The log line written when a job found running at start-up is queued again.</summary>
    public const string InterruptedMessage = "interrupted by a daemon stop; queued again";

    /// <summary>The error of a job whose cancel was asked and whose daemon stopped before the job ended.</summary>
    public const string CancelledByStop = "cancelled: a cancel was requested and the daemon stopped before the job ended; it is not run again";

    /// <summary>The log line written when a job is queued again because its lease ran out.</summary>
    public const string LeaseExpiredMessage = "its daemon stopped renewing the lease; queued again";

    /// <summary>The default <see cref="LeaseDuration"/>: 60 seconds.</summary>
    public static readonly TimeSpan DefaultLeaseDuration = TimeSpan.FromSeconds(60);

    // Advisory lock class of lanes (the second key is hashtext(lane)); a hash collision only makes two lanes wait on each other.
    private const int LaneLockClass = PostgresStateDatabase.LockClass + 1;

    private const string Columns =
        "id, kind, pipeline, digest, stage, dry_run, no_cache, requested_by, state, created_at, started_at, finished_at, attempt, cancel_requested, error, exit_code, result_json, attest, definition_hash, lock_hash";

    // Queued jobs are read in pages while scanning for a free lane, so a long queue is never loaded whole.
    private const int ClaimPageSize = 64;

    private readonly PostgresStateDatabase _database;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates a store on <paramref name="database"/> (not owned: the caller disposes it); nothing is opened until the first call.</summary>
    /// <param name="database">The database, shared with the state and mount hint stores.</param>
    /// <param name="timeProvider">The clock for created, started and finished times, leases and log lines; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="logger">Where claims, completions and requeues are logged; none by default.</param>
    /// <param name="leaseOwner">This process's name in <c>lease_owner</c>; <c>host:pid:random</c> by default.</param>
    /// <param name="leaseDuration">How long a claim or heartbeat holds a lease; <see cref="DefaultLeaseDuration"/> by default.</param>
    public PostgresJobStore(
        PostgresStateDatabase database, TimeProvider? timeProvider = null, ILogger<PostgresJobStore>? logger = null, string? leaseOwner = null, TimeSpan? leaseDuration = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        LeaseOwner = leaseOwner ?? $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
        LeaseDuration = leaseDuration ?? DefaultLeaseDuration;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(LeaseDuration, TimeSpan.Zero, nameof(leaseDuration));
    }

    /// <inheritdoc />
    public string LeaseOwner { get; }

    /// <inheritdoc />
    public TimeSpan LeaseDuration { get; }

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    /// <remarks>The row is committed before this returns, so a caller may acknowledge the job at once.</remarks>
    /// <exception cref="ArgumentException">The pipeline or <paramref name="requestedBy"/> is empty.</exception>
    public async Task<Job> EnqueueAsync(JobRequest request, string requestedBy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Pipeline, nameof(request));
        ArgumentException.ThrowIfNullOrWhiteSpace(requestedBy);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            $"""
            INSERT INTO jobs (kind, pipeline, digest, stage, dry_run, no_cache, requested_by, state, created_at, attempt, cancel_requested, attest, definition_hash, lock_hash)
            VALUES (@kind, @pipeline, @digest, @stage, @dry_run, @no_cache, @requested_by, @state, @created_at, 0, false, @attest, @definition_hash, @lock_hash)
            RETURNING {Columns};
            """,
            connection);
        Text(command, "kind", request.Kind.ToString());
        Text(command, "pipeline", request.Pipeline);
        Text(command, "digest", request.Digest?.ToString());
        Text(command, "stage", request.Stage);
        Boolean(command, "dry_run", request.DryRun);
        Boolean(command, "no_cache", request.NoCache);
        Boolean(command, "attest", request.Attest);
        Text(command, "definition_hash", request.Definition?.Definition.ToString());
        Text(command, "lock_hash", request.Definition?.Lock?.ToString());
        Text(command, "requested_by", requestedBy);
        Text(command, "state", nameof(JobState.Queued));
        Text(command, "created_at", Now());
        var job = (await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false))[0];
        _logger.LogDebug("Queued job {JobId}: {JobKind} {Pipeline} requested by {RequestedBy}", job.Id, job.Request.Kind, job.Request.Pipeline, job.RequestedBy);
        return job;
    }

    /// <inheritdoc />
    public async Task<Job?> GetAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetAsync(connection, null, id, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Newest (highest id) first; a Stage filter matches promote jobs by stored target stage, as in SQLite.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="JobFilter.Limit"/> is not positive.</exception>
    public async Task<IReadOnlyList<Job>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filter.Limit, nameof(filter));
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand { Connection = connection };

        // Only the filters given become conditions, so the planner can use the state and pipeline indexes.
        var where = new List<string>();
        if (filter.Pipeline is { } pipeline)
        {
            where.Add("pipeline = @pipeline");
            Text(command, "pipeline", pipeline);
        }

        if (filter.Stage is { } stage)
        {
            where.Add("kind = @promote AND stage = @stage");
            Text(command, "promote", nameof(JobKind.Promote));
            Text(command, "stage", stage);
        }

        if (filter.State is { } state)
        {
            where.Add("state = @state");
            Text(command, "state", state.ToString());
        }

        if (filter.Kind is { } kind)
        {
            where.Add("kind = @kind");
            Text(command, "kind", kind.ToString());
        }

        var sql = new StringBuilder($"SELECT {Columns} FROM jobs");
        if (where.Count > 0)
        {
            sql.Append(" WHERE ").AppendJoin(" AND ", where.Select(condition => $"({condition})"));
        }

        sql.Append(" ORDER BY id DESC LIMIT @limit;");
        command.CommandText = sql.ToString();
        Integer(command, "limit", filter.Limit);
        return await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Queued jobs are scanned oldest first; a job is skipped when its lane is in <paramref name="busyLanes"/>, is the
    /// lane of a Running job in the database, or is being claimed by another process right now (its lane lock is
    /// taken). The chosen row is locked with <c>FOR UPDATE SKIP LOCKED</c> and re-checked, so no job is claimed twice.
    /// The claim carries this process's lease. One call claims at most one job.
    /// </remarks>
    public async Task<Job?> ClaimNextAsync(Func<Job, string> laneOf, IReadOnlySet<string> busyLanes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(laneOf);
        ArgumentNullException.ThrowIfNull(busyLanes);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        var taken = new HashSet<string>(busyLanes, StringComparer.Ordinal);
        taken.UnionWith(await RunningLanesAsync(connection, transaction, laneOf, cancellationToken).ConfigureAwait(false));

        long after = 0;
        while (true)
        {
            var page = await ListByStateAsync(connection, transaction, JobState.Queued, after, ClaimPageSize, cancellationToken).ConfigureAwait(false);
            foreach (var queued in page)
            {
                var lane = laneOf(queued);
                if (taken.Contains(lane))
                {
                    continue;
                }

                if (!await TryLockLaneAsync(connection, transaction, lane, cancellationToken).ConfigureAwait(false))
                {
                    taken.Add(lane);
                    continue;
                }

                // READ COMMITTED: this statement's snapshot is taken after the lane lock, so it sees any claim in the lane
                // that another process committed while holding the lock before us.
                if ((await RunningLanesAsync(connection, transaction, laneOf, cancellationToken).ConfigureAwait(false)).Contains(lane))
                {
                    taken.Add(lane);
                    continue;
                }

                if (await ClaimRowAsync(connection, transaction, queued.Id, cancellationToken).ConfigureAwait(false) is { } claimed)
                {
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    _logger.LogDebug("Claimed job {JobId} in lane {Lane}, attempt {Attempt}, lease {LeaseOwner}", claimed.Id, lane, claimed.Attempt, LeaseOwner);
                    return claimed;
                }
            }

            if (page.Count < ClaimPageSize)
            {
                return null;
            }

            after = page[^1].Id;
        }
    }

    /// <inheritdoc />
    /// <remarks>The sequence is the job's highest plus one, assigned under a per-job advisory lock, so concurrent appends leave no gaps or duplicates.</remarks>
    /// <exception cref="ArgumentException"><paramref name="kind"/> is empty.</exception>
    /// <exception cref="InputException">There is no job <paramref name="id"/>.</exception>
    public async Task<JobLogEntry> AppendLogAsync(long id, string kind, string message, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(message);
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
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
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            "SELECT sequence, at, kind, message FROM job_log WHERE job_id = @id AND sequence > @after ORDER BY sequence LIMIT @limit;", connection);
        Bigint(command, "id", id);
        Bigint(command, "after", afterSequence);
        Integer(command, "limit", limit);
        var entries = new List<JobLogEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            entries.Add(new JobLogEntry(reader.GetInt64(0), ParseTimestamp(reader.GetString(1), "job_log", id), reader.GetString(2), reader.GetString(3)));
        }

        return entries;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Guarded in SQL (<c>WHERE state = 'Running'</c> and leased to this process); the lease is cleared. A job not Running,
    /// or Running under another process's lease (it was queued again after this one's expired, and taken over), is left as
    /// it is and false is returned: only the holder of the lease stores the outcome.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="finalState"/> is Queued or Running.</exception>
    public async Task<bool> CompleteAsync(long id, JobState finalState, int exitCode, string? error, string? resultJson, CancellationToken cancellationToken = default)
    {
        if (finalState is not (JobState.Succeeded or JobState.Failed or JobState.Cancelled))
        {
            throw new ArgumentOutOfRangeException(nameof(finalState), finalState, "A job completes as Succeeded, Failed or Cancelled.");
        }

        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            """
            UPDATE jobs SET state = @state, finished_at = @now, exit_code = @exit_code, error = @error, result_json = @result_json, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = @id AND state = @running AND (lease_owner IS NULL OR lease_owner = @owner);
            """,
            connection);
        Text(command, "owner", LeaseOwner);
        Text(command, "state", finalState.ToString());
        Text(command, "now", Now());
        Integer(command, "exit_code", exitCode);
        Text(command, "error", error);
        Text(command, "result_json", resultJson);
        Bigint(command, "id", id);
        Text(command, "running", nameof(JobState.Running));
        var completed = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        if (completed)
        {
            _logger.LogDebug("Job {JobId} ended {JobState} with exit code {ExitCode}", id, finalState, exitCode);
        }
        else
        {
            _logger.LogWarning("Job {JobId} was not running under this process's lease, so its outcome {JobState} was not stored", id, finalState);
        }

        return completed;
    }

    /// <inheritdoc />
    /// <remarks>As in SQLite: Queued becomes Cancelled at once; Running gets <c>cancel_requested</c>; final is unchanged; each change writes a log line.</remarks>
    public async Task<Job?> RequestCancelAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // One guarded statement decides from the row as it is when locked, so a concurrent claim cannot slip between read and write.
        await using (var command = new NpgsqlCommand(
            """
            UPDATE jobs SET
                state = CASE WHEN state = @queued THEN @cancelled ELSE state END,
                finished_at = CASE WHEN state = @queued THEN @now ELSE finished_at END,
                exit_code = CASE WHEN state = @queued THEN @exit_code ELSE exit_code END,
                error = CASE WHEN state = @queued THEN @error ELSE error END,
                cancel_requested = CASE WHEN state = @running THEN true ELSE cancel_requested END
            WHERE id = @id AND (state = @queued OR (state = @running AND NOT cancel_requested))
            RETURNING state;
            """,
            connection,
            transaction))
        {
            Bigint(command, "id", id);
            Text(command, "queued", nameof(JobState.Queued));
            Text(command, "running", nameof(JobState.Running));
            Text(command, "cancelled", nameof(JobState.Cancelled));
            Text(command, "now", Now());
            Integer(command, "exit_code", ExitCodes.JobFailed);
            Text(command, "error", CancelledBeforeStart);
            var changedTo = (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            if (changedTo is not null)
            {
                var wasQueued = changedTo == nameof(JobState.Cancelled);
                await AppendLogAsync(connection, transaction, id, "step", wasQueued ? CancelledBeforeStart : "cancel requested; stopping the job", cancellationToken).ConfigureAwait(false);
                _logger.LogInformation("Cancel requested for job {JobId} while {JobState}", id, wasQueued ? JobState.Queued : JobState.Running);
            }
        }

        var now = await GetAsync(connection, transaction, id, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return now;
    }

    /// <inheritdoc />
    /// <remarks>
    /// As in SQLite: every Running job goes back to Queued (attempt kept, started time and lease cleared) with the log
    /// line <see cref="InterruptedMessage"/>; one whose cancel was requested becomes Cancelled (<see cref="CancelledByStop"/>).
    /// Only the daemon holding the daemon lock (<see cref="PostgresStateDatabase.TryLockDaemonAsync"/>) may call it.
    /// </remarks>
    public Task<int> RequeueInterruptedAsync(CancellationToken cancellationToken = default) =>
        RequeueRunningAsync(expiredBefore: null, InterruptedMessage, cancellationToken);

    /// <inheritdoc />
    public async Task<bool> RenewLeaseAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            "UPDATE jobs SET lease_expires_at = @expires WHERE id = @id AND state = @running AND lease_owner = @owner;", connection);
        Text(command, "expires", PostgresStateDatabase.FormatTimestamp(_timeProvider.GetUtcNow() + LeaseDuration));
        Bigint(command, "id", id);
        Text(command, "running", nameof(JobState.Running));
        Text(command, "owner", LeaseOwner);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public Task<int> RequeueExpiredLeasesAsync(CancellationToken cancellationToken = default) =>
        RequeueRunningAsync(expiredBefore: Now(), LeaseExpiredMessage, cancellationToken);

    /// <inheritdoc />
    /// <remarks><c>epoch.version</c> of the <c>job_changes</c> row (see the class remarks): one primary-key read; null when the server cannot be reached.</remarks>
    public async Task<string?> GetChangeTokenAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand("SELECT epoch || '.' || version FROM job_changes;", connection);
            return (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is UnavailableException or NpgsqlException)
        {
            // The caller's own query reports the error properly; a null token only means "cache nothing".
            return null;
        }
    }

    private string Now() => PostgresStateDatabase.FormatTimestamp(_timeProvider.GetUtcNow());

    // Both requeues in one set-based statement (see the class remarks on one jobs write per transaction).
    private async Task<int> RequeueRunningAsync(string? expiredBefore, string requeuedMessage, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var changed = new List<(long Id, bool Cancelled, int Attempt)>();
        await using (var command = new NpgsqlCommand(
            """
            UPDATE jobs SET
                state = CASE WHEN cancel_requested THEN @cancelled ELSE @queued END,
                finished_at = CASE WHEN cancel_requested THEN @now ELSE NULL END,
                exit_code = CASE WHEN cancel_requested THEN @exit_code ELSE NULL END,
                error = CASE WHEN cancel_requested THEN @error ELSE NULL END,
                started_at = CASE WHEN cancel_requested THEN started_at ELSE NULL END,
                lease_owner = NULL, lease_expires_at = NULL
            WHERE state = @running AND (@expired_before::text IS NULL OR lease_expires_at < @expired_before)
            RETURNING id, cancel_requested, attempt;
            """,
            connection,
            transaction))
        {
            Text(command, "cancelled", nameof(JobState.Cancelled));
            Text(command, "queued", nameof(JobState.Queued));
            Text(command, "running", nameof(JobState.Running));
            Text(command, "now", Now());
            Integer(command, "exit_code", ExitCodes.JobFailed);
            Text(command, "error", CancelledByStop);
            Text(command, "expired_before", expiredBefore);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                changed.Add((reader.GetInt64(0), reader.GetBoolean(1), reader.GetInt32(2)));
            }
        }

        foreach (var (id, cancelled, attempt) in changed.OrderBy(job => job.Id))
        {
            await AppendLogAsync(connection, transaction, id, "step", cancelled ? CancelledByStop : requeuedMessage, cancellationToken).ConfigureAwait(false);
            _logger.LogWarning("Job {JobId} (attempt {Attempt}): {Reason}; {Outcome}", id, attempt, requeuedMessage, cancelled ? "cancelled as requested" : "queued again");
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return changed.Count(job => !job.Cancelled);
    }

    private async Task<Job?> ClaimRowAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long id, CancellationToken cancellationToken)
    {
        await using (var lockRow = new NpgsqlCommand("SELECT id FROM jobs WHERE id = @id AND state = @queued FOR UPDATE SKIP LOCKED;", connection, transaction))
        {
            Bigint(lockRow, "id", id);
            Text(lockRow, "queued", nameof(JobState.Queued));
            if (await lockRow.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                // Locked by another claimer, or no longer queued (claimed or cancelled since the page was read).
                return null;
            }
        }

        await using var command = new NpgsqlCommand(
            $"""
            UPDATE jobs SET state = @running, attempt = attempt + 1, started_at = @now, lease_owner = @owner, lease_expires_at = @expires
            WHERE id = @id
            RETURNING {Columns};
            """,
            connection,
            transaction);
        var now = _timeProvider.GetUtcNow();
        Text(command, "running", nameof(JobState.Running));
        Text(command, "now", PostgresStateDatabase.FormatTimestamp(now));
        Text(command, "owner", LeaseOwner);
        Text(command, "expires", PostgresStateDatabase.FormatTimestamp(now + LeaseDuration));
        Bigint(command, "id", id);
        return (await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false))[0];
    }

    private static async Task<bool> TryLockLaneAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string lane, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock(@class, hashtext(@lane));", connection, transaction);
        Integer(command, "class", LaneLockClass);
        Text(command, "lane", lane);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private static async Task<HashSet<string>> RunningLanesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Func<Job, string> laneOf, CancellationToken cancellationToken)
    {
        var running = await ListByStateAsync(connection, transaction, JobState.Running, 0, int.MaxValue, cancellationToken).ConfigureAwait(false);
        return running.Select(laneOf).ToHashSet(StringComparer.Ordinal);
    }

    private async Task<JobLogEntry?> AppendLogAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long id, string kind, string message, CancellationToken cancellationToken)
    {
        // The per-job lock (bigint key space, apart from the two-key locks above) makes max + 1 safe against a concurrent append.
        await using var command = new NpgsqlCommand(
            """
            SELECT pg_advisory_xact_lock(@id);
            INSERT INTO job_log (job_id, sequence, at, kind, message)
            SELECT @id, COALESCE((SELECT MAX(sequence) FROM job_log WHERE job_id = @id), 0) + 1, @at, @kind, @message
            WHERE EXISTS (SELECT 1 FROM jobs WHERE id = @id)
            RETURNING sequence, at;
            """,
            connection,
            transaction);
        Bigint(command, "id", id);
        Text(command, "at", Now());
        Text(command, "kind", kind);
        Text(command, "message", message);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        // The first result set is the lock's single row.
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new JobLogEntry(reader.GetInt64(0), ParseTimestamp(reader.GetString(1), "job_log", id), kind, message)
            : null;
    }

    private static async Task<Job?> GetAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long id, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM jobs WHERE id = @id;", connection, transaction);
        Bigint(command, "id", id);
        var jobs = await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false);
        return jobs.Count == 0 ? null : jobs[0];
    }

    private static async Task<IReadOnlyList<Job>> ListByStateAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, JobState state, long afterId, int limit, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM jobs WHERE state = @state AND id > @after ORDER BY id LIMIT @limit;", connection, transaction);
        Text(command, "state", state.ToString());
        Bigint(command, "after", afterId);
        Integer(command, "limit", limit);
        return await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<Job>> ReadJobsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
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
    private static Job ReadJob(NpgsqlDataReader reader)
    {
        var id = reader.GetInt64(0);
        var request = new JobRequest(
            ParseEnum<JobKind>(reader.GetString(1), id),
            reader.GetString(2),
            reader.IsDBNull(3) ? null : ParseDigest(reader.GetString(3), "jobs", id),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            reader.GetBoolean(5),
            reader.GetBoolean(6),
            reader.GetBoolean(17))
        {
            Definition = reader.IsDBNull(18)
                ? null
                : new DefinitionHashes(ParseDigest(reader.GetString(18), "jobs", id), reader.IsDBNull(19) ? null : ParseDigest(reader.GetString(19), "jobs", id)),
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
            reader.GetBoolean(13),
            reader.IsDBNull(14) ? null : reader.GetString(14),
            reader.IsDBNull(15) ? null : reader.GetInt32(15),
            reader.IsDBNull(16) ? null : reader.GetString(16));
    }

    private static TEnum ParseEnum<TEnum>(string text, long id)
        where TEnum : struct, Enum =>
        Enum.TryParse<TEnum>(text, ignoreCase: false, out var value) && Enum.IsDefined(value)
            ? value
            : throw Corrupt("jobs", id, $"'{text}' is not a {typeof(TEnum).Name} ({string.Join(", ", Enum.GetNames<TEnum>())})");
}
