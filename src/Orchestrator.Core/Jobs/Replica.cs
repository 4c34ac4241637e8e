namespace Orchestrator.Core.Jobs;

/// <summary>What a daemon replica says about itself when it registers (see <see cref="Ports.IReplicaRegistry"/>).</summary>
/// <param name="Id">Unique per process: the job store's lease owner, e.g. <c>host:pid:random</c>.</param>
/// <param name="Host">The machine name.</param>
/// <param name="Pid">The process id on <paramref name="Host"/>.</param>
/// <param name="Urls">Where its API listens, <c>;</c>-separated.</param>
/// <param name="Version">The Orchestrator version it runs.</param>
public sealed record ReplicaRegistration(string Id, string Host, int Pid, string Urls, string Version);

/// <summary>A replica as the registry holds it.</summary>
/// <param name="Registration">What it registered with.</param>
/// <param name="StartedAt">When it registered (UTC).</param>
/// <param name="LastHeartbeatAt">Its last heartbeat (UTC).</param>
/// <param name="ExpiresAt">When it counts as down without another heartbeat (UTC); its own lease duration after the last one.</param>
/// <param name="HoldsWatcher">Whether it said, at its last heartbeat, that it holds the pipeline watcher's lock.</param>
/// <param name="Leases">The Running jobs leased to it now, by id order.</param>
public sealed record ReplicaRecord(
    ReplicaRegistration Registration,
    DateTimeOffset StartedAt,
    DateTimeOffset LastHeartbeatAt,
    DateTimeOffset ExpiresAt,
    bool HoldsWatcher,
    IReadOnlyList<ReplicaLease> Leases)
{
    /// <summary>Alive at <paramref name="now"/>: its last heartbeat has not expired.</summary>
    public bool IsAliveAt(DateTimeOffset now) => ExpiresAt > now;
}

/// <summary>A Running job leased to a replica, and until when the lease holds without a heartbeat.</summary>
public sealed record ReplicaLease(long JobId, JobKind Kind, string Pipeline, string? Stage, DateTimeOffset? ExpiresAt);
