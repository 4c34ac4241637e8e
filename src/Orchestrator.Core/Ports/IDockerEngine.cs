using Orchestrator.Core.References;

namespace Orchestrator.Core.Ports;

/// <summary>
/// The Docker Engine operations Orchestrator uses, over Engine API v1.41 (Docker 20.10). Implemented by
/// Orchestrator.Docker over a unix socket or TCP. Every method throws
/// <see cref="Errors.EngineException"/> for an error status or an <c>errorDetail</c> in a JSON message
/// stream, and <see cref="Errors.UnavailableException"/> when the engine does not answer.
/// </summary>
public interface IDockerEngine
{
    /// <summary><c>GET /version</c>: the engine's version, API version, OS and architecture.</summary>
    Task<EngineVersion> GetVersionAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>POST /images/create?fromSrc=-&amp;repo=&amp;tag=&amp;changes=</c>: imports a root filesystem tar as
    /// a single-layer image. <paramref name="changes"/> are Dockerfile instructions applied to the config
    /// (e.g. <c>CMD ["bash"]</c>). Returns the image id (<c>sha256:…</c>).
    /// </summary>
    Task<string> ImportImageAsync(Stream rootfsTar, string repository, string tag, IReadOnlyList<string> changes, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary><c>POST /build</c> with a tar build context. Returns the image id of the result.</summary>
    Task<string> BuildImageAsync(Stream contextTar, ImageBuildRequest request, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>POST /images/{name}/push?tag=</c>: pushes <paramref name="repository"/> (with its registry,
    /// <c>127.0.0.1:5001/apps/x</c>) at <paramref name="tag"/>. Returns the manifest digest the registry
    /// reported (the push stream's <c>aux.Digest</c>).
    /// </summary>
    Task<Digest> PushImageAsync(string repository, string tag, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary><c>POST /images/create?fromImage=&amp;tag=</c>: pulls <paramref name="reference"/>, which must name a registry and a digest or tag.</summary>
    Task PullImageAsync(ImageReference reference, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>GET /images/{name}/get</c> (API v1.41, "Export an image"): the image as a <c>docker save</c> tar
    /// (its config, <c>manifest.json</c>, and every layer uncompressed), streamed to <paramref name="destination"/>.
    /// </summary>
    Task SaveImageAsync(string nameOrId, Stream destination, CancellationToken cancellationToken = default);

    /// <summary><c>GET /images/{name}/json</c>, or null when the engine has no such image.</summary>
    Task<ImageInspect?> InspectImageAsync(string nameOrId, CancellationToken cancellationToken = default);

    /// <summary><c>POST /images/{name}/tag?repo=&amp;tag=</c>.</summary>
    Task TagImageAsync(string nameOrId, string repository, string tag, CancellationToken cancellationToken = default);

    /// <summary><c>DELETE /images/{name}</c>; no error when the image is already gone.</summary>
    Task RemoveImageAsync(string nameOrId, bool force = false, CancellationToken cancellationToken = default);

    /// <summary><c>POST /containers/create</c>. Returns the container id.</summary>
    Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken cancellationToken = default);

    /// <summary><c>POST /containers/{id}/start</c>.</summary>
    Task StartContainerAsync(string id, CancellationToken cancellationToken = default);

    /// <summary><c>POST /containers/{id}/wait</c>: waits for the container to stop; returns its exit code.</summary>
    Task<long> WaitContainerAsync(string id, CancellationToken cancellationToken = default);

    /// <summary><c>POST /containers/{id}/kill</c>; no error when it is not running.</summary>
    Task KillContainerAsync(string id, CancellationToken cancellationToken = default);

    /// <summary><c>GET /containers/{id}/logs?stdout=1&amp;stderr=1</c>, demultiplexed (the container has no TTY).</summary>
    Task<ContainerLogs> GetContainerLogsAsync(string id, CancellationToken cancellationToken = default);

    /// <summary><c>DELETE /containers/{id}?force=&amp;v=1</c>; no error when it is already gone.</summary>
    Task RemoveContainerAsync(string id, bool force = true, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>GET /containers/json?all=1&amp;filters={"label":[…]}</c>: every container, running or stopped, that carries
    /// <paramref name="label"/> (<c>KEY</c>, or <c>KEY=VALUE</c> for an exact value; null for every container), in the engine's order.
    /// </summary>
    Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? label, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>HEAD /containers/{id}/archive?path=</c>: the stat of a path in a container's filesystem (the
    /// <c>X-Docker-Container-Path-Stat</c> header), or null when the path does not exist. Works on a
    /// created container that never started.
    /// </summary>
    Task<PathStat?> StatContainerPathAsync(string id, string path, CancellationToken cancellationToken = default);
}

/// <summary>The engine's <c>GET /version</c>.</summary>
public sealed record EngineVersion(string Version, string ApiVersion, string Os, string Architecture);

/// <summary>
/// One message of an engine JSON stream (build, pull, push, import): a build output line
/// (<see cref="Stream"/>), or a status with optional layer id and byte progress.
/// </summary>
public sealed record EngineProgress(string? Id, string? Status, string? Stream, long? Current, long? Total);

/// <summary>
/// Credentials for a registry, sent to the engine as <c>X-Registry-Auth</c> (Engine API v1.41 AuthConfig): a username and
/// password, or, when <see cref="IdentityToken"/> is set, an OAuth2 refresh token the engine exchanges at the registry's
/// token service (what a credential helper answers with username <c>&lt;token&gt;</c>).
/// </summary>
public sealed record RegistryCredentials(string Username, string Password, string? IdentityToken = null)
{
    public override string ToString() => $"RegistryCredentials {{ Username = {Username}, Password = ***{(IdentityToken is null ? "" : ", IdentityToken = ***")} }}";
}

/// <summary>Parameters of <c>POST /build</c>.</summary>
/// <param name="Tags">Names to tag the result with (<c>t=</c>), e.g. <c>127.0.0.1:5001/apps/x:1.0</c>.</param>
/// <param name="Dockerfile">Path of the Dockerfile inside the context.</param>
/// <param name="NetworkMode">Network for RUN steps: <c>host</c> here, since the engine has no bridge.</param>
/// <param name="Labels">Labels applied to the image.</param>
/// <param name="NoCache">True to ignore the engine's layer cache.</param>
/// <param name="BuildArgs">Build arguments.</param>
public sealed record ImageBuildRequest(
    IReadOnlyList<string> Tags,
    string Dockerfile = "Dockerfile",
    string NetworkMode = "host",
    IReadOnlyDictionary<string, string>? Labels = null,
    bool NoCache = false,
    IReadOnlyDictionary<string, string>? BuildArgs = null);

/// <summary>The parts of <c>GET /images/{name}/json</c> Orchestrator reads.</summary>
/// <param name="Id">The image id (config digest), <c>sha256:…</c>.</param>
/// <param name="RepoTags">Tags the engine knows the image by.</param>
/// <param name="RepoDigests">Digest references (<c>registry/repo@sha256:…</c>) the engine knows.</param>
/// <param name="Size">Uncompressed size in bytes.</param>
/// <param name="Config">The image's run configuration.</param>
/// <param name="Architecture">e.g. amd64.</param>
/// <param name="Os">e.g. linux.</param>
public sealed record ImageInspect(
    string Id,
    IReadOnlyList<string> RepoTags,
    IReadOnlyList<string> RepoDigests,
    long Size,
    ImageRunConfig Config,
    string Architecture,
    string Os);

/// <summary>An image's run configuration (the <c>Config</c> of an image inspect).</summary>
public sealed record ImageRunConfig(
    string? User,
    IReadOnlyList<string> Env,
    IReadOnlyList<string>? Entrypoint,
    IReadOnlyList<string>? Cmd,
    string? WorkingDir,
    IReadOnlyDictionary<string, string> Labels);

/// <summary>
/// What <c>POST /containers/create</c> gets. Defaults are locked down: no network, every capability
/// dropped, no new privileges, bounded memory and processes.
/// </summary>
/// <param name="Image">Image reference or id.</param>
/// <param name="Entrypoint">Overrides the image's entrypoint; an empty list clears it; null keeps it.</param>
/// <param name="Cmd">Overrides the image's command; null keeps it.</param>
/// <param name="User">Overrides the user; null keeps the image's.</param>
/// <param name="Env">Extra <c>KEY=value</c> entries.</param>
/// <param name="NetworkMode"><c>none</c> by default.</param>
/// <param name="ReadonlyRootfs">Mount the root filesystem read-only.</param>
/// <param name="Tmpfs">tmpfs mounts, path to options (e.g. <c>/tmp</c> → <c>rw,size=64m</c>).</param>
/// <param name="MemoryBytes">Memory limit in bytes, or 0 for none.</param>
/// <param name="PidsLimit">Process limit, or 0 for none.</param>
/// <param name="CapDropAll">Drop every Linux capability.</param>
/// <param name="NoNewPrivileges">Set <c>no-new-privileges</c>.</param>
/// <param name="Labels">Container labels (Orchestrator marks its containers so they can be cleaned up).</param>
public sealed record ContainerSpec(
    string Image,
    IReadOnlyList<string>? Entrypoint = null,
    IReadOnlyList<string>? Cmd = null,
    string? User = null,
    IReadOnlyList<string>? Env = null,
    string NetworkMode = "none",
    bool ReadonlyRootfs = false,
    IReadOnlyDictionary<string, string>? Tmpfs = null,
    long MemoryBytes = 512L * 1024 * 1024,
    long PidsLimit = 256,
    bool CapDropAll = true,
    bool NoNewPrivileges = true,
    IReadOnlyDictionary<string, string>? Labels = null);

/// <summary>One container of <c>GET /containers/json</c>.</summary>
/// <param name="Id">The full container id.</param>
/// <param name="State">The engine's state word: <c>created</c>, <c>running</c>, <c>exited</c>, …</param>
/// <param name="Labels">Its labels.</param>
/// <param name="Created">When the engine created it (whole seconds), where the engine says.</param>
/// <param name="Command">Its command line as the engine prints it (<c>/bin/sh -c …</c> for a build step), where the engine says.</param>
public sealed record ContainerSummary(string Id, string State, IReadOnlyDictionary<string, string> Labels, DateTimeOffset? Created = null, string? Command = null);

/// <summary>A stopped container's output, demultiplexed, as UTF-8 text.</summary>
public sealed record ContainerLogs(string Stdout, string Stderr);

/// <summary>The stat of a path inside a container (<c>X-Docker-Container-Path-Stat</c>).</summary>
/// <param name="Name">Base name.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="Mode">Go <c>os.FileMode</c> bits: permission bits plus type bits (directory is 1&lt;&lt;31, symlink 1&lt;&lt;27).</param>
/// <param name="LinkTarget">The symlink target, or empty.</param>
public sealed record PathStat(string Name, long Size, uint Mode, string LinkTarget)
{
    public bool IsDirectory => (Mode & (1u << 31)) != 0;

    public bool IsSymlink => (Mode & (1u << 27)) != 0;
}
