using System.Net;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Errors;
using Polly;
using Polly.Retry;

namespace Orchestrator.Registry.Resilience;

/// <summary>
/// The handler that makes one registry request survive what can pass, as go-containerregistry's
/// <c>transport/retry.go</c> does, in this order:
/// <list type="number">
/// <item>retry (Polly, outermost): exponential backoff with jitter from <see cref="RegistryClientOptions.RetryDelay"/>,
/// or the answer's <c>Retry-After</c> (RFC 9110 section 10.2.3, capped at 2 minutes), up to
/// <see cref="RegistryClientOptions.MaxRetryAttempts"/> times, only on what <see cref="TransientFailure"/> calls
/// transient; a request whose body is a spent stream (<see cref="RegistryRequest.OneShot"/>) is sent once;</item>
/// <item>the registry's shared <see cref="RegistryRateBudget"/>: every attempt waits its turn, and a <c>429</c> pauses
/// every request to the registry;</item>
/// <item>the attempt's timeout (<see cref="RegistryClientOptions.AttemptTimeout"/>, up to the response headers, or the
/// whole body with <see cref="RegistryRequest.BufferResponse"/>): when it passes, the attempt fails with a
/// <see cref="TimeoutException"/>, which is transient.</item>
/// </list>
/// Waiting for the budget is not counted in the attempt's time: a paused registry is not a slow one.
/// </summary>
internal sealed partial class ResilienceHandler : DelegatingHandler
{
    /// <summary>The longest <c>Retry-After</c> honoured; a registry asking for more gets this.</summary>
    internal static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(2);

    private readonly RegistryClientOptions _options;
    private readonly RegistryRateBudget _budget;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;

    /// <param name="options">Retries, their delay and the attempt timeout.</param>
    /// <param name="budget">The registry's budget, shared with every other chain to the same registry.</param>
    /// <param name="timeProvider">The clock of backoff, Retry-After dates and timeouts.</param>
    /// <param name="logger">Logs each retry (never a header).</param>
    /// <param name="innerHandler">The next handler (auth).</param>
    public ResilienceHandler(RegistryClientOptions options, RegistryRateBudget budget, TimeProvider timeProvider, ILogger logger, HttpMessageHandler innerHandler)
        : base(innerHandler)
    {
        _options = options;
        _budget = budget;
        _timeProvider = timeProvider;
        _logger = logger;
        _retry = options.MaxRetryAttempts == 0
            ? ResiliencePipeline<HttpResponseMessage>.Empty
            : new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider }
                .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
                {
                    MaxRetryAttempts = options.MaxRetryAttempts,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = options.RetryDelay,
                    MaxDelay = MaxRetryAfter,
                    ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
                    DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result, timeProvider)),
                    OnRetry = args =>
                    {
                        var reason = args.Outcome.Result is { } r ? $"{(int)r.StatusCode} {r.ReasonPhrase}" : args.Outcome.Exception?.Message ?? "unknown";
                        LogRetrying(_logger, _budget.Registry, reason, args.AttemptNumber + 1, _options.MaxRetryAttempts, args.RetryDelay.TotalMilliseconds);
                        args.Outcome.Result?.Dispose();
                        return ValueTask.CompletedTask;
                    },
                })
                .Build();
    }

    /// <summary>Whether Polly retries <paramref name="outcome"/>: <see cref="TransientFailure"/> on its status or exception.</summary>
    internal static bool IsTransient(Outcome<HttpResponseMessage> outcome) =>
        outcome.Result is { } response ? TransientFailure.IsTransient(response.StatusCode) : TransientFailure.IsTransient(outcome.Exception);

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var buffer = request.Get(RegistryRequest.BufferResponse, false);
        if (request.Get(RegistryRequest.OneShot, false))
        {
            return await AttemptAsync(request, buffer, cancellationToken).ConfigureAwait(false);
        }

        // A redirect (blob GETs to storage) rewrites RequestUri; each attempt starts from the registry's URL again.
        var uri = request.RequestUri;
        return await _retry.ExecuteAsync(
            async token =>
            {
                request.RequestUri = uri;
                return await AttemptAsync(request, buffer, token).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<HttpResponseMessage> AttemptAsync(HttpRequestMessage request, bool buffer, CancellationToken cancellationToken)
    {
        await _budget.WaitAsync(cancellationToken).ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(_options.AttemptTimeout, _timeProvider);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        HttpResponseMessage? response = null;
        try
        {
            response = await base.SendAsync(request, attempt.Token).ConfigureAwait(false);
            if (buffer)
            {
                await response.Content.LoadIntoBufferAsync(attempt.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            response?.Dispose();
            throw new TimeoutException($"no answer within {_options.AttemptTimeout.TotalSeconds:0.#} s", ex);
        }
        catch
        {
            response?.Dispose();
            throw;
        }

        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            _budget.Pause(RetryAfter(response, _timeProvider) ?? _options.RetryDelay);
        }

        return response;
    }

    /// <summary>The answer's <c>Retry-After</c> (seconds or a date) as a delay from now, within 0 to <see cref="MaxRetryAfter"/>; null without one.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeProvider timeProvider)
    {
        var header = response?.Headers.RetryAfter;
        var delay = header?.Delta ?? (header?.Date is { } date ? date - timeProvider.GetUtcNow() : null);
        if (delay is null)
        {
            return null;
        }

        return delay < TimeSpan.Zero ? TimeSpan.Zero : delay > MaxRetryAfter ? MaxRetryAfter : delay;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Registry {Registry} failed transiently ({Reason}); retry {Attempt} of {MaxAttempts} in {DelayMs} ms")]
    private static partial void LogRetrying(ILogger logger, string registry, string reason, int attempt, int maxAttempts, double delayMs);
}
