using Docker.DotNet;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Polly;

namespace Orchestrator.Docker;

/// <summary>
/// <see cref="IDockerEngine"/> over Docker.DotNet.Enhanced, Engine API v1.41 (Docker 20.10), on a unix socket or
/// tcp (plain, or TLS with a client certificate). A thin adapter: the library speaks the protocol (transport, JSON
/// message streams, stream demultiplexing, archives); this class checks inputs, maps the library's types to the
/// port's, and maps its errors to Orchestrator's (<see cref="EngineErrors"/>): an error status becomes
/// <see cref="EngineException"/> carrying the engine's message and status, an <c>errorDetail</c> inside a 200 stream
/// becomes <see cref="EngineException"/> with a null status, an engine that does not answer becomes
/// <see cref="UnavailableException"/>. Idempotent reads are retried on transient failures (<see cref="EngineRetry"/>).
/// The members live in one file per concern: images and builds, containers, archives, the build cache.
/// </summary>
public sealed partial class DockerEngineClient : IDockerEngine, IDisposable
{
    /// <summary>The Engine API version every request is made against.</summary>
    public const string ApiVersion = "v1.41";

    private readonly DockerEndpoint _endpoint;
    private readonly DockerClient _docker;
    private readonly Func<(HttpMessageHandler Handler, Uri BaseAddress)> _rawTransport;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _retry;

    /// <param name="endpoint">The engine, for messages.</param>
    /// <param name="docker">The library client for that engine.</param>
    /// <param name="rawTransport">Makes a handler to the same engine for the calls the library lacks; the caller disposes it.</param>
    /// <param name="logger">Receives progress lines (debug), retries and leftovers.</param>
    /// <param name="timeProvider">Clock for retry delays.</param>
    /// <param name="retryDelay">First retry delay; <see cref="EngineRetry.DefaultDelay"/> unless a test sets zero.</param>
    internal DockerEngineClient(DockerEndpoint endpoint, DockerClient docker, Func<(HttpMessageHandler Handler, Uri BaseAddress)> rawTransport, ILogger? logger = null, TimeProvider? timeProvider = null, TimeSpan? retryDelay = null)
    {
        _endpoint = endpoint;
        _docker = docker;
        _rawTransport = rawTransport;
        _logger = logger ?? NullLogger.Instance;
        _retry = EngineRetry.Create(_logger, endpoint.Display, timeProvider ?? TimeProvider.System, retryDelay);
    }

    /// <summary>The engine endpoint, <c>unix:///var/run/docker.sock</c> or <c>tcp://host:port</c>.</summary>
    public Uri Endpoint => _endpoint.Uri;

    /// <summary>
    /// Creates a client for the engine the docker CLI would use: <c>DOCKER_HOST</c> when set, else
    /// <paramref name="configuredEndpoint"/>, else the current docker context, else <c>unix:///var/run/docker.sock</c>
    /// (see <see cref="DockerEndpoint"/>). Forms: <c>unix:///path</c> and <c>tcp://host[:port]</c> (port 2375, or 2376
    /// with TLS when <c>DOCKER_TLS_VERIFY</c> is set, certificates from <c>DOCKER_CERT_PATH</c>).
    /// No connection is made until the first call.
    /// </summary>
    /// <param name="configuredEndpoint">The endpoint from the configuration, or null.</param>
    /// <param name="logger">Receives pull/push/build progress and retries; optional.</param>
    /// <param name="timeProvider">Clock for retry delays; <see cref="TimeProvider.System"/> by default.</param>
    /// <exception cref="InputException">The endpoint is malformed or uses another scheme (npipe://, ssh://), the docker
    /// context cannot be read, or TLS is asked for and its certificates cannot be loaded.</exception>
    public static DockerEngineClient Create(string? configuredEndpoint, ILogger<DockerEngineClient>? logger = null, TimeProvider? timeProvider = null)
    {
        var endpoint = DockerEndpoint.Resolve(Environment.GetEnvironmentVariable("DOCKER_HOST"), configuredEndpoint);
        return CreateFor(endpoint, logger, timeProvider);
    }

    /// <summary>A client for a resolved endpoint over the library's real transport.</summary>
    /// <summary>
    /// Creates a client for exactly <paramref name="endpoint"/>, one engine of the <c>engines:</c> pool: <c>DOCKER_HOST</c> and
    /// docker contexts are not consulted (they name one engine, the pool names several). With <paramref name="certPath"/>, a
    /// <c>tcp://</c> endpoint is reached over TLS with <c>ca.pem</c>, <c>cert.pem</c> and <c>key.pem</c> from that folder.
    /// </summary>
    /// <exception cref="InputException">The endpoint is not unix:// or tcp://, or the certificates cannot be loaded.</exception>
    public static DockerEngineClient CreateExact(string endpoint, string? certPath, ILogger<DockerEngineClient>? logger = null, TimeProvider? timeProvider = null)
    {
        var tls = certPath is null ? DockerEndpoint.TlsSettings.Plain : new DockerEndpoint.TlsSettings(true, certPath);
        return CreateFor(DockerEndpoint.Parse(endpoint, "the 'engines' list of orchestrator.yaml", tls), logger, timeProvider);
    }

    internal static DockerEngineClient CreateFor(DockerEndpoint endpoint, ILogger? logger = null, TimeProvider? timeProvider = null, TimeSpan? retryDelay = null) =>
        new(endpoint, EngineConnection.CreateClient(endpoint, logger), () => EngineConnection.CreateRawTransport(endpoint, logger), logger, timeProvider, retryDelay);

    /// <inheritdoc />
    public Task<EngineVersion> GetVersionAsync(CancellationToken cancellationToken = default) =>
        CallAsync("version query", idempotent: true, async token =>
        {
            var version = await _docker.System.GetVersionAsync(token).ConfigureAwait(false);
            return new EngineVersion(version.Version ?? string.Empty, version.APIVersion ?? string.Empty, version.Os ?? string.Empty, version.Arch ?? string.Empty);
        }, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _docker.Dispose();

    /// <summary>
    /// Runs one library call: retried on transient failures when <paramref name="idempotent"/>, and whatever the library
    /// or transport throws is mapped to Orchestrator's errors. Cancellation and argument errors pass through.
    /// </summary>
    private async Task<T> CallAsync<T>(string operation, bool idempotent, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            if (!idempotent)
            {
                return await call(cancellationToken).ConfigureAwait(false);
            }

            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(EngineRetry.OperationKey, operation);
            try
            {
                return await _retry.ExecuteAsync(
                    static async (context, call) => await call(context.CancellationToken).ConfigureAwait(false),
                    context,
                    call).ConfigureAwait(false);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }
        catch (Exception ex) when (EngineErrors.IsMapped(ex))
        {
            throw EngineErrors.Map(ex, operation, _endpoint);
        }
    }

    private Task CallAsync(string operation, bool idempotent, Func<CancellationToken, Task> call, CancellationToken cancellationToken) =>
        CallAsync(operation, idempotent, async token =>
        {
            await call(token).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    private void AlreadyDone(string operation, DockerApiException ex) =>
        Log.AlreadyDone(_logger, operation, _endpoint.Display, (int)ex.StatusCode);

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
