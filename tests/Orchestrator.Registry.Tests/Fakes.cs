using System.Net;
using System.Text;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;

namespace Orchestrator.Registry.Tests;

/// <summary>One request as the fake handler saw it, body included.</summary>
internal sealed record RecordedRequest(HttpMethod Method, Uri Uri, string? Authorization, string? ContentType, string? ContentRange, long? ContentLength, byte[] Body, string Accept);

/// <summary>An <see cref="HttpMessageHandler"/> answering from a function and recording every request.</summary>
internal sealed class FakeHandler(Func<RecordedRequest, HttpResponseMessage> respond) : HttpMessageHandler
{
    private readonly Lock _lock = new();
    private readonly List<RecordedRequest> _requests = [];

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return _requests.ToList();
            }
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var recorded = new RecordedRequest(
            request.Method,
            request.RequestUri!,
            request.Headers.Authorization?.ToString(),
            request.Content?.Headers.ContentType?.MediaType,
            request.Content?.Headers.TryGetValues("Content-Range", out var range) == true ? range.Single() : null,
            request.Content?.Headers.ContentLength,
            body,
            string.Join(",", request.Headers.Accept.Select(a => a.MediaType)));
        lock (_lock)
        {
            _requests.Add(recorded);
        }

        var response = respond(recorded);
        response.RequestMessage = request;
        return response;
    }

    public static HttpResponseMessage Status(HttpStatusCode status, string? json = null)
    {
        var response = new HttpResponseMessage(status);
        if (json is not null)
        {
            response.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return response;
    }
}

/// <summary>
/// A clock whose timers shorter than <see cref="FireBelow"/> fire at once, recording the due time asked
/// for, so backoff delays can be asserted without waiting. Longer timers (attempt timeouts) never fire.
/// </summary>
internal sealed class FastTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<TimeSpan> _delays = [];

    public DateTimeOffset Now { get; set; } = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public TimeSpan FireBelow { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Moves <see cref="Now"/> forward by each timer that fires, as if the wait really passed.</summary>
    public bool AdvanceOnTimer { get; init; }

    public IReadOnlyList<TimeSpan> Delays
    {
        get
        {
            lock (_lock)
            {
                return _delays.ToList();
            }
        }
    }

    public override DateTimeOffset GetUtcNow() => Now;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new FakeTimer();
        if (dueTime != Timeout.InfiniteTimeSpan && dueTime < FireBelow)
        {
            lock (_lock)
            {
                _delays.Add(dueTime);
                if (AdvanceOnTimer)
                {
                    Now += dueTime;
                }
            }

            ThreadPool.QueueUserWorkItem(_ => callback(state));
        }

        return timer;
    }

    private sealed class FakeTimer : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => true;

        public void Dispose()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

internal static class Fake
{
    public static readonly RegistryEndpoint Endpoint = new("reg.test", PlainHttp: true);

    public static (IRegistryClient Client, RegistryClientFactory Factory) Client(
        FakeHandler handler,
        RegistryEndpoint? endpoint = null,
        RegistryClientOptions? options = null,
        FastTimeProvider? time = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var factory = new RegistryClientFactory(null, time ?? new FastTimeProvider(), options ?? new RegistryClientOptions(), () => handler, name => environment?.GetValueOrDefault(name));
        return (factory.Create(endpoint ?? Endpoint), factory);
    }
}
