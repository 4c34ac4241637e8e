using Orchestrator.Core.Ports;

namespace Orchestrator.Daemon.Api;

/// <summary>
/// One poll of the job store's change token shared by every live watcher (<c>GET /api/jobs/{id}/events</c>): the
/// token (one pragma on SQLite, moved by any job write from any process, log lines included) is read every
/// <see cref="Interval"/> while at least one watcher holds a <see cref="Watch"/> lease, and by nobody while none does.
/// A watcher re-reads its job only after <see cref="Changed"/> completes, so a hundred watchers of an idle job cost one
/// pragma per interval, not a hundred log queries. A store without a change token (null) wakes them at every interval.
/// </summary>
internal sealed class JobChangeFeed(IJobStore store, TimeProvider time)
{
    /// <summary>How often the token is read while someone watches. <value>250 ms.</value></summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _watchers;
    private bool _polling;

    /// <summary>
    /// Completes at the next change seen after it was read. Read it before reading the job, then await it: a write
    /// landing between the read and the await still completes it, so no change is missed.
    /// </summary>
    public Task Changed => Volatile.Read(ref _changed).Task;

    /// <summary>How many watchers hold a lease now (for tests and metrics).</summary>
    public int Watchers
    {
        get
        {
            lock (_gate)
            {
                return _watchers;
            }
        }
    }

    /// <summary>Keeps the poll running until the lease is disposed.</summary>
    public IDisposable Watch()
    {
        lock (_gate)
        {
            _watchers++;
            if (!_polling)
            {
                _polling = true;
                _ = Task.Run(PollAsync, CancellationToken.None);
            }
        }

        return new Lease(this);
    }

    private void Release()
    {
        lock (_gate)
        {
            _watchers--;
        }
    }

    private async Task PollAsync()
    {
        // null at first: the poll's first read wakes everyone once, so a write that landed before this poll had a
        // baseline (between a watcher's first read and now) is never missed.
        string? last = null;
        var first = true;
        while (true)
        {
            lock (_gate)
            {
                if (_watchers == 0)
                {
                    _polling = false;
                    return;
                }
            }

            string? token;
            try
            {
                token = await store.GetChangeTokenAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A store that cannot answer now wakes the watchers, whose own reads report the failure.
                token = null;
            }

            if (first || token is null || token != last)
            {
                Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }

            first = false;
            last = token;
            await Task.Delay(Interval, time).ConfigureAwait(false);
        }
    }

    private sealed class Lease(JobChangeFeed feed) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                feed.Release();
            }
        }
    }
}
