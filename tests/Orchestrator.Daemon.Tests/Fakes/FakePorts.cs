using System.Collections.Concurrent;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Daemon.Tests.Fakes;

/// <summary>
/// An engine that answers <c>GET /version</c> and keeps a list of containers (the daemon itself needs nothing
/// else; jobs are faked), which tests seed as leftovers and the janitor lists and removes.
/// </summary>
internal sealed class FakeEngine : IDockerEngine
{
    private int _nextContainer;

    public bool Up { get; set; } = true;

    /// <summary>The containers the engine holds, by id, with their labels.</summary>
    public ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> Containers { get; } = new(StringComparer.Ordinal);

    /// <summary>Ids of the containers removed, in order.</summary>
    public ConcurrentQueue<string> Removed { get; } = new();

    /// <summary>Raised after each removal, so tests wait on it instead of sleeping.</summary>
    public event Action<string>? ContainerRemoved;

    public Task<EngineVersion> GetVersionAsync(CancellationToken cancellationToken = default) =>
        Up ? Task.FromResult(new EngineVersion("20.10.24", "1.41", "linux", "amd64")) : throw new UnavailableException("the engine at unix:///fake.sock does not answer");

    public Task<string> ImportImageAsync(Stream rootfsTar, string repository, string tag, IReadOnlyList<string> changes, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<string> BuildImageAsync(Stream contextTar, ImageBuildRequest request, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<Digest> PushImageAsync(string repository, string tag, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task PullImageAsync(ImageReference reference, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task SaveImageAsync(string nameOrId, Stream destination, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<ImageInspect?> InspectImageAsync(string nameOrId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task TagImageAsync(string nameOrId, string repository, string tag, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task RemoveImageAsync(string nameOrId, bool force = false, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken cancellationToken = default)
    {
        var id = $"fake-container-{Interlocked.Increment(ref _nextContainer)}";
        Containers[id] = spec.Labels ?? new Dictionary<string, string>();
        return Task.FromResult(id);
    }

    public Task StartContainerAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<long> WaitContainerAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task KillContainerAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<ContainerLogs> GetContainerLogsAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task RemoveContainerAsync(string id, bool force = true, CancellationToken cancellationToken = default)
    {
        if (Containers.TryRemove(id, out _))
        {
            Removed.Enqueue(id);
            ContainerRemoved?.Invoke(id);
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? label, CancellationToken cancellationToken = default)
    {
        if (!Up)
        {
            throw new UnavailableException("the engine at unix:///fake.sock does not answer");
        }

        var parts = (label ?? string.Empty).Split('=', 2);
        IReadOnlyList<ContainerSummary> listed = [.. Containers
            .Where(c => label is null || c.Value.TryGetValue(parts[0], out var value) && (parts.Length == 1 || value == parts[1]))
            .Select(c => new ContainerSummary(c.Key, "exited", c.Value))];
        return Task.FromResult(listed);
    }

    public Task<PathStat?> StatContainerPathAsync(string id, string path, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}

/// <summary>Registries by host: each answers ping (or not) and HEAD of manifests set by the test.</summary>
internal sealed class FakeRegistries : IRegistryClientFactory
{
    private readonly ConcurrentDictionary<string, FakeRegistryClient> _clients = new(StringComparer.Ordinal);

    public FakeRegistryClient For(string host) => _clients.GetOrAdd(host, h => new FakeRegistryClient(new RegistryEndpoint(h, PlainHttp: true)));

    public IRegistryClient Create(RegistryEndpoint endpoint) => For(endpoint.Host);
}

internal sealed class FakeRegistryClient(RegistryEndpoint endpoint) : IRegistryClient
{
    public ConcurrentDictionary<(string Repository, string Reference), Digest> Manifests { get; } = new();

    public bool Up { get; set; } = true;

    public RegistryEndpoint Endpoint { get; } = endpoint;

    public Task<bool> PingAsync(CancellationToken cancellationToken = default) =>
        Up ? Task.FromResult(true) : throw new UnavailableException($"{Endpoint.BaseUri} does not answer: connection refused");

    public Task<Descriptor?> HeadManifestAsync(string repository, string reference, CancellationToken cancellationToken = default)
    {
        if (!Up)
        {
            throw new UnavailableException($"{Endpoint.BaseUri} does not answer: connection refused");
        }

        return Task.FromResult(Manifests.TryGetValue((repository, reference), out var digest)
            ? new Descriptor("application/vnd.oci.image.manifest.v1+json", digest, 100)
            : null);
    }

    public Task<ManifestContent> GetManifestAsync(string repository, string reference, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<Digest> PutManifestAsync(string repository, string reference, ReadOnlyMemory<byte> content, string mediaType, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task DeleteManifestAsync(string repository, Digest digest, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<long?> HeadBlobAsync(string repository, Digest digest, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<IReadOnlyList<Referrer>> ListReferrersAsync(string repository, Digest subject, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<bool> AddReferrersAsync(string repository, Digest subject, IReadOnlyList<Referrer> referrers, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<Stream> OpenBlobAsync(string repository, Digest digest, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task UploadBlobAsync(string repository, Digest digest, long size, Stream content, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<bool> MountBlobAsync(string repository, Digest digest, string fromRepository, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<IReadOnlyList<string>> ListTagsAsync(string repository, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}

internal sealed class UnusedCopier : IImageCopier
{
    public Task<CopyPlan> PlanAsync(CopyRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<CopyResult> CopyAsync(CopyPlan plan, IProgress<CopyProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}

internal sealed class UnusedRootfs : IRootfsBuilder
{
    public Task<RootfsArchive> BuildAsync(BaseImageDefinition image, BaseVariantDefinition variant, string workDirectory, IProgress<string>? log = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}

/// <summary>A state store holding only the promotions a test adds; everything else is empty.</summary>
internal sealed class FakeStateStore : IStateStore
{
    public List<PromotionRecord> Promotions { get; } = [];

    /// <summary>What <see cref="GetChangeTokenAsync"/> answers; null (the default) is a store that cannot say.</summary>
    public string? ChangeToken { get; set; }

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<string?> GetChangeTokenAsync(CancellationToken cancellationToken = default) => Task.FromResult(ChangeToken);

    public Task<long> RecordBuildAsync(BuildRecord record, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<long> RecordValidationAsync(ValidationRecord record, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<long> RecordPromotionAsync(PromotionRecord record, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<BuildRecord?> GetLatestBuildAsync(string subject, CancellationToken cancellationToken = default) => Task.FromResult<BuildRecord?>(null);

    public Task<IReadOnlyList<BuildRecord>> ListBuildsAsync(string? subject = null, int limit = 100, CancellationToken cancellationToken = default) => Task.FromResult<IReadOnlyList<BuildRecord>>([]);

    public Task<ValidationRecord?> FindPassingValidationAsync(string pipeline, Digest digest, CancellationToken cancellationToken = default) => Task.FromResult<ValidationRecord?>(null);

    public Task<IReadOnlyList<ValidationRecord>> ListValidationsAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default) => Task.FromResult<IReadOnlyList<ValidationRecord>>([]);

    public Task<IReadOnlyList<PromotionRecord>> ListPromotionsAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<PromotionRecord>>(Promotions.Where(p => pipeline is null || p.Pipeline == pipeline).Take(limit).ToList());
}
