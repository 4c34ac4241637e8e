using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Orchestrator.Registry.Resilience;

/// <summary>
/// One registry's request budget, shared by every client and copy the factory creates for it: an
/// optional steady rate (<see cref="RegistryClientOptions.RequestsPerSecond"/>, a GCRA token bucket
/// with a burst of one second's worth), and a pause that a <c>429 Too Many Requests</c> imposes on all
/// of them at once, for its <c>Retry-After</c> (RFC 9110 section 10.2.3; the distribution spec's
/// <c>TOOMANYREQUESTS</c>) or, without one, the retry delay. Without the shared pause, the other
/// parallel copies would keep hammering a registry that just asked everyone to slow down. Spent by
/// <see cref="ResilienceHandler"/> on every attempt, before the attempt's timeout starts.
/// </summary>
internal sealed partial class RegistryRateBudget
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _burst;
    private readonly ILogger _logger;
    private DateTimeOffset _pausedUntil = DateTimeOffset.MinValue;
    private DateTimeOffset _theoreticalArrival = DateTimeOffset.MinValue;

    /// <param name="registry">The registry's authority, for log lines.</param>
    /// <param name="requestsPerSecond">Steady rate; 0 for none (only 429 pauses).</param>
    /// <param name="timeProvider">The clock the waits run on.</param>
    /// <param name="logger">Logs each pause.</param>
    public RegistryRateBudget(string registry, double requestsPerSecond, TimeProvider timeProvider, ILogger? logger = null)
    {
        Registry = registry;
        _timeProvider = timeProvider;
        _logger = logger ?? NullLogger.Instance;
        if (requestsPerSecond > 0)
        {
            _interval = TimeSpan.FromSeconds(1 / requestsPerSecond);
            _burst = _interval * (Math.Max(1, Math.Ceiling(requestsPerSecond)) - 1);
        }
    }

    /// <summary>The registry's authority (<c>http://127.0.0.1:5001</c>).</summary>
    public string Registry { get; }

    /// <summary>Takes a slot and says how long to wait before sending: zero when the budget has room.</summary>
    public TimeSpan Reserve()
    {
        lock (_lock)
        {
            var now = _timeProvider.GetUtcNow();
            var start = _pausedUntil > now ? _pausedUntil : now;
            if (_interval > TimeSpan.Zero)
            {
                var arrival = _theoreticalArrival > start ? _theoreticalArrival : start;
                var allowed = arrival - _burst;
                if (allowed > start)
                {
                    start = allowed;
                }

                _theoreticalArrival = (arrival > start ? arrival : start) + _interval;
            }

            return start - now;
        }
    }

    /// <summary>Holds every request to the registry back for <paramref name="delay"/> from now (never shortens a pause already set).</summary>
    public void Pause(TimeSpan delay)
    {
        lock (_lock)
        {
            var until = _timeProvider.GetUtcNow() + delay;
            if (until > _pausedUntil)
            {
                _pausedUntil = until;
                LogPaused(_logger, Registry, delay.TotalMilliseconds);
            }
        }
    }

    /// <summary>Waits for a slot (see <see cref="Reserve"/>).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public async ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        var wait = Reserve();
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Registry {Registry} answered 429: every request to it pauses {DelayMs} ms")]
    private static partial void LogPaused(ILogger logger, string registry, double delayMs);
}
