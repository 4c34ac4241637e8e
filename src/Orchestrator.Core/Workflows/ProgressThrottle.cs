namespace Orchestrator.Core.Workflows;

/// <summary>
/// Thins a stream of byte-progress events to at most one per <c>interval</c> per key (a blob), always letting the
/// first and the final one through, so a fast copy reports its end and a log is not flooded with a line per chunk.
/// Thread-safe: blobs move in parallel.
/// </summary>
/// <param name="time">The clock; tests pass a fake one.</param>
/// <param name="interval">The least time between two events of one key. <value>The default is 100 ms (≤ 10 per second).</value></param>
public sealed class ProgressThrottle(TimeProvider time, TimeSpan? interval = null)
{
    private readonly TimeSpan _interval = interval ?? TimeSpan.FromMilliseconds(100);
    private readonly Dictionary<string, long> _last = new(StringComparer.Ordinal);

    /// <summary>The least time between two events of one key.</summary>
    public TimeSpan Interval => _interval;

    /// <summary>True when an event for <paramref name="key"/> may go now; <paramref name="final"/> events always may (and forget the key).</summary>
    public bool ShouldEmit(string key, bool final)
    {
        var now = time.GetTimestamp();
        lock (_last)
        {
            if (final)
            {
                _last.Remove(key);
                return true;
            }

            if (_last.TryGetValue(key, out var last) && time.GetElapsedTime(last, now) < _interval)
            {
                return false;
            }

            _last[key] = now;
            return true;
        }
    }
}
