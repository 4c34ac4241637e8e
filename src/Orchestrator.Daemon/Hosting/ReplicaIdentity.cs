using System.Reflection;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;

namespace Orchestrator.Daemon.Hosting;

/// <summary>
/// This daemon as a replica: its id (the job store's lease owner on a shared queue, else <c>host:pid:random</c>), what it
/// registers with, which store it is on (<c>postgres</c> or <c>sqlite</c>) and its lease duration.
/// </summary>
internal sealed record ReplicaIdentity(ReplicaRegistration Registration, string Store, TimeSpan LeaseDuration)
{
    public string Id => Registration.Id;

    /// <summary>How often heartbeats (replica row and job leases) are sent: a third of the lease, so two may be lost.</summary>
    public TimeSpan HeartbeatInterval => LeaseDuration / 3;

    public static ReplicaIdentity For(DaemonOptions options)
    {
        var leases = options.Jobs as IJobLeases;
        var id = leases?.LeaseOwner ?? $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
        var version = typeof(ReplicaIdentity).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        return new ReplicaIdentity(
            new ReplicaRegistration(id, Environment.MachineName, Environment.ProcessId, options.EffectiveUrls, version),
            leases is null ? "sqlite" : "postgres",
            leases?.LeaseDuration ?? options.Settings.LeaseDuration);
    }
}
