using Docker.DotNet;
using Docker.DotNet.Handler.Abstractions;
using Docker.DotNet.NativeHttp;
using Docker.DotNet.X509;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Errors;

namespace Orchestrator.Docker;

/// <summary>
/// Builds Docker.DotNet clients for a <see cref="DockerEndpoint"/>: the library's NativeHttp transport
/// (<see cref="SocketsHttpHandler"/>, for unix sockets and tcp alike; it needs no reflection, unlike the legacy
/// ManagedHandler transports), TLS client certificates through Docker.DotNet.X509, API version pinned.
/// </summary>
internal static class EngineConnection
{
    /// <summary>The Engine API version every request is made against (Docker 20.10).</summary>
    public static readonly Version ApiVersion = new(1, 41);

    /// <summary>
    /// A builder with the endpoint, API version, TLS and no client-side timeout: builds, pushes and waits legitimately
    /// run long, so callers bound them with their cancellation tokens (the library's default is 100 s per request).
    /// </summary>
    /// <exception cref="InputException">TLS is on and the certificates in <see cref="DockerEndpoint.CertificatePath"/> cannot be loaded.</exception>
    public static DockerClientBuilder NewBuilder(DockerEndpoint endpoint, ILogger? logger = null) =>
        new DockerClientBuilder()
            .WithEndpoint(endpoint.Uri)
            .WithApiVersion(ApiVersion)
            .WithTimeout(Timeout.InfiniteTimeSpan)
            .WithAuthProvider(CreateAuthProvider(endpoint))
            .WithLogger(logger ?? NullLogger.Instance);

    /// <summary>The production client over the library's NativeHttp transport.</summary>
    public static DockerClient CreateClient(DockerEndpoint endpoint, ILogger? logger = null) =>
        NewBuilder(endpoint, logger).WithTransportOptions(NativeOptions).Build();

    /// <summary>
    /// A plain <see cref="HttpMessageHandler"/> to the same engine, and the base address to send to, for the one call the
    /// library lacks (<c>POST /build/prune</c>). The caller disposes the handler.
    /// </summary>
    public static (HttpMessageHandler Handler, Uri BaseAddress) CreateRawTransport(DockerEndpoint endpoint, ILogger? logger = null)
    {
        var authProvider = CreateAuthProvider(endpoint) ?? NoopAuthProvider.Instance;
        var options = new ResolvedClientOptions { Endpoint = endpoint.Uri, ApiVersion = ApiVersion, AuthProvider = authProvider, Timeout = Timeout.InfiniteTimeSpan };
        var transport = DockerHandlerFactory.Instance.CreateHandler(NativeOptions, options, logger ?? NullLogger.Instance);
        return (authProvider.ConfigureHandler(transport.Handler), transport.EffectiveEndpoint);
    }

    // The engine never redirects and must not be reached through an HTTP proxy set for the registries.
    private static NativeHttpTransportOptions NativeOptions { get; } = new()
    {
        ConfigureHandler = handler =>
        {
            handler.UseProxy = false;
            handler.AllowAutoRedirect = false;

            // The engine closes idle keep-alive connections itself; do not hand out stale ones.
            handler.PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30);
        },
    };

    private static IAuthProvider? CreateAuthProvider(DockerEndpoint endpoint)
    {
        if (endpoint.CertificatePath is not { } folder)
        {
            return null;
        }

        try
        {
            return DockerTlsCertificates.LoadFromDirectory(folder).CreateCredentials();
        }
        catch (Exception ex) when (ex is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            throw new InputException($"DOCKER_TLS_VERIFY is set but the TLS material for {endpoint} in {folder} cannot be loaded ({ex.Message}): put ca.pem, cert.pem and key.pem there, point DOCKER_CERT_PATH at them, or unset DOCKER_TLS_VERIFY for a plain tcp:// engine");
        }
    }
}
