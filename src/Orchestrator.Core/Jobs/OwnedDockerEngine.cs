using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Jobs;

/// <summary>
/// The engine as one job sees it: every container the job creates (validation, lock, SBOM and
/// installed-package containers alike) also carries <see cref="ContainerOwnership.OwnerLabel"/> and
/// <see cref="ContainerOwnership.JobLabel"/>, so that <see cref="LeftoverJanitor"/> can tell a container a
/// killed daemon left behind from one a running job still uses. Everything else is passed through.
/// </summary>
/// <param name="inner">The engine.</param>
/// <param name="owner">Who runs the job, e.g. <see cref="ContainerOwnership.DaemonOwner"/> of the state store.</param>
/// <param name="jobId">The job's id in that owner's store.</param>
/// <param name="buildBroken">
/// Told the window (from the build's start to its failure) of a build whose engine connection broke
/// (<see cref="UnavailableException"/>): the engine's builder may have left step containers from that window,
/// which carry no label of ours (see <see cref="LeftoverJanitor.RecordBrokenBuild"/>).
/// </param>
/// <param name="time">The clock for that window; the system clock when null.</param>
public sealed class OwnedDockerEngine(IDockerEngine inner, string owner, long jobId, Action<DateTimeOffset, DateTimeOffset>? buildBroken = null, TimeProvider? time = null) : IDockerEngine
{
    /// <summary>The engine being decorated.</summary>
    public IDockerEngine Inner => inner;

    /// <inheritdoc />
    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var labels = new Dictionary<string, string>(spec.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [ContainerOwnership.OwnerLabel] = owner,
            [ContainerOwnership.JobLabel] = jobId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        return inner.CreateContainerAsync(spec with { Labels = labels }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<EngineVersion> GetVersionAsync(CancellationToken cancellationToken = default) => inner.GetVersionAsync(cancellationToken);

    /// <inheritdoc />
    public Task<string> ImportImageAsync(Stream rootfsTar, string repository, string tag, IReadOnlyList<string> changes, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) =>
        inner.ImportImageAsync(rootfsTar, repository, tag, changes, progress, cancellationToken);

    /// <inheritdoc />
    public async Task<string> BuildImageAsync(Stream contextTar, ImageBuildRequest request, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = time ?? TimeProvider.System;
        var started = clock.GetUtcNow();
        try
        {
            return await inner.BuildImageAsync(contextTar, request, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (UnavailableException) when (buildBroken is not null)
        {
            buildBroken(started, clock.GetUtcNow());
            throw;
        }
    }

    /// <inheritdoc />
    public Task<Digest> PushImageAsync(string repository, string tag, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) =>
        inner.PushImageAsync(repository, tag, credentials, progress, cancellationToken);

    /// <inheritdoc />
    public Task PullImageAsync(ImageReference reference, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) =>
        inner.PullImageAsync(reference, credentials, progress, cancellationToken);

    /// <inheritdoc />
    public Task SaveImageAsync(string nameOrId, Stream destination, CancellationToken cancellationToken = default) => inner.SaveImageAsync(nameOrId, destination, cancellationToken);

    /// <inheritdoc />
    public Task<ImageInspect?> InspectImageAsync(string nameOrId, CancellationToken cancellationToken = default) => inner.InspectImageAsync(nameOrId, cancellationToken);

    /// <inheritdoc />
    public Task TagImageAsync(string nameOrId, string repository, string tag, CancellationToken cancellationToken = default) => inner.TagImageAsync(nameOrId, repository, tag, cancellationToken);

    /// <inheritdoc />
    public Task RemoveImageAsync(string nameOrId, bool force = false, CancellationToken cancellationToken = default) => inner.RemoveImageAsync(nameOrId, force, cancellationToken);

    /// <inheritdoc />
    public Task StartContainerAsync(string id, CancellationToken cancellationToken = default) => inner.StartContainerAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task<long> WaitContainerAsync(string id, CancellationToken cancellationToken = default) => inner.WaitContainerAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task KillContainerAsync(string id, CancellationToken cancellationToken = default) => inner.KillContainerAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task<ContainerLogs> GetContainerLogsAsync(string id, CancellationToken cancellationToken = default) => inner.GetContainerLogsAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task RemoveContainerAsync(string id, bool force = true, CancellationToken cancellationToken = default) => inner.RemoveContainerAsync(id, force, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? label, CancellationToken cancellationToken = default) => inner.ListContainersAsync(label, cancellationToken);

    /// <inheritdoc />
    public Task<PathStat?> StatContainerPathAsync(string id, string path, CancellationToken cancellationToken = default) => inner.StatContainerPathAsync(id, path, cancellationToken);
}
