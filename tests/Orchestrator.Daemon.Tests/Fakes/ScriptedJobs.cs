using System.Collections.Concurrent;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Daemon.Tests.Fakes;

/// <summary>
/// Stands in for JobRunner: records which jobs started and how many ran at once. With <see cref="Block"/>
/// each job waits for <see cref="Release"/> (or its cancel); otherwise it succeeds at once with a result
/// document carrying <see cref="ResultDigest"/> (or the job's own digest).
/// </summary>
internal sealed class ScriptedJobs
{
    public static readonly Digest ResultDigest = Digest.Parse("sha256:" + new string('a', 64));

    private readonly ConcurrentDictionary<long, TaskCompletionSource<JobOutcome>> _gates = new();
    private readonly ConcurrentDictionary<long, TaskCompletionSource<Job>> _started = new();
    private int _current;
    private int _max;

    public bool Block { get; set; }

    /// <summary>Runs first in every job with the context the worker gave it (e.g. to create a container through its engine).</summary>
    public Func<Job, JobContext, Task>? OnStart { get; set; }

    /// <summary>What a cancelled job returns; a real cancel can surface as an engine failure instead.</summary>
    public JobOutcome CancelledOutcome { get; set; } = new(JobState.Cancelled, ExitCodes.JobFailed, "cancelled", null);

    public ConcurrentQueue<Job> Started { get; } = new();

    /// <summary>The version of its pipeline each job was handed, by job id: what it would have built.</summary>
    public ConcurrentDictionary<long, string> RanVersions { get; } = new();

    public int MaxConcurrent => Volatile.Read(ref _max);

    public async Task<JobOutcome> RunAsync(Job job, JobContext context, CancellationToken cancellationToken)
    {
        var now = Interlocked.Increment(ref _current);
        InterlockedMax(ref _max, now);
        if (OnStart is { } onStart)
        {
            await onStart(job, context);
        }

        Started.Enqueue(job);
        if (context.Workspace.Pipelines.TryGetValue(job.Request.Pipeline, out var pipeline))
        {
            RanVersions[job.Id] = pipeline.Version;
        }

        _started.GetOrAdd(job.Id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(job);
        try
        {
            if (!Block)
            {
                return Success(job);
            }

            var gate = _gates.GetOrAdd(job.Id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
            return await gate.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // As JobRunner does: a cancelled job is an outcome, not an exception.
            return CancelledOutcome;
        }
        finally
        {
            Interlocked.Decrement(ref _current);
        }
    }

    public static JobOutcome Success(Job job) =>
        new(JobState.Succeeded, 0, null, $"{{\"pipeline\":\"{job.Request.Pipeline}\",\"digest\":\"{job.Request.Digest ?? ResultDigest}\"}}");

    /// <summary>Waits until job <paramref name="id"/> has started running.</summary>
    public Task<Job> WaitStartedAsync(long id) =>
        _started.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(TimeSpan.FromSeconds(15));

    public bool HasStarted(long id) => _started.TryGetValue(id, out var started) && started.Task.IsCompleted;

    /// <summary>Lets <paramref name="job"/> finish with <paramref name="outcome"/> (default: success).</summary>
    public void Release(Job job, JobOutcome? outcome = null) =>
        _gates.GetOrAdd(job.Id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(outcome ?? Success(job));

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
