using System.Collections.Concurrent;

namespace Orchestrator.Daemon.Workers;

/// <summary>Why a pipeline is stale or changed, and since when.</summary>
public sealed record StaleInfo(string Reason, DateTimeOffset Since);

/// <summary>
/// What the daemon knows of each pipeline's freshness, in memory, kept as two separate facts:
/// <list type="bullet">
/// <item><b>stale</b>: its lock no longer describes it, by <see cref="Core.Locks.LockStatus.Check"/> (through
/// <see cref="Core.Locks.LockWorkflow.CheckAsync"/>), the very rule <c>orchestrator lock --check</c> applies, so the
/// two always agree; the watcher sets it every tick.</item>
/// <item><b>changed</b>: its inputs (file, lock, copied files, base digest) changed since its last successful build;
/// the watcher marks, a successful build or run clears, <c>auto: build</c> rebuilds on it.</item>
/// </list>
/// <c>GET /api/pipelines</c> shows both.
/// </summary>
internal sealed class StaleTracker
{
    private readonly ConcurrentDictionary<string, StaleInfo> _changed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StaleInfo> _stale = new(StringComparer.Ordinal);
    private long _version;

    /// <summary>Increases on every change of either mark, so views that include them know when to rebuild.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Marks <paramref name="pipeline"/> changed since its last build.</summary>
    public void Mark(string pipeline, string reason, DateTimeOffset at)
    {
        _changed.AddOrUpdate(pipeline, new StaleInfo(reason, at), (_, existing) => existing with { Reason = reason });
        Interlocked.Increment(ref _version);
    }

    /// <summary>A successful build or run: nothing changed since.</summary>
    public void Clear(string pipeline)
    {
        _changed.TryRemove(pipeline, out _);
        Interlocked.Increment(ref _version);
    }

    /// <summary>What changed since the last build, or null.</summary>
    public StaleInfo? Get(string pipeline) => _changed.GetValueOrDefault(pipeline);

    /// <summary>Sets whether the lock is stale (by the lock rule), keeping the first time it was seen stale.</summary>
    public void SetLock(string pipeline, string? staleMessage, DateTimeOffset at)
    {
        // Only a change moves the version: the watcher sets every pipeline's mark on every tick.
        if (staleMessage is null)
        {
            if (_stale.TryRemove(pipeline, out _))
            {
                Interlocked.Increment(ref _version);
            }

            return;
        }

        if (_stale.TryGetValue(pipeline, out var current) && current.Reason == staleMessage)
        {
            return;
        }

        _stale.AddOrUpdate(pipeline, new StaleInfo(staleMessage, at), (_, existing) => existing with { Reason = staleMessage });
        Interlocked.Increment(ref _version);
    }

    /// <summary>Why the lock is stale (the lock rule's message, with its fix), or null when it is fresh or not checked yet.</summary>
    public StaleInfo? GetLock(string pipeline) => _stale.GetValueOrDefault(pipeline);
}
