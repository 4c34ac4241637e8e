namespace Orchestrator.Core.Ports;

/// <summary>
/// Job leases of a queue several daemons share (issue 14): a claim gives the claiming process a lease on the job until
/// a deadline; the process renews it by heartbeat while the job runs; a job whose lease ran out (its daemon died) is
/// queued again by whoever notices. A store that only one daemon ever uses (the SQLite file, held under an exclusive
/// lock) does not implement it.
/// </summary>
public interface IJobLeases
{
    /// <summary>Who this store claims as (<c>lease_owner</c>): unique per process, e.g. <c>host:pid:random</c>.</summary>
    string LeaseOwner { get; }

    /// <summary>How long a claim or a heartbeat holds the lease.</summary>
    TimeSpan LeaseDuration { get; }

    /// <summary>
    /// Heartbeat: extends the lease of Running job <paramref name="id"/> to now + <see cref="LeaseDuration"/>. False when
    /// this process no longer holds it (the job ended, was requeued after expiry, or is leased by another process): the
    /// caller should stop working on the job.
    /// </summary>
    Task<bool> RenewLeaseAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Queues again every Running job whose lease expired before now (attempt kept, the next claim increments it); one
    /// whose cancel had been requested becomes Cancelled instead. Returns how many were queued again.
    /// </summary>
    Task<int> RequeueExpiredLeasesAsync(CancellationToken cancellationToken = default);
}
