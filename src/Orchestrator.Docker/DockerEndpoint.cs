using Docker.DotNet;
using Orchestrator.Core.Errors;

namespace Orchestrator.Docker;

/// <summary>
/// Where the engine listens, resolved like the docker CLI does: <c>DOCKER_HOST</c> first, then the endpoint in
/// orchestrator.yaml, then the current docker context (<c>DOCKER_CONTEXT</c>, or <c>currentContext</c> in
/// <c>$DOCKER_CONFIG/config.json</c>, read by Docker.DotNet's <see cref="DockerConfig"/>), then the default socket.
/// TLS follows the docker CLI's environment: <c>DOCKER_TLS_VERIFY</c> set turns it on for tcp://, with
/// <c>ca.pem</c>, <c>cert.pem</c> and <c>key.pem</c> from <c>DOCKER_CERT_PATH</c> (default <c>~/.docker</c>).
/// </summary>
/// <remarks>
/// The library reads DOCKER_HOST and contexts but not the configured endpoint, and would send a tcp:// host
/// without a port to port 80; this record keeps the CLI's defaults (2375 plain, 2376 TLS) and refuses what
/// Orchestrator does not speak (npipe://, ssh://) with a message that says what to use.
/// </remarks>
internal sealed record DockerEndpoint
{
    public const string DefaultUnixSocket = "unix:///var/run/docker.sock";

    // The docker CLI's default ports for tcp:// hosts (opts/hosts.go, DefaultHTTPPort and DefaultTLSHTTPPort).
    private const int DefaultTcpPort = 2375;
    private const int DefaultTlsPort = 2376;

    private DockerEndpoint(string display, string? socketPath, string? certificatePath)
    {
        Display = display;
        Uri = new Uri(display);
        SocketPath = socketPath;
        CertificatePath = certificatePath;
    }

    /// <summary>The endpoint as people write it, <c>unix:///var/run/docker.sock</c> or <c>tcp://host:2375</c>.</summary>
    public Uri Uri { get; }

    /// <summary>The endpoint text for messages, without the trailing '/' <see cref="System.Uri"/> adds.</summary>
    public string Display { get; }

    /// <summary>The unix socket path, or null for tcp.</summary>
    public string? SocketPath { get; }

    /// <summary>The folder of <c>ca.pem</c>, <c>cert.pem</c>, <c>key.pem</c> when the engine is reached over TLS; null for plain connections.</summary>
    public string? CertificatePath { get; }

    /// <summary>True when requests go over TLS with a client certificate.</summary>
    public bool UsesTls => CertificatePath is not null;

    /// <summary>Picks <paramref name="dockerHost"/> (the environment), else <paramref name="configured"/>, else the docker context, else the default socket.</summary>
    /// <param name="dockerHost">The value of <c>DOCKER_HOST</c>, or null.</param>
    /// <param name="configured">The endpoint from orchestrator.yaml, or null.</param>
    /// <param name="dockerConfig">Reads docker contexts; <see cref="DockerConfig.Instance"/> (the process environment) by default.</param>
    /// <param name="tls">The docker CLI's TLS settings; read from the environment by default.</param>
    /// <exception cref="InputException">The chosen endpoint is not a usable unix:// or tcp:// address, or the docker context cannot be read.</exception>
    public static DockerEndpoint Resolve(string? dockerHost, string? configured, DockerConfig? dockerConfig = null, TlsSettings? tls = null)
    {
        tls ??= TlsSettings.FromEnvironment();
        if (!string.IsNullOrWhiteSpace(dockerHost))
        {
            return Parse(dockerHost.Trim(), "the DOCKER_HOST environment variable", tls);
        }

        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Parse(configured.Trim(), "the configured Docker endpoint", tls);
        }

        Uri fromContext;
        try
        {
            // DOCKER_HOST is empty here, so this is the current docker context's endpoint, or the platform default.
            fromContext = (dockerConfig ?? DockerConfig.Instance).GetEndpoint();
        }
        catch (Exception ex) when (ex is DockerConfigurationException or IOException or System.Text.Json.JsonException)
        {
            throw new InputException($"the current docker context cannot be read ({ex.Message}): fix it with 'docker context use default', or set DOCKER_HOST (e.g. {DefaultUnixSocket})");
        }

        var text = fromContext.OriginalString;
        return Parse(text, text == DefaultUnixSocket ? "the default Docker endpoint" : "the current docker context", tls);
    }

    /// <summary>Parses <c>unix:///path</c> or <c>tcp://host[:port]</c>; <paramref name="source"/> names where it came from, for messages.</summary>
    /// <exception cref="InputException">The value is not a usable address.</exception>
    public static DockerEndpoint Parse(string value, string source, TlsSettings? tls = null)
    {
        tls ??= TlsSettings.Plain;
        const string Fix = "use unix:///var/run/docker.sock or tcp://host:2375";
        if (value.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
        {
            var path = value["unix://".Length..];
            if (path.Length == 0 || path[0] != '/')
            {
                throw new InputException($"'{value}' from {source} has no absolute socket path: {Fix}");
            }

            return new DockerEndpoint("unix://" + path, path, certificatePath: null);
        }

        if (value.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(value, UriKind.Absolute, out var parsed) || string.IsNullOrEmpty(parsed.Host)
                || parsed.AbsolutePath is not ("/" or "") || parsed.Query.Length > 0 || parsed.UserInfo.Length > 0)
            {
                throw new InputException($"'{value}' from {source} is not a tcp://host:port address: {Fix}");
            }

            var port = parsed.IsDefaultPort || parsed.Port <= 0 ? (tls.Verify ? DefaultTlsPort : DefaultTcpPort) : parsed.Port;
            var authority = parsed.HostNameType == UriHostNameType.IPv6 ? $"[{parsed.DnsSafeHost}]:{port}" : $"{parsed.Host}:{port}";
            return new DockerEndpoint($"tcp://{authority}", null, tls.Verify ? tls.CertificatePath : null);
        }

        var scheme = value.Contains("://", StringComparison.Ordinal) ? value[..value.IndexOf("://", StringComparison.Ordinal)] : null;
        throw new InputException(scheme is null
            ? $"'{value}' from {source} has no scheme: {Fix}"
            : $"'{value}' from {source} uses the unsupported scheme '{scheme}' (only unix:// and tcp:// are supported): {Fix}");
    }

    public override string ToString() => Display;

    /// <summary>The docker CLI's TLS environment: <c>DOCKER_TLS_VERIFY</c> (any non-empty value) and <c>DOCKER_CERT_PATH</c>.</summary>
    /// <param name="Verify">TLS with server verification and a client certificate.</param>
    /// <param name="CertificatePath">Folder of ca.pem, cert.pem, key.pem.</param>
    internal sealed record TlsSettings(bool Verify, string CertificatePath)
    {
        public static TlsSettings Plain { get; } = new(false, string.Empty);

        public static TlsSettings FromEnvironment()
        {
            var path = Environment.GetEnvironmentVariable("DOCKER_CERT_PATH");
            if (string.IsNullOrEmpty(path))
            {
                path = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker");
            }

            return new TlsSettings(!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_TLS_VERIFY")), path);
        }
    }
}
