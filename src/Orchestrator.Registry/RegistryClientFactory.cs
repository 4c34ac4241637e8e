using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;

namespace Orchestrator.Registry;

/// <summary>
/// Creates <see cref="IRegistryClient"/>s. Clients of the same registry (scheme and host) share one
/// pooled <see cref="HttpClient"/>, so connections are reused across clients and copies, and one
/// <see cref="RegistryRateBudget"/>, so a 429 slows every copy to that registry; clients of the
/// same <see cref="RegistryEndpoint"/> also share cached bearer tokens. Dispose the factory to close
/// the connections.
/// </summary>
public sealed class RegistryClientFactory : IRegistryClientFactory, IDisposable
{
    private readonly ConcurrentDictionary<string, HttpClient> _clients = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<RegistryEndpoint, RegistryAuthenticator> _authenticators = new();
    private readonly ConcurrentDictionary<string, RegistryRateBudget> _budgets = new(StringComparer.OrdinalIgnoreCase);
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _timeProvider;
    private readonly RegistryClientOptions _options;
    private readonly Func<HttpMessageHandler> _handlerFactory;
    private readonly Func<string, string?> _environment;
    private bool _disposed;

    /// <summary>Creates a factory.</summary>
    /// <param name="loggerFactory">Where clients log retries; none by default.</param>
    /// <param name="timeProvider">Clock for backoff, timeouts and token expiry; the system clock by default.</param>
    /// <param name="options">Retry, timeout and upload settings; the defaults of <see cref="RegistryClientOptions"/> otherwise.</param>
    /// <exception cref="Core.Errors.InputException"><paramref name="options"/> has out-of-range values.</exception>
    public RegistryClientFactory(ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null, RegistryClientOptions? options = null)
        : this(loggerFactory, timeProvider, options, handlerFactory: null, environment: null)
    {
    }

    /// <summary>For tests: <paramref name="handlerFactory"/> replaces the socket handler, <paramref name="environment"/> the process environment.</summary>
    internal RegistryClientFactory(
        ILoggerFactory? loggerFactory,
        TimeProvider? timeProvider,
        RegistryClientOptions? options,
        Func<HttpMessageHandler>? handlerFactory,
        Func<string, string?>? environment)
    {
        _options = options ?? new RegistryClientOptions();
        _options.Validate();
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _handlerFactory = handlerFactory ?? CreateSocketsHandler;
        _environment = environment ?? Environment.GetEnvironmentVariable;
    }

    /// <inheritdoc />
    public IRegistryClient Create(RegistryEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var registry = endpoint.BaseUri.GetLeftPart(UriPartial.Authority);
        var http = _clients.GetOrAdd(registry, _ => new HttpClient(_handlerFactory(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan });
        var auth = _authenticators.GetOrAdd(endpoint, e => new RegistryAuthenticator(e, _environment, _timeProvider));
        var logger = _loggerFactory.CreateLogger<RegistryClient>();
        var budget = _budgets.GetOrAdd(registry, r => new RegistryRateBudget(r, _options.RequestsPerSecond, _timeProvider, logger));
        return new RegistryClient(endpoint, http, auth, _options, _timeProvider, logger, budget);
    }

    /// <summary>Closes every pooled connection; clients created by this factory stop working.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        _clients.Clear();
    }

    private static SocketsHttpHandler CreateSocketsHandler() => new()
    {
        // Bytes must arrive exactly as stored: a decompressed layer would not hash to its digest.
        AutomaticDecompression = DecompressionMethods.None,
        // Blob GETs may redirect to storage (S3, GCS); the handler drops Authorization on redirect.
        AllowAutoRedirect = true,
        MaxAutomaticRedirections = 10,
        ConnectTimeout = TimeSpan.FromSeconds(15),
        // Recycle connections so DNS changes of a registry are picked up in long runs.
        PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        UseCookies = false,
    };
}
