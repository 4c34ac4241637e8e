using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;

namespace Orchestrator.Daemon.Tests.Fakes;

/// <summary>A job store whose enqueue waits for the test: proves what the API does before the write commits.</summary>
internal sealed class GatedJobStore(IJobStore inner) : IJobStore, IAsyncDisposable
{
    public TaskCompletionSource EnqueueEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource AllowEnqueue { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

    public async Task<Job> EnqueueAsync(JobRequest request, string requestedBy, CancellationToken cancellationToken = default)
    {
        EnqueueEntered.TrySetResult();
        await AllowEnqueue.Task.WaitAsync(cancellationToken);
        return await inner.EnqueueAsync(request, requestedBy, cancellationToken);
    }

    public Task<Job?> GetAsync(long id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

    public Task<IReadOnlyList<Job>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default) => inner.ListAsync(filter, cancellationToken);

    public Task<Job?> ClaimNextAsync(Func<Job, string> laneOf, IReadOnlySet<string> busyLanes, CancellationToken cancellationToken = default) => inner.ClaimNextAsync(laneOf, busyLanes, cancellationToken);

    public Task<JobLogEntry> AppendLogAsync(long id, string kind, string message, CancellationToken cancellationToken = default) => inner.AppendLogAsync(id, kind, message, cancellationToken);

    public Task<IReadOnlyList<JobLogEntry>> GetLogAsync(long id, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default) => inner.GetLogAsync(id, afterSequence, limit, cancellationToken);

    public Task<bool> CompleteAsync(long id, JobState finalState, int exitCode, string? error, string? resultJson, CancellationToken cancellationToken = default) => inner.CompleteAsync(id, finalState, exitCode, error, resultJson, cancellationToken);

    public Task<Job?> RequestCancelAsync(long id, CancellationToken cancellationToken = default) => inner.RequestCancelAsync(id, cancellationToken);

    public Task<int> RequeueInterruptedAsync(CancellationToken cancellationToken = default) => inner.RequeueInterruptedAsync(cancellationToken);

    public Task<string?> GetChangeTokenAsync(CancellationToken cancellationToken = default) => inner.GetChangeTokenAsync(cancellationToken);

    public ValueTask DisposeAsync() => inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;
}
