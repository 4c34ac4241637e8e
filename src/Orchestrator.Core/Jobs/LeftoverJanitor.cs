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

    /// <summary>
    /// The owner value of a daemon replica on a shared store (<paramref name="store"/>, e.g. <c>PostgreSQL host:port/db</c>)
    /// listening on <paramref name="urls"/>: <c>daemon:</c> and 16 hex digits of SHA-256 over the machine name, the store
    /// and the URLs. Two replicas on one machine cannot listen on the same URLs, so they never share an owner; a replica
    /// restarted on the same URLs gets its predecessor's owner back and removes what that one left.
    /// </summary>
    public static string ReplicaOwner(string store, string urls)
    {
        var identity = $"{Environment.MachineName}\n{store}\n{urls}";
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
    /// <summary>The owner whose containers this janitor looks after, as its jobs' containers are labelled.</summary>
    public string Owner => owner;

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
                await RemoveBoundedAsync(container.Id, cancellationToken).ConfigureAwait(false);
                removed++;
                LogRemoved(ShortId(container.Id), jobId, container.State);
            }
            catch (OrchestratorException exception)
            {
                LogRemoveFailed(ShortId(container.Id), jobId, exception.Message);
            }
        }

        return removed + await RemoveBuilderLeftoversAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Records that a build's connection to the engine broke between <paramref name="from"/> and
    /// <paramref name="to"/>: the engine went away mid-build, so every build on it then died with it, and the
    /// step containers its builder had created (they carry no label of ours; the builder removes them only
    /// when it finishes) stay behind. The next pass that reaches the engine removes those created in that
    /// window that are not running and run a build step (<c>/bin/sh -c …</c>, after the image's entrypoint if it has one).
    /// </summary>
    /// <param name="from">When the build started.</param>
    /// <param name="to">When its connection broke.</param>
    public void RecordBrokenBuild(DateTimeOffset from, DateTimeOffset to)
    {
        lock (_brokenBuilds)
        {
            _brokenBuilds.Add((from, to));
        }
    }

    /// <summary>Whether a broken build's window waits for a pass that reaches the engine.</summary>
    public bool HasBrokenBuilds
    {
        get
        {
            lock (_brokenBuilds)
            {
                return _brokenBuilds.Count > 0;
            }
        }
    }

    private readonly List<(DateTimeOffset From, DateTimeOffset To)> _brokenBuilds = [];

    private async Task<int> RemoveBuilderLeftoversAsync(CancellationToken cancellationToken)
    {
        List<(DateTimeOffset From, DateTimeOffset To)> windows;
        lock (_brokenBuilds)
        {
            windows = [.. _brokenBuilds];
        }

        if (windows.Count == 0)
        {
            return 0;
        }

        IReadOnlyList<ContainerSummary> containers;
        try
        {
            containers = await engine.ListContainersAsync(null, cancellationToken).ConfigureAwait(false);
        }
        catch (OrchestratorException exception)
        {
            LogListFailed(exception.Message);
            return 0;
        }

        // Created is in whole seconds: a second of slack on each side of the window. The engine prints the command
        // after the image's entrypoint ("/app/greet.sh /bin/sh -c #(nop) …" for a step of an image with one).
        var leftovers = containers.Where(c =>
            c.State != "running"
            && !c.Labels.ContainsKey(ContainerOwnership.OwnerLabel)
            && c.Command?.Contains("/bin/sh -c", StringComparison.Ordinal) == true
            && c.Created is { } created
            && windows.Any(w => created >= w.From.AddSeconds(-1) && created <= w.To.AddSeconds(1))).ToList();

        var removed = 0;
        var pending = false;
        foreach (var container in leftovers)
        {
            // One the engine is still removing (its own clean-up after the restart) is looked at again on the next pass.
            if (container.State == "removing")
            {
                pending = true;
                continue;
            }

            try
            {
                await RemoveBoundedAsync(container.Id, cancellationToken).ConfigureAwait(false);
                removed++;
                LogBuilderLeftoverRemoved(ShortId(container.Id), container.State);
            }
            catch (OrchestratorException exception)
            {
                pending = true;
                LogRemoveFailed(ShortId(container.Id), 0, exception.Message);
            }
        }

        // Done with these windows once the engine answered and held nothing of them that could not go yet;
        // a window is given up an hour after it closed, so a container that never goes does not keep the passes busy.
        var now = DateTimeOffset.UtcNow;
        lock (_brokenBuilds)
        {
            _brokenBuilds.RemoveAll(w => windows.Contains(w) && (!pending || now - w.To > TimeSpan.FromHours(1)));
        }

        return removed;
    }

    /// <summary>How long one removal may take before the pass moves on (the next pass tries again).</summary>
    internal static readonly TimeSpan RemovalTimeout = TimeSpan.FromSeconds(20);

    // An engine whose storage driver cannot let go of a layer (a mount left busy by an engine stopped mid-build)
    // keeps a DELETE open for minutes: the worker's loop, which runs this pass, must not wait on it.
    private async Task RemoveBoundedAsync(string id, CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(RemovalTimeout);
        try
        {
            await engine.RemoveContainerAsync(id, force: true, bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UnavailableException($"the engine did not remove container {ShortId(id)} within {RemovalTimeout.TotalSeconds:0} s");
        }
    }

    private static string ShortId(string id) => id.Length > 12 ? id[..12] : id;

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed leftover container {ContainerId} of job {JobId} ({State}): the job is not running")]
    private partial void LogRemoved(string containerId, long jobId, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove leftover container {ContainerId} of job {JobId}: {Error}; the next pass tries again")]
    private partial void LogRemoveFailed(string containerId, long jobId, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed build-step container {ContainerId} ({State}) the engine's builder left when the engine went away mid-build")]
    private partial void LogBuilderLeftoverRemoved(string containerId, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not list containers to remove leftovers: {Error}; the next pass tries again")]
    private partial void LogListFailed(string error);
}
