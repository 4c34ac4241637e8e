using System.Net.Sockets;
using Orchestrator.Core.Errors;

namespace Orchestrator.Docker;

/// <summary>
/// Where the engine listens, resolved like the docker CLI does: <c>DOCKER_HOST</c> first, then the
/// configured endpoint, then the default unix socket.
/// </summary>
internal sealed record DockerEndpoint
{
    public const string DefaultUnixSocket = "unix:///var/run/docker.sock";

    // The docker CLI's default port for plain-HTTP tcp:// hosts (opts/hosts.go, DefaultHTTPPort).
    private const int DefaultTcpPort = 2375;

    private DockerEndpoint(string display, string? socketPath, Uri baseAddress)
    {
        Display = display;
        Uri = new Uri(display);
        SocketPath = socketPath;
        BaseAddress = baseAddress;
    }

    /// <summary>The endpoint as people write it, <c>unix:///var/run/docker.sock</c> or <c>tcp://host:2375</c>.</summary>
    public Uri Uri { get; }

    /// <summary>The endpoint text for messages, without the trailing '/' <see cref="System.Uri"/> adds.</summary>
    public string Display { get; }

    /// <summary>The unix socket path, or null for tcp.</summary>
    public string? SocketPath { get; }

    /// <summary>The HTTP base address requests are made against, ending with <c>/v1.41/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Picks <paramref name="dockerHost"/> (the environment), else <paramref name="configured"/>, else the default socket.</summary>
    /// <exception cref="InputException">The chosen endpoint is not a usable unix:// or tcp:// address.</exception>
    public static DockerEndpoint Resolve(string? dockerHost, string? configured)
    {
        if (!string.IsNullOrWhiteSpace(dockerHost))
        {
            return Parse(dockerHost.Trim(), "the DOCKER_HOST environment variable");
        }

        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Parse(configured.Trim(), "the configured Docker endpoint");
        }

        return Parse(DefaultUnixSocket, "the default Docker endpoint");
    }

    /// <summary>Parses <c>unix:///path</c> or <c>tcp://host[:port]</c>; <paramref name="source"/> names where it came from, for messages.</summary>
    public static DockerEndpoint Parse(string value, string source)
    {
        const string Fix = "use unix:///var/run/docker.sock or tcp://host:2375";
        if (value.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
        {
            var path = value["unix://".Length..];
            if (path.Length == 0 || path[0] != '/')
            {
                throw new InputException($"'{value}' from {source} has no absolute socket path: {Fix}");
            }

            return new DockerEndpoint("unix://" + path, path, new Uri($"http://docker/{DockerEngineClient.ApiVersion}/"));
        }

        if (value.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(value, UriKind.Absolute, out var parsed) || string.IsNullOrEmpty(parsed.Host)
                || parsed.AbsolutePath is not ("/" or "") || parsed.Query.Length > 0 || parsed.UserInfo.Length > 0)
            {
                throw new InputException($"'{value}' from {source} is not a tcp://host:port address: {Fix}");
            }

            var port = parsed.IsDefaultPort || parsed.Port <= 0 ? DefaultTcpPort : parsed.Port;
            var authority = parsed.HostNameType == UriHostNameType.IPv6 ? $"[{parsed.DnsSafeHost}]:{port}" : $"{parsed.Host}:{port}";
            return new DockerEndpoint($"tcp://{authority}", null, new Uri($"http://{authority}/{DockerEngineClient.ApiVersion}/"));
        }

        var scheme = value.Contains("://", StringComparison.Ordinal) ? value[..value.IndexOf("://", StringComparison.Ordinal)] : null;
        throw new InputException(scheme is null
            ? $"'{value}' from {source} has no scheme: {Fix}"
            : $"'{value}' from {source} uses the unsupported scheme '{scheme}' (only unix:// and plain-HTTP tcp:// are supported): {Fix}");
    }

    /// <summary>The transport: a unix socket connection for unix://, plain TCP otherwise.</summary>
    public SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler
        {
            // The engine closes idle keep-alive connections itself; do not hand out stale ones.
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseProxy = false,
            AllowAutoRedirect = false,
        };

        if (SocketPath is { } path)
        {
            handler.ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        return handler;
    }

    public override string ToString() => Display;
}
