using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Tests.Engines;

/// <summary>
/// An engine that can be lost mid-job: while <see cref="Lost"/>, every call but image inspect (which the pool asks before
/// placing) throws <see cref="UnavailableException"/>, as the real client does for an engine that stopped answering.
/// Otherwise every call goes to <see cref="Inner"/>.
/// </summary>
internal sealed class LosableEngine(IDockerEngine inner) : IDockerEngine
{
    public IDockerEngine Inner => inner;

    public bool Lost { get; set; }

    public int Calls { get; private set; }

    private T Reach<T>(Func<T> call)
    {
        Calls++;
        return Lost ? throw new UnavailableException("the engine at unix:///lost.sock does not answer: connection refused") : call();
    }

    public Task<EngineVersion> GetVersionAsync(CancellationToken cancellationToken = default) => Reach(() => inner.GetVersionAsync(cancellationToken));

    public Task<ImageInspect?> InspectImageAsync(string nameOrId, CancellationToken cancellationToken = default) => inner.InspectImageAsync(nameOrId, cancellationToken);

    public Task<string> ImportImageAsync(Stream rootfsTar, string repository, string tag, IReadOnlyList<string> changes, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Reach(() => inner.ImportImageAsync(rootfsTar, repository, tag, changes, progress, cancellationToken));

    public Task<string> BuildImageAsync(Stream contextTar, ImageBuildRequest request, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Reach(() => inner.BuildImageAsync(contextTar, request, progress, cancellationToken));

    public Task<Digest> PushImageAsync(string repository, string tag, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Reach(() => inner.PushImageAsync(repository, tag, credentials, progress, cancellationToken));

    public Task PullImageAsync(ImageReference reference, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Reach(() => inner.PullImageAsync(reference, credentials, progress, cancellationToken));

    public Task SaveImageAsync(string nameOrId, Stream destination, CancellationToken cancellationToken = default) => Reach(() => inner.SaveImageAsync(nameOrId, destination, cancellationToken));

    public Task TagImageAsync(string nameOrId, string repository, string tag, CancellationToken cancellationToken = default) => Reach(() => inner.TagImageAsync(nameOrId, repository, tag, cancellationToken));

    public Task RemoveImageAsync(string nameOrId, bool force = false, CancellationToken cancellationToken = default) => Reach(() => inner.RemoveImageAsync(nameOrId, force, cancellationToken));

    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken cancellationToken = default) => Reach(() => inner.CreateContainerAsync(spec, cancellationToken));

    public Task StartContainerAsync(string id, CancellationToken cancellationToken = default) => Reach(() => inner.StartContainerAsync(id, cancellationToken));

    public Task<long> WaitContainerAsync(string id, CancellationToken cancellationToken = default) => Reach(() => inner.WaitContainerAsync(id, cancellationToken));

    public Task KillContainerAsync(string id, CancellationToken cancellationToken = default) => Reach(() => inner.KillContainerAsync(id, cancellationToken));

    public Task<ContainerLogs> GetContainerLogsAsync(string id, CancellationToken cancellationToken = default) => Reach(() => inner.GetContainerLogsAsync(id, cancellationToken));

    public Task RemoveContainerAsync(string id, bool force = true, CancellationToken cancellationToken = default) => Reach(() => inner.RemoveContainerAsync(id, force, cancellationToken));

    public Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? label, CancellationToken cancellationToken = default) => Reach(() => inner.ListContainersAsync(label, cancellationToken));

    public Task<PathStat?> StatContainerPathAsync(string id, string path, CancellationToken cancellationToken = default) => Reach(() => inner.StatContainerPathAsync(id, path, cancellationToken));
}
