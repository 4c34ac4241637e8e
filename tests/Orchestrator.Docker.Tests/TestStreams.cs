using System.Net;
using System.Text;
using Docker.DotNet.Handler.Abstractions;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Docker.Tests;

/// <summary>A read-only stream that hands out its bytes in fixed-size pieces, to split frames and objects across reads.</summary>
internal sealed class ChunkedStream(byte[] data, int chunkSize) : Stream
{
    private int _position;

    public static ChunkedStream FromText(string text, int chunkSize) => new(Encoding.UTF8.GetBytes(text), chunkSize);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = Math.Min(Math.Min(chunkSize, buffer.Length), data.Length - _position);
        data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>An in-process engine: records every request and answers from a function.</summary>
internal sealed class FakeEngineHandler(Func<HttpRequestMessage, int, HttpResponseMessage> respond) : HttpMessageHandler
{
    public List<(HttpMethod Method, Uri Uri, Dictionary<string, string> Headers, string? Body)> Requests { get; } = [];

    public static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value));
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        Requests.Add((request.Method, request.RequestUri!, headers, body));
        var response = respond(request, Requests.Count);
        response.RequestMessage = request;
        return response;
    }
}

/// <summary>Docker.DotNet's transport seam: hands the library the fake handler instead of a socket.</summary>
internal sealed class FakeTransportFactory(HttpMessageHandler handler) : IDockerHandlerFactory<FakeTransportFactory.Options>
{
    public ResolvedTransport CreateHandler(ResolvedClientOptions clientOptions, ILogger logger) => CreateHandler(new Options(), clientOptions, logger);

    public ResolvedTransport CreateHandler(Options transportOptions, ResolvedClientOptions clientOptions, ILogger logger) =>
        new(handler, new Uri("http://docker/"));

    public Task<WriteClosableStream> HijackStreamAsync(HttpContent content) => throw new NotSupportedException("no attach in these tests");

    internal sealed record Options;
}

/// <summary>Lets the raw call's HttpClient dispose its handler without disposing the shared fake.</summary>
internal sealed class NonDisposingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override void Dispose(bool disposing)
    {
    }
}

internal static class FakeEngine
{
    /// <summary>A client whose library calls and raw calls all reach <paramref name="handler"/>; retries do not wait.</summary>
    public static DockerEngineClient Client(FakeEngineHandler handler, string endpoint = "unix:///var/run/docker.sock")
    {
        var parsed = DockerEndpoint.Parse(endpoint, "the test");
        var docker = EngineConnection.NewBuilder(parsed).WithTransportOptions(new FakeTransportFactory(handler), new FakeTransportFactory.Options()).Build();
        return new DockerEngineClient(parsed, docker, () => (new NonDisposingHandler(handler), new Uri("http://docker/")), retryDelay: TimeSpan.Zero);
    }
}
