using Orchestrator.Core.Jobs;

namespace Orchestrator.Core.Ports;

/// <summary>
/// The daemon replicas sharing one job queue (issue 14, item 2): each replica registers itself, heartbeats, and may
/// hold the pipeline watcher's lock; anyone can list who is alive, who leases which Running job and who watches. A row
/// whose heartbeat is older than its expiry is shown as down, never deleted by another replica. The PostgreSQL store
/// implements it; the SQLite file has one daemon, which reports itself from memory.
/// </summary>
public interface IReplicaRegistry
{
    /// <summary>
    /// Writes (or rewrites) this replica's row: <see cref="ReplicaRegistration.Id"/> is the job store's lease owner, so
    /// the jobs it leases can be joined to it. Sets <c>started_at</c> and the first heartbeat.
    /// </summary>
    Task RegisterAsync(ReplicaRegistration registration, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves replica <paramref name="id"/>'s heartbeat to now and its expiry to now + <paramref name="expiresAfter"/>,
    /// recording whether it holds the watcher lock now. False when the row is gone (then register again).
    /// </summary>
    Task<bool> HeartbeatAsync(string id, bool holdsWatcher, TimeSpan expiresAfter, CancellationToken cancellationToken = default);

    /// <summary>Marks replica <paramref name="id"/> as stopped (its expiry becomes now), on a clean stop.</summary>
    Task MarkStoppedAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Every registered replica, newest start first, with the Running jobs each one leases now.</summary>
    Task<IReadOnlyList<ReplicaRecord>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Tries to take the pipeline watcher's lock (one holder at a time across every replica); null when another replica
    /// holds it. The lock lasts until the handle is disposed or the holder's connection or process dies.
    /// </summary>
    Task<IHeldLock?> TryLockWatcherAsync(CancellationToken cancellationToken = default);
}

/// <summary>A lock held across processes, e.g. on a dedicated database session. Disposing releases it.</summary>
public interface IHeldLock : IAsyncDisposable
{
    /// <summary>False when the lock was lost (its session ended); the holder must stop acting on it and try again.</summary>
    Task<bool> IsHeldAsync(CancellationToken cancellationToken = default);
}
