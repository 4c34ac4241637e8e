using Orchestrator.Core.Jobs;

namespace Orchestrator.Core.Ports;

/// <summary>
/// The persisted job queue (Orchestrator.State). A job is written before it is acknowledged, claimed by
/// one worker at a time, and survives restarts: jobs found running at start-up were interrupted and are
/// queued again. A final job never changes again, so it is never run twice.
/// </summary>
public interface IJobStore
{
    /// <summary>Creates or migrates the schema; safe to call on every start.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores a new queued job (attempt 0 until claimed) and returns it with its id.</summary>
    Task<Job> EnqueueAsync(JobRequest request, string requestedBy, CancellationToken cancellationToken = default);

    /// <summary>The job, or null.</summary>
    Task<Job?> GetAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Jobs matching <paramref name="filter"/>, newest first. A Stage filter matches promote jobs by target stage.</summary>
    Task<IReadOnlyList<Job>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default);

    /// <summary>
    /// Atomically takes the oldest queued job whose lane (<see cref="Job.Lane"/>) is not in
    /// <paramref name="busyLanes"/>, marks it Running (attempt + 1, started now) and returns it; null when none.
    /// </summary>
    Task<Job?> ClaimNextAsync(Func<Job, string> laneOf, IReadOnlySet<string> busyLanes, CancellationToken cancellationToken = default);

    /// <summary>Appends a log line; returns it with its sequence number.</summary>
    Task<JobLogEntry> AppendLogAsync(long id, string kind, string message, CancellationToken cancellationToken = default);

    /// <summary>Log lines with a sequence above <paramref name="afterSequence"/>, in order, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<JobLogEntry>> GetLogAsync(long id, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default);

    /// <summary>Moves a Running job to its final state. A job already final is left as it is (returns false).</summary>
    Task<bool> CompleteAsync(long id, JobState finalState, int exitCode, string? error, string? resultJson, CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels: a queued job becomes Cancelled at once; a running one gets <see cref="Job.CancelRequested"/>
    /// (its worker stops it); a final one is unchanged. Returns the job as it is now, or null when unknown.
    /// </summary>
    Task<Job?> RequestCancelAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>At start-up: every Running job was interrupted by a stop; queue it again. Returns how many.</summary>
    Task<int> RequeueInterruptedAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// A cheap token that changes whenever a job is added or changes in any way a reader can see (state,
    /// attempt, times, cancel request, outcome), from any process sharing the store; readers cache views of
    /// the jobs under it (<c>GET /api/jobs</c>). It may also move when no job changed, never the other way
    /// round. Null means the store cannot say, so nothing may be cached.
    /// </summary>
    Task<string?> GetChangeTokenAsync(CancellationToken cancellationToken = default) => Task.FromResult<string?>(null);
}
