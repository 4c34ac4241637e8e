// Over 400 lines: the hand-written Engine API client, one method per endpoint. Issue 12 replaces it with a thin
// adapter over Docker.DotNet.Enhanced; splitting it first would only move code that is about to go.
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Polly;
using Polly.Retry;

namespace Orchestrator.Docker;

/// <summary>
/// A typed client for Docker Engine API v1.41 (Docker 20.10) over a unix socket or plain-HTTP TCP.
/// Error statuses become <see cref="EngineException"/> carrying the engine's <c>{"message"}</c>; errors inside
/// 200 JSON message streams (<c>errorDetail</c>) become <see cref="EngineException"/> with a null status; an
/// engine that does not answer becomes <see cref="UnavailableException"/>. Idempotent, non-streaming GET/HEAD
/// calls are retried with jittered backoff on connection failures and 5xx; nothing else is retried.
/// </summary>
public sealed class DockerEngineClient : IDockerEngine, IDisposable
{
    /// <summary>The Engine API version every request is made against.</summary>
    public const string ApiVersion = "v1.41";

    private const int MaxErrorBodyChars = 16 * 1024;
    private const string SuccessfullyBuilt = "Successfully built ";

    private readonly DockerEndpoint _endpoint;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _idempotentPipeline;

    internal DockerEngineClient(DockerEndpoint endpoint, HttpMessageHandler handler, ILogger? logger = null, TimeProvider? timeProvider = null, TimeSpan? retryDelay = null)
    {
        _endpoint = endpoint;
        _logger = logger ?? NullLogger.Instance;

        // Builds, pushes and waits legitimately run for a long time: callers bound them with their tokens.
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };

        _idempotentPipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider ?? TimeProvider.System }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = 3,
                Delay = retryDelay ?? TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .HandleResult(response => (int)response.StatusCode >= 500),
                OnRetry = arguments =>
                {
                    var request = arguments.Outcome.Result?.RequestMessage;
                    var reason = arguments.Outcome.Exception?.Message ?? $"HTTP {(int?)arguments.Outcome.Result?.StatusCode}";
                    Log.Retrying(_logger, request?.Method.Method ?? "request", request?.RequestUri?.AbsolutePath ?? "?", _endpoint.Display, arguments.AttemptNumber + 1, reason);
                    arguments.Outcome.Result?.Dispose();
                    return default;
                },
            })
            .Build();
    }

    /// <summary>The engine endpoint, <c>unix:///var/run/docker.sock</c> or <c>tcp://host:port</c>.</summary>
    public Uri Endpoint => _endpoint.Uri;

    /// <summary>
    /// Creates a client for the engine the docker CLI would use: the <c>DOCKER_HOST</c> environment variable
    /// when set, else <paramref name="configuredEndpoint"/>, else <c>unix:///var/run/docker.sock</c>.
    /// Supported forms: <c>unix:///path</c> and <c>tcp://host[:port]</c> (plain HTTP, port 2375 by default).
    /// No connection is made until the first call.
    /// </summary>
    /// <param name="configuredEndpoint">The endpoint from the configuration, or null.</param>
    /// <param name="logger">Receives pull/push/build progress and retries; optional.</param>
    /// <param name="timeProvider">Clock for retry delays; <see cref="TimeProvider.System"/> by default.</param>
    /// <exception cref="InputException">The endpoint is malformed or uses another scheme (npipe://, ssh://).</exception>
    public static DockerEngineClient Create(string? configuredEndpoint, ILogger<DockerEngineClient>? logger = null, TimeProvider? timeProvider = null)
    {
        var endpoint = DockerEndpoint.Resolve(Environment.GetEnvironmentVariable("DOCKER_HOST"), configuredEndpoint);
        return new DockerEngineClient(endpoint, endpoint.CreateHandler(), logger, timeProvider);
    }

    /// <inheritdoc />
    public async Task<EngineVersion> GetVersionAsync(CancellationToken cancellationToken = default)
    {
        const string Operation = "version query";
        using var response = await SendIdempotentAsync(HttpMethod.Get, "version", null, Operation, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, Operation, cancellationToken).ConfigureAwait(false);
        var version = await ReadJsonAsync(response, EngineJsonContext.Default.VersionResponse, Operation, cancellationToken).ConfigureAwait(false);
        return new EngineVersion(version.Version ?? string.Empty, version.ApiVersion ?? string.Empty, version.Os ?? string.Empty, version.Arch ?? string.Empty);
    }

    /// <inheritdoc />
    /// <remarks>The tar is streamed to the engine, not buffered; the caller keeps ownership of <paramref name="rootfsTar"/>.</remarks>
    /// <exception cref="InputException"><paramref name="repository"/> or <paramref name="tag"/> is malformed.</exception>
    public async Task<string> ImportImageAsync(Stream rootfsTar, string repository, string tag, IReadOnlyList<string> changes, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rootfsTar);
        ArgumentNullException.ThrowIfNull(changes);
        RequireRepository(repository, requireRegistry: false);
        RequireTag(tag);

        var query = new EngineQuery().Add("fromSrc", "-").Add("repo", repository).Add("tag", tag);
        foreach (var change in changes)
        {
            query.Add("changes", change);
        }

        var operation = $"import of {repository}:{tag}";
        Log.ImportStarting(_logger, repository, tag, _endpoint.Display);
        using var response = await SendOnceAsync(HttpMethod.Post, "images/create", query, TarContent(rootfsTar), null, operation, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);

        // The final status of an import is the new image's id.
        string? imageId = null;
        await foreach (var message in ReadMessagesAsync(response, operation, progress, cancellationToken).ConfigureAwait(false))
        {
            if (message.Status is { } status && Digest.TryParse(status.Trim(), out var id, out _))
            {
                imageId = id.ToString();
            }
        }

        if (imageId is null)
        {
            throw new EngineException($"the {operation} on {_endpoint} finished without reporting an image id: check that the tar is a root filesystem and that the engine speaks API {ApiVersion}");
        }

        Log.ImportDone(_logger, repository, tag, imageId);
        return imageId;
    }

    /// <inheritdoc />
    /// <remarks>Streams: the export is never buffered, so memory stays flat in the image's size.</remarks>
    /// <exception cref="EngineException">The engine has no such image, or the export failed.</exception>
    public async Task SaveImageAsync(string nameOrId, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrId);
        ArgumentNullException.ThrowIfNull(destination);
        var operation = $"export of image {nameOrId}";
        using var response = await SendIdempotentAsync(HttpMethod.Get, $"images/{Segment(nameOrId)}/get", null, operation, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await body.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw Unavailable(operation, ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Uses the legacy builder (API v1.41 default): the id comes from <c>{"aux":{"ID":…}}</c>, or failing that
    /// from the "Successfully built &lt;id&gt;" line and an inspect. Intermediate containers are always removed.
    /// </remarks>
    /// <exception cref="InputException">A tag is not a valid image reference.</exception>
    public async Task<string> BuildImageAsync(Stream contextTar, ImageBuildRequest request, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contextTar);
        ArgumentNullException.ThrowIfNull(request);

        var query = new EngineQuery();
        foreach (var tag in request.Tags)
        {
            if (!ImageReference.TryParse(tag, out var reference, out var error) || reference.Digest is not null)
            {
                throw new InputException($"cannot build with the tag '{tag}': {error ?? "a build tag cannot carry a digest"}; use name[:tag], e.g. 127.0.0.1:5001/apps/hello:1.0");
            }

            query.Add("t", tag);
        }

        query.Add("dockerfile", request.Dockerfile).Add("networkmode", request.NetworkMode);
        if (request.Labels is { Count: > 0 } labels)
        {
            query.Add("labels", JsonSerializer.Serialize(new Dictionary<string, string>(labels), EngineJsonContext.Default.DictionaryStringString));
        }

        if (request.NoCache)
        {
            query.Add("nocache", "1");
        }

        if (request.BuildArgs is { Count: > 0 } buildArgs)
        {
            query.Add("buildargs", JsonSerializer.Serialize(new Dictionary<string, string>(buildArgs), EngineJsonContext.Default.DictionaryStringString));
        }

        query.Add("rm", "1").Add("forcerm", "1");

        var tags = request.Tags.Count == 0 ? "(untagged)" : string.Join(", ", request.Tags);
        var operation = $"build of {tags}";
        Log.BuildStarting(_logger, tags, _endpoint.Display);
        using var response = await SendOnceAsync(HttpMethod.Post, "build", query, TarContent(contextTar), null, operation, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);

        string? imageId = null;
        string? shortId = null;
        await foreach (var message in ReadMessagesAsync(response, operation, progress, cancellationToken).ConfigureAwait(false))
        {
            if (message.GetAuxString("ID") is { Length: > 0 } id)
            {
                imageId = id;
            }
            else if (message.Stream is { } line && line.StartsWith(SuccessfullyBuilt, StringComparison.Ordinal))
            {
                shortId = line[SuccessfullyBuilt.Length..].Trim();
            }
        }

        if (imageId is null && shortId is { Length: > 0 })
        {
            imageId = (await InspectImageAsync(shortId, cancellationToken).ConfigureAwait(false))?.Id;
        }

        if (imageId is null)
        {
            throw new EngineException($"the {operation} on {_endpoint} ended without reporting an image id (no aux.ID, no 'Successfully built' line): the build output above says how far it got; retry, and check that the engine uses the legacy builder of API {ApiVersion}");
        }

        Log.BuildDone(_logger, imageId, tags);
        return imageId;
    }

    /// <inheritdoc />
    /// <exception cref="InputException"><paramref name="repository"/> names no registry (the engine would push to Docker Hub) or carries a tag, or <paramref name="tag"/> is malformed.</exception>
    public async Task<Digest> PushImageAsync(string repository, string tag, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        RequireRepository(repository, requireRegistry: true);
        RequireTag(tag);

        var operation = $"push of {repository}:{tag}";
        Log.PushStarting(_logger, repository, tag, _endpoint.Display);
        var query = new EngineQuery().Add("tag", tag);
        using var response = await SendOnceAsync(HttpMethod.Post, $"images/{Segment(repository)}/push", query, null, RegistryAuthHeader.Encode(credentials), operation, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);

        Digest? digest = null;
        await foreach (var message in ReadMessagesAsync(response, operation, progress, cancellationToken).ConfigureAwait(false))
        {
            if (message.GetAuxString("Digest") is not { } reported)
            {
                continue;
            }

            var auxTag = message.GetAuxString("Tag");
            if (auxTag is not null && auxTag != tag)
            {
                continue;
            }

            if (!Digest.TryParse(reported, out digest, out var error))
            {
                throw new EngineException($"the {operation} on {_endpoint} reported the malformed digest '{reported}' ({error}): check the registry");
            }
        }

        if (digest is null)
        {
            throw new EngineException($"the {operation} on {_endpoint} ended without reporting the manifest digest (no aux.Digest in the stream): the push may not have completed; retry it and check the registry");
        }

        Log.PushDone(_logger, repository, tag, digest.ToString());
        return digest;
    }

    /// <inheritdoc />
    /// <remarks>A digest reference is pulled as <c>tag=sha256:…</c>; when the reference has both, the digest wins.</remarks>
    /// <exception cref="InputException">The reference names no registry, or neither a tag nor a digest (the engine would pull every tag).</exception>
    public async Task PullImageAsync(ImageReference reference, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.Registry is null)
        {
            throw new InputException($"refusing to pull '{reference}': it names no registry, and Orchestrator never pulls implicitly from Docker Hub; write the registry in front, e.g. 127.0.0.1:5001/{reference}");
        }

        if (reference.Digest is null && reference.Tag is null)
        {
            throw new InputException($"refusing to pull '{reference}': it has neither a tag nor a digest, and the engine would pull every tag; add ':tag' or '@sha256:…'");
        }

        var operation = $"pull of {reference}";
        Log.PullStarting(_logger, reference.ToString(), _endpoint.Display);
        var query = new EngineQuery().Add("fromImage", reference.Name).Add("tag", reference.Digest?.ToString() ?? reference.Tag!);
        using var response = await SendOnceAsync(HttpMethod.Post, "images/create", query, null, RegistryAuthHeader.Encode(credentials), operation, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        await foreach (var _ in ReadMessagesAsync(response, operation, progress, cancellationToken).ConfigureAwait(false))
        {
            // Progress is reported while reading; errors surface as exceptions.
        }

        Log.PullDone(_logger, reference.ToString());
    }

    /// <inheritdoc />
    public async Task<ImageInspect?> InspectImageAsync(string nameOrId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrId);
        var operation = $"inspection of image {nameOrId}";
        using var response = await SendIdempotentAsync(HttpMethod.Get, $"images/{Segment(nameOrId)}/json", null, operation, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        var image = await ReadJsonAsync(response, EngineJsonContext.Default.ImageInspectResponse, operation, cancellationToken).ConfigureAwait(false);
        var config = image.Config;
        return new ImageInspect(
            image.Id ?? string.Empty,
            image.RepoTags ?? [],
            image.RepoDigests ?? [],
            image.Size,
            new ImageRunConfig(
                string.IsNullOrEmpty(config?.User) ? null : config.User,
                config?.Env ?? [],
                config?.Entrypoint,
                config?.Cmd,
                string.IsNullOrEmpty(config?.WorkingDir) ? null : config.WorkingDir,
                config?.Labels ?? new Dictionary<string, string>()),
            image.Architecture ?? string.Empty,
            image.Os ?? string.Empty);
    }

    /// <inheritdoc />
    /// <exception cref="InputException"><paramref name="repository"/> or <paramref name="tag"/> is malformed.</exception>
    public async Task TagImageAsync(string nameOrId, string repository, string tag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrId);
        RequireRepository(repository, requireRegistry: false);
        RequireTag(tag);
        var operation = $"tagging of {nameOrId} as {repository}:{tag}";
        var query = new EngineQuery().Add("repo", repository).Add("tag", tag);
        using var response = await SendOnceAsync(HttpMethod.Post, $"images/{Segment(nameOrId)}/tag", query, null, null, operation, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task RemoveImageAsync(string nameOrId, bool force = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrId);
        var operation = $"removal of image {nameOrId}";
        var query = new EngineQuery();
        if (force)
        {
            query.Add("force", "1");
        }

        using var response = await SendOnceAsync(HttpMethod.Delete, $"images/{Segment(nameOrId)}", query, null, null, operation, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            Log.AlreadyDone(_logger, operation, _endpoint.Display, (int)response.StatusCode);
            return;
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The container gets no TTY and no stdin. An empty <see cref="ContainerSpec.Entrypoint"/> is sent as <c>[]</c>,
    /// which the engine takes as "no entrypoint"; null omits the field so the image's entrypoint stays.
    /// </remarks>
    public async Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrWhiteSpace(spec.Image);

        var body = new ContainerCreateRequest
        {
            Image = spec.Image,
            Entrypoint = spec.Entrypoint,
            Cmd = spec.Cmd,
            User = spec.User,
            Env = spec.Env,
            Labels = spec.Labels,
            AttachStdout = true,
            AttachStderr = true,
            HostConfig = new HostConfigRequest
            {
                NetworkMode = spec.NetworkMode,
                ReadonlyRootfs = spec.ReadonlyRootfs,
                Tmpfs = spec.Tmpfs,
                Memory = spec.MemoryBytes > 0 ? spec.MemoryBytes : null,
                PidsLimit = spec.PidsLimit > 0 ? spec.PidsLimit : null,
                CapDrop = spec.CapDropAll ? ["ALL"] : null,
                SecurityOpt = spec.NoNewPrivileges ? ["no-new-privileges"] : null,
            },
        };

        var operation = $"creation of a container from {spec.Image}";
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, EngineJsonContext.Default.ContainerCreateRequest));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await SendOnceAsync(HttpMethod.Post, "containers/create", null, content, null, operation, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        var created = await ReadJsonAsync(response, EngineJsonContext.Default.ContainerCreateResponse, operation, cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(created.Id))
        {
            throw new EngineException($"the {operation} on {_endpoint} answered without a container id: check that the engine speaks API {ApiVersion}");
        }

        Log.ContainerCreated(_logger, created.Id, spec.Image);
        foreach (var warning in created.Warnings ?? [])
        {
            Log.ContainerWarning(_logger, created.Id, warning);
        }

        return created.Id;
    }

    /// <inheritdoc />
    /// <remarks>A container that is already running (304) is not an error.</remarks>
    public async Task StartContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var operation = $"start of container {id}";
        using var response = await SendOnceAsync(HttpMethod.Post, $"containers/{Segment(id)}/start", null, null, null, operation, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotModified)
        {
            Log.AlreadyDone(_logger, operation, _endpoint.Display, (int)response.StatusCode);
            return;
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Waits with <c>condition=not-running</c>, so a container that already exited answers at once.</remarks>
    public async Task<long> WaitContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var operation = $"wait for container {id}";
        var query = new EngineQuery().Add("condition", "not-running");
        using var response = await SendOnceAsync(HttpMethod.Post, $"containers/{Segment(id)}/wait", query, null, null, operation, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        var result = await ReadJsonAsync(response, EngineJsonContext.Default.ContainerWaitResponse, operation, cancellationToken).ConfigureAwait(false);
        if (result.Error?.Message is { Length: > 0 } error)
        {
            throw new EngineException($"the {operation} failed on {_endpoint}: {error}", HttpStatusCode.OK, error);
        }

        return result.StatusCode;
    }

    /// <inheritdoc />
    /// <remarks>A container that is not running (409, 304) or already gone (404) is not an error.</remarks>
    public async Task KillContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var operation = $"kill of container {id}";
        using var response = await SendOnceAsync(HttpMethod.Post, $"containers/{Segment(id)}/kill", null, null, null, operation, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotModified or HttpStatusCode.NotFound)
        {
            Log.AlreadyDone(_logger, operation, _endpoint.Display, (int)response.StatusCode);
            return;
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Each stream is kept up to 16 MiB; beyond that a final note says how many bytes were dropped.</remarks>
    public async Task<ContainerLogs> GetContainerLogsAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var operation = $"log read of container {id}";
        var query = new EngineQuery().Add("stdout", "1").Add("stderr", "1");
        using var response = await SendIdempotentAsync(HttpMethod.Get, $"containers/{Segment(id)}/logs", query, operation, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return await LogDemultiplexer.DemultiplexAsync(body, LogDemultiplexer.DefaultMaxBytesPerStream, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            throw new EngineException($"the {operation} on {_endpoint} returned a log stream that is not multiplexed ({ex.Message}): Orchestrator only reads containers created without a TTY", response.StatusCode, innerException: ex);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw Unavailable(operation, ex);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? label, CancellationToken cancellationToken = default)
    {
        var operation = label is null ? "listing of the containers" : $"listing of the containers labelled {label}";
        var query = new EngineQuery().Add("all", "1");
        if (label is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(label);
            query.Add("filters", JsonSerializer.Serialize(new Dictionary<string, string[]> { ["label"] = [label] }, EngineJsonContext.Default.DictionaryStringStringArray));
        }

        using var response = await SendIdempotentAsync(HttpMethod.Get, "containers/json", query, operation, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        var entries = await ReadJsonAsync(response, EngineJsonContext.Default.ListContainerListEntry, operation, cancellationToken).ConfigureAwait(false);
        return [.. entries
            .Where(e => !string.IsNullOrEmpty(e.Id))
            .Select(e => new ContainerSummary(
                e.Id!,
                e.State ?? string.Empty,
                e.Labels ?? new Dictionary<string, string>(),
                e.Created is { } created ? DateTimeOffset.FromUnixTimeSeconds(created) : null,
                e.Command))];
    }

    /// <inheritdoc />
    public async Task RemoveContainerAsync(string id, bool force = true, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var operation = $"removal of container {id}";
        var query = new EngineQuery().Add("force", force ? "1" : "0").Add("v", "1");
        using var response = await SendOnceAsync(HttpMethod.Delete, $"containers/{Segment(id)}", query, null, null, operation, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            Log.AlreadyDone(_logger, operation, _endpoint.Display, (int)response.StatusCode);
            return;
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The engine answers 404 both for a missing path and a missing container, and a HEAD has no body to tell
    /// them apart, so a 404 is followed by <c>GET /containers/{id}/json</c>: a missing container is an
    /// <see cref="EngineException"/>, not a null.
    /// </remarks>
    public async Task<PathStat?> StatContainerPathAsync(string id, string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var operation = $"stat of {path} in container {id}";
        var query = new EngineQuery().Add("path", path);
        using var response = await SendIdempotentAsync(HttpMethod.Head, $"containers/{Segment(id)}/archive", query, operation, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            await EnsureContainerExistsAsync(id, operation, cancellationToken).ConfigureAwait(false);
            return null;
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        if (!response.Headers.TryGetValues(PathStatHeader.Name, out var values) || values.FirstOrDefault() is not { } header)
        {
            throw new EngineException($"the {operation} on {_endpoint} answered without the {PathStatHeader.Name} header: check that the engine speaks API {ApiVersion}", response.StatusCode);
        }

        try
        {
            return PathStatHeader.Decode(header);
        }
        catch (FormatException ex)
        {
            throw new EngineException($"the {operation} on {_endpoint} answered with an unreadable {PathStatHeader.Name} header: {ex.Message}", response.StatusCode, header, ex);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private async Task EnsureContainerExistsAsync(string id, string operation, CancellationToken cancellationToken)
    {
        using var response = await SendIdempotentAsync(HttpMethod.Get, $"containers/{Segment(id)}/json", null, operation, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            var body = await ReadErrorBodyAsync(response, cancellationToken).ConfigureAwait(false);
            throw new EngineException($"the {operation} failed on {_endpoint}: {ExtractMessage(body) ?? "no such container"}; create the container first", response.StatusCode, body);
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendIdempotentAsync(HttpMethod method, string path, EngineQuery? query, string operation, CancellationToken cancellationToken)
    {
        var uri = BuildUri(path, query);
        try
        {
            return await _idempotentPipeline.ExecuteAsync(
                static async (state, token) =>
                {
                    // A request message cannot be sent twice, so every attempt gets its own.
                    using var request = new HttpRequestMessage(state.method, state.uri);
                    return await state.http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
                },
                (method, uri, http: _http),
                cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw Unavailable(operation, ex);
        }
    }

    // Never retried: POST/DELETE change state, and a streamed body cannot be replayed.
    private async Task<HttpResponseMessage> SendOnceAsync(HttpMethod method, string path, EngineQuery? query, HttpContent? content, string? registryAuth, string operation, CancellationToken cancellationToken)
    {
        // Not disposed: disposing the message would dispose the content and with it the caller's stream.
        var request = new HttpRequestMessage(method, BuildUri(path, query)) { Content = content };
        if (registryAuth is not null)
        {
            request.Headers.Add(RegistryAuthHeader.Name, registryAuth);
        }

        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw Unavailable(operation, ex);
        }
    }

    private async IAsyncEnumerable<JsonMessage> ReadMessagesAsync(HttpResponseMessage response, string operation, IProgress<EngineProgress>? progress, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Stream body;
        try
        {
            body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw Unavailable(operation, ex);
        }

        await using (body.ConfigureAwait(false))
        {
            await foreach (var message in JsonMessageStream.ReadAsync(body, operation, _endpoint.Display, progress, cancellationToken).ConfigureAwait(false))
            {
                if (_logger.IsEnabled(LogLevel.Debug) && (message.Stream ?? message.Status) is { } line && line.Trim() is { Length: > 0 } trimmed)
                {
                    Log.StreamLine(_logger, operation, message.Id is null ? trimmed : $"{message.Id}: {trimmed}");
                }

                yield return message;
            }
        }
    }

    private async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, string operation, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return await JsonSerializer.DeserializeAsync(body, typeInfo, cancellationToken).ConfigureAwait(false)
                ?? throw new JsonException("the body is JSON null");
        }
        catch (JsonException ex)
        {
            throw new EngineException($"the {operation} on {_endpoint} answered with JSON that cannot be read ({ex.Message}): check that the endpoint is a Docker Engine speaking API {ApiVersion}", response.StatusCode, innerException: ex);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw Unavailable(operation, ex);
        }
    }

    private async Task EnsureSuccessAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var body = await ReadErrorBodyAsync(response, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        var engineMessage = ExtractMessage(body) ?? (string.IsNullOrWhiteSpace(body) ? response.ReasonPhrase ?? "no message" : body.Trim());
        var next = status >= 500
            ? "; the engine failed internally: check its log (dockerd output or journalctl -u docker) and retry"
            : string.Empty;
        throw new EngineException($"the {operation} failed on {_endpoint}: {engineMessage} (HTTP {status}){next}", response.StatusCode, body);
    }

    private static async Task<string> ReadErrorBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(body, Encoding.UTF8);
            var buffer = new char[MaxErrorBodyChars];
            var read = await reader.ReadBlockAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
            return new string(buffer, 0, read);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            return string.Empty;
        }
    }

    private static string? ExtractMessage(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(body, EngineJsonContext.Default.ErrorResponse)?.Message?.Trim() is { Length: > 0 } message ? message : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private UnavailableException Unavailable(string operation, Exception ex) =>
        new($"no Docker Engine answers on {_endpoint} ({operation}: {ex.Message}): run ./scripts/setup to start one, or set DOCKER_HOST to an engine that runs", ex);

    private Uri BuildUri(string path, EngineQuery? query) =>
        new(_endpoint.BaseAddress.AbsoluteUri + path + query, UriKind.Absolute);

    private static StreamContent TarContent(Stream tar)
    {
        var content = new StreamContent(tar);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        return content;
    }

    // Names and ids contain '/', ':' and '@'; the engine's router decodes the escaped forms.
    private static string Segment(string value) => Uri.EscapeDataString(value);

    private static void RequireRepository(string repository, bool requireRegistry)
    {
        if (!ImageReference.TryParse(repository, out var reference, out var error))
        {
            throw new InputException($"'{repository}' is not a repository name: {error}");
        }

        if (reference.Tag is not null || reference.Digest is not null)
        {
            throw new InputException($"'{repository}' carries a tag or digest where a bare repository is expected: pass the tag separately, e.g. repository {reference.Name} and tag {reference.Tag ?? "1.0"}");
        }

        if (requireRegistry && reference.Registry is null)
        {
            throw new InputException($"'{repository}' names no registry, so the engine would push it to Docker Hub: put the registry in front, e.g. 127.0.0.1:5001/{repository}");
        }
    }

    private static void RequireTag(string tag)
    {
        if (!ImageReference.IsValidTag(tag, out var error))
        {
            throw new InputException(error);
        }
    }
}

/// <summary>A query string whose names and values are escaped; names may repeat (<c>t=</c>, <c>changes=</c>).</summary>
internal sealed class EngineQuery
{
    private readonly StringBuilder _text = new();

    public EngineQuery Add(string name, string value)
    {
        _text.Append(_text.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
        return this;
    }

    public override string ToString() => _text.ToString();
}
