using System.Collections.Concurrent;

namespace Orchestrator.Daemon.Workers;

/// <summary>Why a pipeline is stale (its file, lock, copied files or base digest changed) and since when.</summary>
public sealed record StaleInfo(string Reason, DateTimeOffset Since);

/// <summary>
/// Pipelines whose inputs changed since their last successful build, in memory: the watcher marks,
/// a successful build or run clears, <c>GET /api/pipelines</c> shows.
/// </summary>
internal sealed class StaleTracker
{
    private readonly ConcurrentDictionary<string, StaleInfo> _stale = new(StringComparer.Ordinal);
    private long _version;

    /// <summary>Increases on every mark and clear, so views that include stale know when to rebuild.</summary>
    public long Version => Interlocked.Read(ref _version);

    public void Mark(string pipeline, string reason, DateTimeOffset at)
    {
        _stale.AddOrUpdate(pipeline, new StaleInfo(reason, at), (_, existing) => existing with { Reason = reason });
        Interlocked.Increment(ref _version);
    }

    public void Clear(string pipeline)
    {
        _stale.TryRemove(pipeline, out _);
        Interlocked.Increment(ref _version);
    }

    public StaleInfo? Get(string pipeline) => _stale.GetValueOrDefault(pipeline);
}
