using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Registry.Resilience;

namespace Orchestrator.Registry.Tests.Resilience;

public sealed class ResilienceHandlerTests
{
    private readonly FastTimeProvider _time = new();

    private HttpMessageInvoker Chain(FakeHandler inner, RegistryClientOptions? options = null)
    {
        var settings = options ?? new RegistryClientOptions { MaxRetryAttempts = 3 };
        var budget = new RegistryRateBudget("http://reg.test", 0, _time);
        return new HttpMessageInvoker(new ResilienceHandler(settings, budget, _time, NullLogger.Instance, inner));
    }

    private static HttpRequestMessage Get(bool oneShot = false) =>
        new HttpRequestMessage(HttpMethod.Get, "http://reg.test/v2/app/manifests/1.0").With("repository:app:pull", oneShot, bufferResponse: true);

    // Answers `first` (a status, or an exception to throw) on the first request, 200 after.
    private static FakeHandler FailingOnce(Func<HttpResponseMessage> first)
    {
        var calls = 0;
        return new FakeHandler(_ => Interlocked.Increment(ref calls) == 1 ? first() : FakeHandler.Status(HttpStatusCode.OK, "{}"));
    }

    public static TheoryData<int, bool> Statuses()
    {
        var data = new TheoryData<int, bool>();
        foreach (var status in new[] { 408, 429, 500, 502, 503, 504 })
        {
            data.Add(status, true);
        }

        foreach (var status in new[] { 400, 401, 403, 404, 405, 409, 412, 413, 416, 501, 505 })
        {
            data.Add(status, false);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Statuses))]
    public async Task SendAsync_FailingStatusOnce_RetriedExactlyWhenTransient(int status, bool transient)
    {
        // Given a registry that answers the status once, then 200
        var inner = FailingOnce(() => FakeHandler.Status((HttpStatusCode)status));

        // When a request is sent
        using var response = await Chain(inner).SendAsync(Get(), CancellationToken.None);

        // Then a transient status was retried into the 200; any other came back after one attempt
        Assert.Equal(transient ? 2 : 1, inner.Requests.Count);
        Assert.Equal(transient ? HttpStatusCode.OK : (HttpStatusCode)status, response.StatusCode);
    }

    public static TheoryData<string, Func<Exception>, bool> Failures() => new()
    {
        { "connection refused", () => new HttpRequestException(HttpRequestError.ConnectionError, "refused", new SocketException((int)SocketError.ConnectionRefused)), true },
        { "connection reset", () => new IOException("reset", new SocketException((int)SocketError.ConnectionReset)), true },
        { "response ended", () => new HttpRequestException(HttpRequestError.ResponseEnded, "ended"), true },
        { "TLS failure", () => new HttpRequestException(HttpRequestError.SecureConnectionError, "certificate"), false },
        { "host not found", () => new HttpRequestException(HttpRequestError.NameResolutionError, "no such host", new SocketException((int)SocketError.HostNotFound)), false },
        { "a bug", () => new InvalidOperationException("bug"), false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task SendAsync_ExceptionOnce_RetriedExactlyWhenTransient(string what, Func<Exception> failure, bool transient)
    {
        // Given a connection that fails once in this way, then answers 200
        var inner = FailingOnce(() => throw failure());
        var invoker = Chain(inner);

        // When a request is sent
        if (transient)
        {
            using var response = await invoker.SendAsync(Get(), CancellationToken.None);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        else
        {
            var error = await Assert.ThrowsAnyAsync<Exception>(() => invoker.SendAsync(Get(), CancellationToken.None));
            Assert.Equal(failure().GetType(), error.GetType());
        }

        // Then a transient failure took a second attempt; any other surfaced after the first
        Assert.True((transient ? 2 : 1) == inner.Requests.Count, $"{what}: {inner.Requests.Count} attempts");
    }

    [Fact]
    public async Task SendAsync_429WithRetryAfterSeconds_WaitsThatLongNotTheBackoff()
    {
        // Given a registry answering 429 with Retry-After: 7, then 200, and a backoff base of 1 s
        var inner = FailingOnce(() =>
        {
            var limited = FakeHandler.Status(HttpStatusCode.TooManyRequests);
            limited.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(7));
            return limited;
        });

        // When a request is sent
        using var response = await Chain(inner).SendAsync(Get(), CancellationToken.None);

        // Then the retry waited the 7 s asked for (the budget's pause and the retry delay), and succeeded
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(TimeSpan.FromSeconds(7), _time.Delays);
        Assert.DoesNotContain(_time.Delays, d => d > TimeSpan.FromSeconds(7));
    }

    [Fact]
    public async Task SendAsync_503WithRetryAfterDate_WaitsUntilThatDate()
    {
        // Given a registry answering 503 with Retry-After as a date 12 s from now, then 200
        var inner = FailingOnce(() =>
        {
            var busy = FakeHandler.Status(HttpStatusCode.ServiceUnavailable);
            busy.Headers.RetryAfter = new RetryConditionHeaderValue(_time.Now + TimeSpan.FromSeconds(12));
            return busy;
        });

        // When a request is sent
        using var response = await Chain(inner).SendAsync(Get(), CancellationToken.None);

        // Then the retry waited until the date
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(TimeSpan.FromSeconds(12), _time.Delays);
    }

    [Fact]
    public async Task SendAsync_OneShotRequest503_NotRetried()
    {
        // Given a registry failing once with 503, and a request whose body is a spent stream
        var inner = FailingOnce(() => FakeHandler.Status(HttpStatusCode.ServiceUnavailable));

        // When it is sent
        using var response = await Chain(inner).SendAsync(Get(oneShot: true), CancellationToken.None);

        // Then the 503 comes back after a single attempt
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Single(inner.Requests);
    }

    [Fact]
    public async Task SendAsync_EveryAttemptTimesOut_TimeoutExceptionAfterEveryRetry()
    {
        // Given a registry that never answers, a 1 s attempt timeout and two retries (the fake clock fires it at once)
        var attempts = 0;
        var inner = new HangingHandler(() => Interlocked.Increment(ref attempts));
        var budget = new RegistryRateBudget("http://reg.test", 0, _time);
        var options = new RegistryClientOptions { MaxRetryAttempts = 2, AttemptTimeout = TimeSpan.FromSeconds(1) };
        var invoker = new HttpMessageInvoker(new ResilienceHandler(options, budget, _time, NullLogger.Instance, inner));

        // When a request is sent
        var error = await Assert.ThrowsAsync<TimeoutException>(() => invoker.SendAsync(Get(), CancellationToken.None));

        // Then each of the three attempts timed out, and the error says how long it waited
        Assert.Equal(3, attempts);
        Assert.Contains("1 s", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_CallerCancels_NotRetriedAndCancellationSurfaces()
    {
        // Given a registry that never answers, and a caller who cancels
        var attempts = 0;
        var inner = new HangingHandler(() => Interlocked.Increment(ref attempts));
        using var cancel = new CancellationTokenSource();
        var chain = new HttpMessageInvoker(new ResilienceHandler(
            new RegistryClientOptions { MaxRetryAttempts = 3 }, new RegistryRateBudget("http://reg.test", 0, _time), _time, NullLogger.Instance, inner));

        // When the request is cancelled while in flight
        var sending = chain.SendAsync(Get(), cancel.Token);
        await cancel.CancelAsync();

        // Then the cancellation surfaces as such, after one attempt
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
        Assert.Equal(1, attempts);
    }

    // Waits until its attempt is cancelled, counting attempts.
    private sealed class HangingHandler(Action onAttempt) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            onAttempt();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }
}
