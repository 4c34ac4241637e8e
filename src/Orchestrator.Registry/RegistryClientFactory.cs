using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Registry.Auth;
using Orchestrator.Registry.Resilience;
using Orchestrator.Registry.Tls;

namespace Orchestrator.Registry;

/// <summary>
/// Creates <see cref="IRegistryClient"/>s, and is where each registry's handler chain is composed (as
/// go-containerregistry's <c>transport.NewWithContext</c> composes its round-trippers):
/// <code>
/// RegistryClient (protocol, one file per resource)
///   → ResilienceHandler (retry on TransientFailure, Retry-After, RegistryRateBudget, attempt timeout)
///   → AuthChallengeHandler (Basic, Bearer token per scope, credentials from IRegistryCredentialSource)
///   → SocketsHttpHandler (TLS per RegistryTlsPolicy: ca-file, client certificate, certs.d, insecure; pooled connections, no decompression)
/// </code>
/// Clients of the same registry (scheme, host and TLS settings) share one socket handler, so connections are reused across
/// clients and copies, and one <see cref="RegistryRateBudget"/>, so a 429 slows every copy to that registry;
/// clients of the same <see cref="RegistryEndpoint"/> share one chain, and so their cached bearer tokens.
/// Dispose the factory to close the connections.
/// </summary>
public sealed class RegistryClientFactory : IRegistryClientFactory, IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, HttpMessageHandler> _sockets = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, RegistryRateBudget> _budgets = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<RegistryEndpoint, HttpClient> _chains = [];
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _timeProvider;
    private readonly RegistryClientOptions _options;
    private readonly Func<HttpMessageHandler>? _handlerFactory;
    private readonly IRegistryCredentialSource _credentials;
    private readonly Func<string, string?>? _environment;
    private bool _disposed;

    /// <summary>Creates a factory.</summary>
    /// <param name="loggerFactory">Where clients log retries; none by default.</param>
    /// <param name="timeProvider">Clock for backoff, timeouts and token expiry; the system clock by default.</param>
    /// <param name="options">Retry, timeout and upload settings; the defaults of <see cref="RegistryClientOptions"/> otherwise.</param>
    /// <param name="credentials">Where registry credentials come from; by default <see cref="RegistryCredentialChain"/> (the variables each registry names, then docker's config.json and credential helpers).</param>
    /// <exception cref="Core.Errors.InputException"><paramref name="options"/> has out-of-range values.</exception>
    public RegistryClientFactory(ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null, RegistryClientOptions? options = null, IRegistryCredentialSource? credentials = null)
        : this(loggerFactory, timeProvider, options, handlerFactory: null, credentials ?? new RegistryCredentialChain(), environment: null)
    {
    }

    /// <summary>For tests: <paramref name="handlerFactory"/> replaces the socket handler (TLS settings are then not applied), <paramref name="environment"/> the process environment (credentials, <c>ORCHESTRATOR_CERTS_D</c>).</summary>
    internal RegistryClientFactory(
        ILoggerFactory? loggerFactory,
        TimeProvider? timeProvider,
        RegistryClientOptions? options,
        Func<HttpMessageHandler>? handlerFactory,
        Func<string, string?>? environment)
        : this(loggerFactory, timeProvider, options, handlerFactory, new EnvironmentCredentialSource(environment), environment)
    {
    }

    private RegistryClientFactory(
        ILoggerFactory? loggerFactory,
        TimeProvider? timeProvider,
        RegistryClientOptions? options,
        Func<HttpMessageHandler>? handlerFactory,
        IRegistryCredentialSource credentials,
        Func<string, string?>? environment)
    {
        _environment = environment;
        _options = options ?? new RegistryClientOptions();
        _options.Validate();
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _handlerFactory = handlerFactory;
        _credentials = credentials;
    }

    /// <inheritdoc />
    public IRegistryClient Create(RegistryEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var logger = _loggerFactory.CreateLogger<RegistryClient>();
        HttpClient http;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_chains.TryGetValue(endpoint, out var chain))
            {
                var registry = endpoint.BaseUri.GetLeftPart(UriPartial.Authority);

                // Endpoints of one registry written with different TLS settings must not share connections.
                var socketsKey = $"{registry} {endpoint.Tls}";
                if (!_sockets.TryGetValue(socketsKey, out var sockets))
                {
                    sockets = _sockets[socketsKey] = _handlerFactory?.Invoke() ?? CreateSocketsHandler(endpoint, CertsDirectory.Root(_environment));
                }

                if (!_budgets.TryGetValue(registry, out var budget))
                {
                    budget = _budgets[registry] = new RegistryRateBudget(registry, _options.RequestsPerSecond, _timeProvider, logger);
                }

                var auth = new AuthChallengeHandler(endpoint, _credentials, _timeProvider, sockets);
                var resilience = new ResilienceHandler(_options, budget, _timeProvider, logger, auth);

                // The socket handler is shared by every endpoint of the registry: Dispose closes it once, not per chain.
                chain = _chains[endpoint] = new HttpClient(resilience, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
            }

            http = chain;
        }

        return new RegistryClient(endpoint, http, _credentials, _options, _timeProvider, logger);
    }

    /// <summary>Closes every pooled connection; clients created by this factory stop working.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var chain in _chains.Values)
            {
                chain.Dispose();
            }

            foreach (var sockets in _sockets.Values)
            {
                sockets.Dispose();
            }

            _chains.Clear();
            _sockets.Clear();
        }
    }

    /// <summary>
    /// The socket handler of <paramref name="endpoint"/>'s registry, its TLS set by <see cref="RegistryTlsPolicy"/>; when the
    /// TLS files cannot be loaded, a handler that fails every request with that error (so it surfaces at the first request,
    /// as a job failure naming the file, not while composing services).
    /// </summary>
    private static HttpMessageHandler CreateSocketsHandler(RegistryEndpoint endpoint, string certsRoot)
    {
        var handler = NewSocketsHandler();
        if (endpoint.PlainHttp)
        {
            return handler;
        }

        try
        {
            var policy = RegistryTlsPolicy.Load(endpoint, certsRoot);
            policy.Apply(handler);
            return new OwningHandler(handler, policy);
        }
        catch (RegistryException ex)
        {
            handler.Dispose();
            return new FailingHandler(ex.Message);
        }
    }

    private static SocketsHttpHandler NewSocketsHandler() => new()
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
