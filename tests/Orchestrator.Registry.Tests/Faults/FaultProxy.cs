using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;

namespace Orchestrator.Registry.Tests.Faults;

/// <summary>What the proxy answers instead of forwarding: a status, with <c>Retry-After</c> (whole seconds) on a 429.</summary>
internal sealed record FaultAnswer(int Status, int? RetryAfterSeconds = null);

/// <summary>
/// The faults armed on a <see cref="FaultProxy"/> for one try. Each hook is optional; a proxy with no plan
/// forwards everything untouched, which is how a rerun goes "through the proxy without faults".
/// </summary>
internal sealed class FaultPlan
{
    /// <summary>
    /// Called before a request is forwarded, with its method and path (with query): an answer to send instead,
    /// or null to forward. It may also wait first (a stall: it receives the client's abort token) or act on the
    /// registry behind (kill it: the forward then fails as a dropped connection).
    /// </summary>
    public Func<string, string, CancellationToken, Task<FaultAnswer?>>? BeforeForward { get; init; }

    /// <summary>Called as blob upload bytes (PATCH/PUT bodies under <c>/blobs/uploads/</c>) go upstream, with the total since the plan was armed.</summary>
    public Action<long>? OnBlobBytesUploaded { get; init; }

    /// <summary>Given a blob GET's path and length, after how many bytes to reset the connection; null sends it whole.</summary>
    public Func<string, long, long?>? ResetBlobDownloadAt { get; init; }

    /// <summary>Given a blob GET's path and length, the offset of one byte to flip (XOR 0x01) in what is served; null flips none.</summary>
    public Func<string, long, long?>? FlipBlobByteAt { get; init; }
}

/// <summary>
/// A Kestrel reverse proxy on 127.0.0.1 (a free port) in front of a real registry that injects the faults of the
/// <see cref="Plan"/> armed at the time: 5xx and 429 answers, stalls, connection resets and flipped bytes in blob
/// downloads, and hooks that see upload bytes go by (to kill the registry behind at a given share of a promotion).
/// It forwards the client's Host so that the registry's <c>Location</c> URLs point back at the proxy, and counts
/// the blob bytes uploaded through it, the witness of what a rerun copied.
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private const int ChunkBytes = 64 * 1024;
    private readonly WebApplication _app;
    private readonly Uri _upstream;
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, UseCookies = false });
    private FaultPlan? _plan;
    private long _uploadedSinceArmed;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _committed = new();
    private long _blobBytesUploaded;
    private int _injected;

    private FaultProxy(WebApplication app, Uri upstream)
    {
        _app = app;
        _upstream = upstream;
    }

    /// <summary>The proxy as a registry endpoint (plain HTTP).</summary>
    public RegistryEndpoint Endpoint { get; private set; } = null!;

    /// <summary>The faults in force; null forwards everything untouched. Setting it restarts the upload count the plan sees.</summary>
    public FaultPlan? Plan
    {
        get => Volatile.Read(ref _plan);
        set
        {
            Interlocked.Exchange(ref _uploadedSinceArmed, 0);
            Volatile.Write(ref _plan, value);
        }
    }

    /// <summary>Blob bytes uploaded through the proxy since it started (request bodies under <c>/blobs/uploads/</c>).</summary>
    public long BlobBytesUploaded => Interlocked.Read(ref _blobBytesUploaded);

    /// <summary>The digests of the blob uploads the registry committed through the proxy (a 201 to the final PUT), in order.</summary>
    public IReadOnlyList<string> CommittedBlobs => _committed.ToList();

    /// <summary>Faults injected so far: answers instead of forwards, resets, flipped bytes.</summary>
    public int Injected => Volatile.Read(ref _injected);

    public static async Task<FaultProxy> StartAsync(RegistryEndpoint upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o =>
        {
            o.Listen(IPAddress.Loopback, 0);

            // Chunks of 16 MiB and monolithic PUTs of up to 128 MiB pass through; Kestrel's default cap is 30 MB.
            o.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        var proxy = new FaultProxy(app, upstream.BaseUri);
        app.Run(proxy.HandleAsync);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        proxy.Endpoint = new RegistryEndpoint($"127.0.0.1:{address.Port}", PlainHttp: true);
        return proxy;
    }

    private async Task HandleAsync(HttpContext context)
    {
        try
        {
            await ForwardAsync(context);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            // The registry behind died (or the client gave up): the client sees its connection drop, as it would
            // talking to the registry directly, never a 500 the proxy made up.
            context.Abort();
        }
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var plan = Plan;
        var path = context.Request.Path.Value ?? "/";
        var method = context.Request.Method;
        var aborted = context.RequestAborted;
        if (plan?.BeforeForward is { } before && await before(method, path + context.Request.QueryString, aborted) is { } answer)
        {
            Interlocked.Increment(ref _injected);
            context.Response.StatusCode = answer.Status;
            if (answer.RetryAfterSeconds is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            // A 429 carries the distribution spec's error body, as Docker Hub's does; a 5xx from a load balancer or a
            // crashing registry carries none worth reading.
            if (answer.Status == StatusCodes.Status429TooManyRequests)
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("""{"errors":[{"code":"TOOMANYREQUESTS","message":"injected by the fault proxy"}]}""", aborted);
            }

            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(_upstream, path + context.Request.QueryString));
        var upload = path.Contains("/blobs/uploads/", StringComparison.Ordinal);
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            request.Content = new StreamContent(upload ? new CountingStream(context.Request.Body, CountUpload) : context.Request.Body, ChunkBytes);
        }

        foreach (var (name, values) in context.Request.Headers)
        {
            if (name is "Content-Length" or "Transfer-Encoding")
            {
                continue;
            }

            // Host included: the registry builds its upload Location from it, so the next PATCH/PUT comes back here.
            if (!request.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        if (request.Content is not null && context.Request.ContentLength is { } length)
        {
            request.Content.Headers.ContentLength = length;
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, aborted);
        if (upload && method == "PUT" && response.StatusCode == HttpStatusCode.Created && context.Request.Query["digest"] is [{ } committed])
        {
            _committed.Enqueue(committed);
        }

        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (name is not "Transfer-Encoding")
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        if (method == "HEAD")
        {
            return;
        }

        await using var body = await response.Content.ReadAsStreamAsync(aborted);
        var blobGet = method == "GET" && response.IsSuccessStatusCode && path.Contains("/blobs/", StringComparison.Ordinal);
        var size = response.Content.Headers.ContentLength ?? -1;
        var resetAt = blobGet ? plan?.ResetBlobDownloadAt?.Invoke(path, size) : null;
        var flipAt = blobGet ? plan?.FlipBlobByteAt?.Invoke(path, size) : null;
        if (resetAt is null && flipAt is null)
        {
            await body.CopyToAsync(context.Response.Body, aborted);
            return;
        }

        var chunk = new byte[ChunkBytes];
        long sent = 0;
        while (true)
        {
            var want = resetAt is { } cut ? (int)Math.Min(chunk.Length, cut - sent) : chunk.Length;
            if (want <= 0)
            {
                await context.Response.Body.FlushAsync(aborted);
                Interlocked.Increment(ref _injected);
                context.Abort();
                return;
            }

            var n = await body.ReadAsync(chunk.AsMemory(0, want), aborted);
            if (n == 0)
            {
                return;
            }

            if (flipAt is { } flip && flip >= sent && flip < sent + n)
            {
                chunk[flip - sent] ^= 0x01;
                Interlocked.Increment(ref _injected);
            }

            await context.Response.Body.WriteAsync(chunk.AsMemory(0, n), aborted);
            sent += n;
        }
    }

    private void CountUpload(int bytes)
    {
        Interlocked.Add(ref _blobBytesUploaded, bytes);
        var total = Interlocked.Add(ref _uploadedSinceArmed, bytes);
        Plan?.OnBlobBytesUploaded?.Invoke(total);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _http.Dispose();
    }

    /// <summary>Reads through, reporting each read's byte count before handing the bytes on.</summary>
    private sealed class CountingStream(Stream inner, Action<int> onRead) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            if (n > 0)
            {
                onRead(n);
            }

            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
