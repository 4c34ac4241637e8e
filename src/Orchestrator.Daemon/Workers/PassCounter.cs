namespace Orchestrator.Daemon.Workers;

/// <summary>
/// Counts the passes of a background loop (the worker's claim pass, the watcher's tick, a job run to its end) so
/// that a caller can wait for a whole pass that began after it asked: the point where the loop would have acted
/// on something the caller did just before. Tests wait on it instead of sleeping and hoping the loop ran; it
/// costs the daemon one lock per pass.
/// </summary>
internal sealed class PassCounter
{
    private readonly Lock _gate = new();
    private readonly List<(long Target, TaskCompletionSource Done)> _waiters = [];
    private long _completed;
    private bool _inProgress;

    /// <summary>How many passes have ended.</summary>
    public long Completed
    {
        get
        {
            lock (_gate)
            {
                return _completed;
            }
        }
    }

    /// <summary>Called by the loop as a pass begins.</summary>
    public void Begin()
    {
        lock (_gate)
        {
            _inProgress = true;
        }
    }

    /// <summary>Called by the loop as a pass ends (also when it ended in an error).</summary>
    public void End()
    {
        List<TaskCompletionSource> due;
        lock (_gate)
        {
            _inProgress = false;
            _completed++;
            due = [.. _waiters.Where(w => w.Target <= _completed).Select(w => w.Done)];
            _waiters.RemoveAll(w => w.Target <= _completed);
        }

        foreach (var done in due)
        {
            done.TrySetResult();
        }
    }

    /// <summary>Completes once <paramref name="count"/> passes have ended in all.</summary>
    public Task WaitForAsync(long count, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_completed >= count)
            {
                return Task.CompletedTask;
            }

            _waiters.Add((count, done));
        }

        return done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Completes when a pass that began after this call has ended. A pass already running may have read its
    /// input before the caller's change, so it does not count: then the one after it is awaited.
    /// </summary>
    public Task NextWholePassAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiters.Add((_completed + (_inProgress ? 2 : 1), done));
        }

        return done.Task.WaitAsync(cancellationToken);
    }
}
