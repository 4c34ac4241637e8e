using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;

namespace Orchestrator.Registry.Tests;

/// <summary>
/// A reverse proxy on 127.0.0.1 (a free port) in front of a real registry, forwarding every request
/// as it is, except that <see cref="TamperManifest"/> may rewrite a manifest body and <see cref="CutAfter"/>
/// may end a blob download mid-body by aborting the connection. It stands in for a broken or hostile
/// registry and for a network that drops.
/// </summary>
internal sealed class RegistryProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Uri _upstream;
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, UseCookies = false });
    private readonly HashSet<string> _connections = [];
    private int _cuts;
    private int _refused;
    private int _requests;

    private RegistryProxy(WebApplication app, Uri upstream)
    {
        _app = app;
        _upstream = upstream;
    }

    /// <summary>The proxy as a registry endpoint (plain HTTP).</summary>
    public RegistryEndpoint Endpoint { get; private set; } = null!;

    /// <summary>Given a manifest GET's path and body, the body to serve instead; null forwards it untouched.</summary>
    public Func<string, byte[], byte[]?>? TamperManifest { get; init; }

    /// <summary>Given a blob GET's path, how many bytes to send before cutting the connection; null sends it whole.</summary>
    public Func<string, long?>? CutAfter { get; init; }

    /// <summary>
    /// Given a request's method and path with query, a status to answer instead of forwarding (with a DENIED
    /// error body, and <c>Retry-After: 1</c> on a 429); null forwards it.
    /// </summary>
    public Func<string, string, int?>? Refuse { get; init; }

    /// <summary>Requests answered by <see cref="Refuse"/> so far.</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>Requests forwarded or refused so far.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Distinct client connections (TCP) the requests came on.</summary>
    public int Connections
    {
        get
        {
            lock (_connections)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Blob downloads cut so far.</summary>
    public int Cuts => Volatile.Read(ref _cuts);

    public static async Task<RegistryProxy> StartAsync(
        RegistryEndpoint upstream, Func<string, byte[], byte[]?>? tamperManifest = null, Func<string, long?>? cutAfter = null, Func<string, string, int?>? refuse = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var proxy = new RegistryProxy(app, upstream.BaseUri) { TamperManifest = tamperManifest, CutAfter = cutAfter, Refuse = refuse };
        app.Run(proxy.ForwardAsync);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        proxy.Endpoint = new RegistryEndpoint($"127.0.0.1:{address.Port}", PlainHttp: true);
        return proxy;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        Interlocked.Increment(ref _requests);
        lock (_connections)
        {
            _connections.Add(context.Connection.Id);
        }

        if (Refuse?.Invoke(context.Request.Method, path + context.Request.QueryString) is { } status)
        {
            Interlocked.Increment(ref _refused);
            context.Response.StatusCode = status;
            if (status == StatusCodes.Status429TooManyRequests)
            {
                context.Response.Headers.RetryAfter = "1";
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"errors":[{"code":"DENIED","message":"refused by the test proxy"}]}""", context.RequestAborted);
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(_upstream, path + context.Request.QueryString));
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
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

        if (context.Request.Method == "HEAD")
        {
            return;
        }

        await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
        var get = context.Request.Method == "GET" && response.IsSuccessStatusCode;
        if (get && path.Contains("/manifests/", StringComparison.Ordinal) && TamperManifest is { } tamper)
        {
            using var buffer = new MemoryStream();
            await body.CopyToAsync(buffer, context.RequestAborted);
            var served = tamper(path, buffer.ToArray()) ?? buffer.ToArray();
            context.Response.ContentLength = served.Length;
            await context.Response.Body.WriteAsync(served, context.RequestAborted);
            return;
        }

        if (get && path.Contains("/blobs/", StringComparison.Ordinal) && CutAfter?.Invoke(path) is { } cut)
        {
            var chunk = new byte[64 * 1024];
            long sent = 0;
            while (sent < cut)
            {
                var n = await body.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, cut - sent)), context.RequestAborted);
                if (n == 0)
                {
                    break;
                }

                await context.Response.Body.WriteAsync(chunk.AsMemory(0, n), context.RequestAborted);
                sent += n;
            }

            await context.Response.Body.FlushAsync(context.RequestAborted);
            Interlocked.Increment(ref _cuts);
            context.Abort();
            return;
        }

        await body.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _http.Dispose();
    }
}
