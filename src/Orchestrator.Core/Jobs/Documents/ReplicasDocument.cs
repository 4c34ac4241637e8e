namespace Orchestrator.Core.Jobs.Documents;

/// <summary>
/// <c>GET /api/replicas</c> and <c>status --replicas --json</c>: the daemon replicas on one job queue (issue 14, item 2).
/// <c>store</c> is <c>postgres</c> or <c>sqlite</c>; <c>watcher</c> the id of the live replica holding the pipeline
/// watcher's lock (absent when none does); each replica is <c>alive</c> or <c>down</c> (its heartbeat expired), with the
/// Running jobs it leases. Times are UTC ISO-8601.
/// </summary>
public sealed record ReplicasDocument(string Store, string? Watcher, IReadOnlyList<ReplicaDocument> Replicas)
{
    /// <summary>The document of <paramref name="records"/> as seen at <paramref name="now"/>: alive live first, then by start, newest first.</summary>
    public static ReplicasDocument From(string store, IReadOnlyList<ReplicaRecord> records, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(records);
        var replicas = records
            .OrderByDescending(r => r.IsAliveAt(now))
            .ThenByDescending(r => r.StartedAt)
            .Select(r => new ReplicaDocument(
                r.Registration.Id,
                r.Registration.Host,
                r.Registration.Pid,
                r.Registration.Urls,
                r.Registration.Version,
                r.IsAliveAt(now) ? "alive" : "down",
                r.StartedAt,
                r.LastHeartbeatAt,
                r.ExpiresAt,
                r.HoldsWatcher && r.IsAliveAt(now),
                r.Leases.Select(l => new ReplicaLeaseDocument(l.JobId, l.Kind.ToString().ToLowerInvariant(), l.Pipeline, l.Stage, l.ExpiresAt)).ToList()))
            .ToList();
        return new ReplicasDocument(store, replicas.FirstOrDefault(r => r.Watcher)?.Id, replicas);
    }
}

/// <summary>One replica: who and where, <c>alive</c> or <c>down</c>, its heartbeat, whether it runs the watcher, its leases.</summary>
public sealed record ReplicaDocument(
    string Id,
    string Host,
    int Pid,
    string Urls,
    string Version,
    string State,
    DateTimeOffset StartedAt,
    DateTimeOffset LastHeartbeatAt,
    DateTimeOffset ExpiresAt,
    bool Watcher,
    IReadOnlyList<ReplicaLeaseDocument> Leases);

/// <summary>A Running job leased to a replica, and until when (UTC) the lease holds without a heartbeat.</summary>
public sealed record ReplicaLeaseDocument(long Job, string Kind, string Pipeline, string? Stage, DateTimeOffset? ExpiresAt);
