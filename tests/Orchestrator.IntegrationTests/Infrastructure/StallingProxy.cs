using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// A reverse proxy on 127.0.0.1 (a free port) in front of a real registry that, while <see cref="Stalling"/>,
/// holds every blob upload open: it reads the first bytes of the upload's body, reports them through
/// <see cref="UploadInFlight"/>, and then neither forwards nor answers until the client goes away. So a test
/// knows that a promotion is running and its bytes are moving when it kills the process doing it. Every other
/// request is forwarded as it is, with the client's <c>Host</c>, so upload locations point back at the proxy.
/// </summary>
internal sealed class StallingProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Uri _upstream;
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, UseCookies = false });
    private readonly TaskCompletionSource<long> _uploadInFlight = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _held;

    private StallingProxy(WebApplication app, Uri upstream)
    {
        _app = app;
        _upstream = upstream;
    }

    /// <summary>The proxy's <c>host:port</c>, to use as a registry's plain-HTTP URL.</summary>
    public string Host { get; private set; } = string.Empty;

    /// <summary>True (the start) to hold blob uploads open; false to forward them like everything else.</summary>
    public bool Stalling { get; set; } = true;

    /// <summary>Completes with the bytes read of the first held upload, once they arrived.</summary>
    public Task<long> UploadInFlight => _uploadInFlight.Task;

    /// <summary>How many uploads were held so far.</summary>
    public int Held => Volatile.Read(ref _held);

    public static async Task<StallingProxy> StartAsync(string upstreamHost)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var proxy = new StallingProxy(app, new Uri($"http://{upstreamHost}/"));
        app.Run(proxy.ForwardAsync);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        proxy.Host = $"127.0.0.1:{address.Port}";
        return proxy;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        var hasBody = context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0;
        if (Stalling && hasBody && path.Contains("/blobs/uploads/", StringComparison.Ordinal))
        {
            await HoldAsync(context);
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(_upstream, path.TrimStart('/') + context.Request.QueryString));
        if (hasBody)
        {
            request.Content = new StreamContent(context.Request.Body);
        }

        foreach (var (name, values) in context.Request.Headers)
        {
            if (name is "Host" or "Content-Length" or "Transfer-Encoding")
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        // The registry builds upload locations from Host: keep the proxy's, so the client stays on the proxy.
        request.Headers.Host = context.Request.Host.Value;
        if (request.Content is not null && context.Request.ContentLength is { } length)
        {
            request.Content.Headers.ContentLength = length;
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (name is not "Transfer-Encoding")
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        if (context.Request.Method != "HEAD")
        {
            await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
            await body.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }

    /// <summary>Reads the upload's first bytes, reports them, and waits for the client to go away.</summary>
    private async Task HoldAsync(HttpContext context)
    {
        Interlocked.Increment(ref _held);
        var buffer = new byte[64 * 1024];
        long read = 0;
        try
        {
            int n;
            while (read < buffer.Length && (n = await context.Request.Body.ReadAsync(buffer.AsMemory((int)read), context.RequestAborted)) > 0)
            {
                read += n;
            }

            _uploadInFlight.TrySetResult(read);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or BadHttpRequestException)
        {
            // The client went away (killed): what the hold waited for.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _http.Dispose();
    }
}
