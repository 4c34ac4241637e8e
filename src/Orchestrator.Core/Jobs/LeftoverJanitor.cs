using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Jobs;

/// <summary>The labels that say who created a container, so leftovers can be told from containers in use.</summary>
public static class ContainerOwnership
{
    /// <summary>Who created the container: <c>daemon:HEX</c> for a daemon over one state store (<see cref="DaemonOwner"/>).</summary>
    public const string OwnerLabel = "io.orchestrator.owner";

    /// <summary>The id, in the owner's job store, of the job that created the container.</summary>
    public const string JobLabel = "io.orchestrator.job";

    /// <summary>
    /// The owner value of a daemon over the state store at <paramref name="statePath"/> on this machine:
    /// <c>daemon:</c> and the first 16 hex digits of SHA-256 over the machine name and the full path. Two
    /// daemons (or test workspaces) sharing an engine never share an owner, since each has its own store.
    /// </summary>
    public static string DaemonOwner(string statePath)
    {
        var identity = $"{Environment.MachineName}\n{Path.GetFullPath(statePath)}";
        return "daemon:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..16];
    }
}

/// <summary>
/// Removes the containers a daemon killed mid-job left in the engine: those carrying the daemon's
/// <see cref="ContainerOwnership.OwnerLabel"/> whose <see cref="ContainerOwnership.JobLabel"/> names no job
/// the daemon runs now. Containers of other owners (another daemon, an in-process CLI run, anything not
/// Orchestrator's) are never touched, and neither is a running job's.
/// </summary>
/// <param name="engine">The engine jobs run on.</param>
/// <param name="owner">This daemon's owner value (<see cref="ContainerOwnership.DaemonOwner"/>).</param>
/// <param name="logger">Where removals and failures are reported.</param>
public sealed partial class LeftoverJanitor(IDockerEngine engine, string owner, ILogger<LeftoverJanitor> logger)
{
    /// <summary>
    /// Removes (forced, with anonymous volumes) every container of this owner whose job is not in
    /// <paramref name="runningJobs"/>. An engine that does not answer is logged and skipped: leftovers are
    /// removed on the next pass, and must never stop the daemon from starting or a job from ending.
    /// </summary>
    /// <param name="runningJobs">Ids of the jobs running now; their containers stay.</param>
    /// <param name="cancellationToken">Stops the pass.</param>
    /// <returns>How many containers were removed.</returns>
    public async Task<int> RemoveLeftoversAsync(IReadOnlySet<long> runningJobs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runningJobs);
        IReadOnlyList<ContainerSummary> containers;
        try
        {
            containers = await engine.ListContainersAsync($"{ContainerOwnership.OwnerLabel}={owner}", cancellationToken).ConfigureAwait(false);
        }
        catch (OrchestratorException exception)
        {
            LogListFailed(exception.Message);
            return 0;
        }

        var removed = 0;
        foreach (var container in containers)
        {
            // A container of this owner without a readable job id was not made by OwnedDockerEngine: leave it.
            if (!container.Labels.TryGetValue(ContainerOwnership.JobLabel, out var text)
                || !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var jobId)
                || runningJobs.Contains(jobId))
            {
                continue;
            }

            try
            {
                await engine.RemoveContainerAsync(container.Id, force: true, cancellationToken).ConfigureAwait(false);
                removed++;
                LogRemoved(ShortId(container.Id), jobId, container.State);
            }
            catch (OrchestratorException exception)
            {
                LogRemoveFailed(ShortId(container.Id), jobId, exception.Message);
            }
        }

        return removed;
    }

    private static string ShortId(string id) => id.Length > 12 ? id[..12] : id;

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed leftover container {ContainerId} of job {JobId} ({State}): the job is not running")]
    private partial void LogRemoved(string containerId, long jobId, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove leftover container {ContainerId} of job {JobId}: {Error}; the next pass tries again")]
    private partial void LogRemoveFailed(string containerId, long jobId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not list containers to remove leftovers: {Error}; the next pass tries again")]
    private partial void LogListFailed(string error);
}
