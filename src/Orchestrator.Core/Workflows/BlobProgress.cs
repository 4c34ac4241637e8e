using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// Turns the copier's (or pusher's) <see cref="CopyProgress"/> into <see cref="ProgressEvent"/>s: started on a blob's first
/// report, bytes throttled by <see cref="ProgressThrottle"/> (≤ 10 per second per blob), done at its last byte.
/// Disposing reports every blob that did not finish as failed, so a renderer never keeps a bar running for a copy that
/// stopped. Synchronous and thread-safe, like <see cref="ReporterProgress"/>.
/// </summary>
/// <param name="reporter">Where the events go.</param>
/// <param name="activity"><c>copy</c> or <c>push</c>.</param>
/// <param name="time">The clock, for elapsed times and the throttle.</param>
public sealed class BlobProgress(IJobReporter reporter, string activity, TimeProvider time) : IProgress<CopyProgress>, IDisposable
{
    private readonly ProgressThrottle _throttle = new(time);
    private readonly Dictionary<Digest, (long Started, long Done, long Size)> _running = [];

    public void Report(CopyProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var digest = value.Blob.ToString();
        var now = time.GetTimestamp();
        long started;
        bool first;
        lock (_running)
        {
            first = !_running.TryGetValue(value.Blob, out var running);
            started = first ? now : running.Started;
            if (value.BytesDone >= value.Size)
            {
                _running.Remove(value.Blob);
            }
            else
            {
                _running[value.Blob] = (started, value.BytesDone, value.Size);
            }
        }

        if (first)
        {
            reporter.Event(ProgressEvent.BlobStarted(digest, activity, value.Size));
        }

        if (value.BytesDone >= value.Size)
        {
            _throttle.ShouldEmit(digest, final: true);
            reporter.Event(ProgressEvent.BlobDone(digest, activity, value.Size, time.GetElapsedTime(started, now)));
        }
        else if (value.BytesDone > 0 && _throttle.ShouldEmit(digest, final: false))
        {
            reporter.Event(ProgressEvent.BlobBytes(digest, activity, value.BytesDone, value.Size));
        }
    }

    /// <summary>Reports the blobs that started and did not finish as failed.</summary>
    public void Dispose()
    {
        List<KeyValuePair<Digest, (long Started, long Done, long Size)>> unfinished;
        lock (_running)
        {
            unfinished = [.. _running];
            _running.Clear();
        }

        foreach (var (digest, (started, done, size)) in unfinished)
        {
            reporter.Event(ProgressEvent.BlobFailed(digest.ToString(), activity, done, size, time.GetElapsedTime(started)));
        }
    }
}
