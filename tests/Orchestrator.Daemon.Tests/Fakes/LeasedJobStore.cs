using System.Collections.Concurrent;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;

namespace Orchestrator.Daemon.Tests.Fakes;

/// <summary>
/// A real job store seen as a shared queue (<see cref="IJobLeases"/>): renewals answer what <see cref="Renewals"/> says
/// (true by default) and every call is counted, so a test can take a lease away or check which requeue the worker used.
/// </summary>
internal sealed class LeasedJobStore(IJobStore inner, TimeSpan leaseDuration) : IJobStore, IJobLeases, IAsyncDisposable
{
    public string LeaseOwner => "replica-under-test";

    public TimeSpan LeaseDuration => leaseDuration;

    /// <summary>Answers to renewals by job id; a job not listed keeps its lease.</summary>
    public ConcurrentDictionary<long, bool> Renewals { get; } = new();

    public ConcurrentQueue<long> Renewed { get; } = new();

    public int ExpiredSweeps => Volatile.Read(ref _expiredSweeps);

    public int InterruptedRequeues => Volatile.Read(ref _interruptedRequeues);

    private int _expiredSweeps;
    private int _interruptedRequeues;

    public Task<bool> RenewLeaseAsync(long id, CancellationToken cancellationToken = default)
    {
        Renewed.Enqueue(id);
        return Task.FromResult(Renewals.GetValueOrDefault(id, true));
    }

    public Task<int> RequeueExpiredLeasesAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _expiredSweeps);
        return Task.FromResult(0);
    }

    public Task<int> RequeueInterruptedAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _interruptedRequeues);
        return inner.RequeueInterruptedAsync(cancellationToken);
    }

    public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

    public Task<Job> EnqueueAsync(JobRequest request, string requestedBy, CancellationToken cancellationToken = default) => inner.EnqueueAsync(request, requestedBy, cancellationToken);

    public Task<Job?> GetAsync(long id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

    public Task<IReadOnlyList<Job>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default) => inner.ListAsync(filter, cancellationToken);

    public Task<Job?> ClaimNextAsync(Func<Job, string> laneOf, IReadOnlySet<string> busyLanes, CancellationToken cancellationToken = default) => inner.ClaimNextAsync(laneOf, busyLanes, cancellationToken);

    public Task<JobLogEntry> AppendLogAsync(long id, string kind, string message, CancellationToken cancellationToken = default) => inner.AppendLogAsync(id, kind, message, cancellationToken);

    public Task<IReadOnlyList<JobLogEntry>> GetLogAsync(long id, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default) => inner.GetLogAsync(id, afterSequence, limit, cancellationToken);

    public Task<bool> CompleteAsync(long id, JobState finalState, int exitCode, string? error, string? resultJson, CancellationToken cancellationToken = default) => inner.CompleteAsync(id, finalState, exitCode, error, resultJson, cancellationToken);

    public Task<Job?> RequestCancelAsync(long id, CancellationToken cancellationToken = default) => inner.RequestCancelAsync(id, cancellationToken);

    public Task<string?> GetChangeTokenAsync(CancellationToken cancellationToken = default) => inner.GetChangeTokenAsync(cancellationToken);

    public ValueTask DisposeAsync() => inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;
}
