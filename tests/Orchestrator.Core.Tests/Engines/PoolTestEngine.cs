using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Tests.Engines;

/// <summary>
/// An engine for placement tests: it answers <c>GET /version</c> and image inspects from <see cref="Images"/>, or, while
/// <see cref="Down"/>, throws <see cref="UnavailableException"/> as the real client does for an engine that does not answer.
/// Nothing else is used by the pool, so everything else throws.
/// </summary>
internal sealed class PoolTestEngine : IDockerEngine
{
    public bool Down { get; set; }

    public HashSet<string> Images { get; } = new(StringComparer.Ordinal);

    public int Inspects { get; private set; }

    public Task<EngineVersion> GetVersionAsync(CancellationToken cancellationToken = default) =>
        Down ? throw new UnavailableException("the engine at unix:///test.sock does not answer") : Task.FromResult(new EngineVersion("20.10.24", "1.41", "linux", "amd64"));

    public Task<ImageInspect?> InspectImageAsync(string nameOrId, CancellationToken cancellationToken = default)
    {
        Inspects++;
        if (Down)
        {
            throw new UnavailableException("the engine at unix:///test.sock does not answer");
        }

        return Task.FromResult(Images.Contains(nameOrId)
            ? new ImageInspect("sha256:" + new string('1', 64), [], [nameOrId], 1, new ImageRunConfig(null, [], null, null, null, new Dictionary<string, string>()), "amd64", "linux")
            : null);
    }

    public Task<string> ImportImageAsync(Stream rootfsTar, string repository, string tag, IReadOnlyList<string> changes, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<string> BuildImageAsync(Stream contextTar, ImageBuildRequest request, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<Digest> PushImageAsync(string repository, string tag, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task PullImageAsync(ImageReference reference, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task SaveImageAsync(string nameOrId, Stream destination, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task TagImageAsync(string nameOrId, string repository, string tag, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task RemoveImageAsync(string nameOrId, bool force = false, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task StartContainerAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<long> WaitContainerAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task KillContainerAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<ContainerLogs> GetContainerLogsAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task RemoveContainerAsync(string id, bool force = true, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? label, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<PathStat?> StatContainerPathAsync(string id, string path, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}
