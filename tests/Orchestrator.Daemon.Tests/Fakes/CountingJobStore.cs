using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;

namespace Orchestrator.Daemon.Tests.Fakes;

/// <summary>
/// A job store that counts its list reads and can hide its change token (<see cref="HideChangeToken"/>), over a
/// real store: proves when <c>GET /api/jobs</c> reads the jobs again and when it serves its cache.
/// </summary>
internal sealed class CountingJobStore(IJobStore inner) : IJobStore, IAsyncDisposable
{
    private int _lists;

    /// <summary>How many times <see cref="ListAsync"/> was called.</summary>
    public int Lists => Volatile.Read(ref _lists);

    /// <summary>When true, the store answers null for its change token, as a store that cannot say would.</summary>
    public bool HideChangeToken { get; set; }

    public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

    public Task<Job> EnqueueAsync(JobRequest request, string requestedBy, CancellationToken cancellationToken = default) => inner.EnqueueAsync(request, requestedBy, cancellationToken);

    public Task<Job?> GetAsync(long id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

    public Task<IReadOnlyList<Job>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _lists);
        return inner.ListAsync(filter, cancellationToken);
    }

    public Task<Job?> ClaimNextAsync(Func<Job, string> laneOf, IReadOnlySet<string> busyLanes, CancellationToken cancellationToken = default) => inner.ClaimNextAsync(laneOf, busyLanes, cancellationToken);

    public Task<JobLogEntry> AppendLogAsync(long id, string kind, string message, CancellationToken cancellationToken = default) => inner.AppendLogAsync(id, kind, message, cancellationToken);

    public Task<IReadOnlyList<JobLogEntry>> GetLogAsync(long id, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default) => inner.GetLogAsync(id, afterSequence, limit, cancellationToken);

    public Task<bool> CompleteAsync(long id, JobState finalState, int exitCode, string? error, string? resultJson, CancellationToken cancellationToken = default) => inner.CompleteAsync(id, finalState, exitCode, error, resultJson, cancellationToken);

    public Task<Job?> RequestCancelAsync(long id, CancellationToken cancellationToken = default) => inner.RequestCancelAsync(id, cancellationToken);

    public Task<int> RequeueInterruptedAsync(CancellationToken cancellationToken = default) => inner.RequeueInterruptedAsync(cancellationToken);

    /// <summary>How many times <see cref="GetChangeTokenAsync"/> was called.</summary>
    public int TokenReads => Volatile.Read(ref _tokenReads);

    private int _tokenReads;

    public Task<string?> GetChangeTokenAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _tokenReads);
        return HideChangeToken ? Task.FromResult<string?>(null) : inner.GetChangeTokenAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;
}
