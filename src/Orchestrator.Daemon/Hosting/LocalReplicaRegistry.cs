using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;

namespace Orchestrator.Daemon.Hosting;

/// <summary>
/// The replica view of a daemon alone on its store (the SQLite file, held under an exclusive lock): one replica, this
/// process, kept in memory; it always holds the watcher lock; its leases are the store's Running jobs (it runs them all).
/// </summary>
internal sealed class LocalReplicaRegistry(IJobStore jobs, TimeProvider time) : IReplicaRegistry
{
    private readonly Lock _gate = new();
    private ReplicaRecord? _self;

    public Task RegisterAsync(ReplicaRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        var now = time.GetUtcNow();
        lock (_gate)
        {
            _self = new ReplicaRecord(registration, now, now, now, false, []);
        }

        return Task.CompletedTask;
    }

    public Task<bool> HeartbeatAsync(string id, bool holdsWatcher, TimeSpan expiresAfter, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_self?.Registration.Id != id)
            {
                return Task.FromResult(false);
            }

            _self = _self with { LastHeartbeatAt = now, ExpiresAt = now + expiresAfter, HoldsWatcher = holdsWatcher };
            return Task.FromResult(true);
        }
    }

    public Task MarkStoppedAsync(string id, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_self?.Registration.Id == id)
            {
                _self = _self with { ExpiresAt = time.GetUtcNow(), HoldsWatcher = false };
            }
        }

        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<ReplicaRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        ReplicaRecord? self;
        lock (_gate)
        {
            self = _self;
        }

        if (self is null)
        {
            return [];
        }

        var running = await jobs.ListAsync(new JobFilter(null, null, JobState.Running, null, 1000), cancellationToken).ConfigureAwait(false);
        var leases = running.OrderBy(j => j.Id).Select(j => new ReplicaLease(j.Id, j.Request.Kind, j.Request.Pipeline, j.Request.Stage, null)).ToList();
        return [self with { Leases = leases }];
    }

    public Task<IHeldLock?> TryLockWatcherAsync(CancellationToken cancellationToken = default) => Task.FromResult<IHeldLock?>(AlwaysHeld.Instance);

    private sealed class AlwaysHeld : IHeldLock
    {
        public static readonly AlwaysHeld Instance = new();

        public Task<bool> IsHeldAsync(CancellationToken cancellationToken = default) => Task.FromResult(true);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
