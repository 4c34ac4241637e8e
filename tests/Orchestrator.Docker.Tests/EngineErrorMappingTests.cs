using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using static Orchestrator.Docker.Tests.FakeEngineHandler;

namespace Orchestrator.Docker.Tests;

/// <summary>What Docker.DotNet throws, turned into Orchestrator's typed errors with messages that say what to do.</summary>
public sealed class EngineErrorMappingTests
{
    private static readonly string DigestA = "sha256:" + new string('a', 64);

    [Fact]
    public async Task GetVersionAsync_DockerHostAtAMissingSocket_ThrowsUnavailableSayingNoEngineRunsThere()
    {
        // Given DOCKER_HOST pointing at a socket that does not exist, over the library's real unix transport
        var socket = $"/tmp/h-docker-missing-{Guid.NewGuid():N}.sock";
        var endpoint = DockerEndpoint.Resolve($"unix://{socket}", configured: null);
        using var client = DockerEngineClient.CreateFor(endpoint, retryDelay: TimeSpan.Zero);

        // When asking the version
        var ex = await Assert.ThrowsAsync<UnavailableException>(() => client.GetVersionAsync());

        // Then the error names the socket, says it is absent, and what to do
        Assert.Contains($"no Docker Engine answers on unix://{socket}", ex.Message);
        Assert.Contains($"the socket {socket} does not exist", ex.Message);
        Assert.Contains("./scripts/setup", ex.Message);
        Assert.Contains("DOCKER_HOST", ex.Message);
        Assert.Equal(1, ex.ExitCode);
    }

    [Fact]
    public async Task GetVersionAsync_SocketFileWithNothingListening_ThrowsUnavailableWithoutClaimingItIsMissing()
    {
        // Given a socket file that exists but has no listener (bound, never listening: connecting is refused, as after a crash)
        var path = $"/tmp/h-docker-dead-{Guid.NewGuid():N}.sock";
        using var bound = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        bound.Bind(new UnixDomainSocketEndPoint(path));
        using var client = DockerEngineClient.CreateFor(DockerEndpoint.Parse($"unix://{path}", "the test"), retryDelay: TimeSpan.Zero);

        // When / Then
        var ex = await Assert.ThrowsAsync<UnavailableException>(() => client.GetVersionAsync());
        Assert.Contains($"no Docker Engine answers on unix://{path}", ex.Message);
        Assert.DoesNotContain("does not exist", ex.Message);
        Assert.Contains("./scripts/setup", ex.Message);
    }

    [Fact]
    public async Task GetVersionAsync_PermissionDeniedOnTheSocket_SaysHowToGetAccess()
    {
        // Given a transport refused by the socket's permissions
        var handler = new FakeEngineHandler((_, _) => throw new HttpRequestException(HttpRequestError.ConnectionError, "Permission denied", new SocketException((int)SocketError.AccessDenied)));
        using var client = FakeEngine.Client(handler);

        // When / Then
        var ex = await Assert.ThrowsAsync<UnavailableException>(() => client.GetVersionAsync());
        Assert.Contains("permission denied on /var/run/docker.sock", ex.Message);
        Assert.Contains("docker", ex.Message);
        Assert.Contains("usermod", ex.Message);
    }

    [Fact]
    public async Task CreateContainerAsync_ImageNotFound_ThrowsEngineException404SayingToGetTheImageFirst()
    {
        // Given an engine without the image
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.NotFound, "{\"message\":\"No such image: it/never:1\"}"));
        using var client = FakeEngine.Client(handler);

        // When / Then
        var ex = await Assert.ThrowsAsync<EngineException>(() => client.CreateContainerAsync(new ContainerSpec("it/never:1")));
        Assert.Equal(HttpStatusCode.NotFound, ex.StatusCode);
        Assert.Contains("No such image: it/never:1 (HTTP 404)", ex.Message);
        Assert.Contains("build, pull or import it/never:1 first", ex.Message);
    }

    [Fact]
    public async Task RemoveImageAsync_InUse_ThrowsEngineException409SayingWhatToDo()
    {
        // Given an image a stopped container still uses
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.Conflict, "{\"message\":\"conflict: unable to delete 0123456789ab (must be forced) - image is being used by stopped container c1\"}"));
        using var client = FakeEngine.Client(handler);

        // When / Then
        var ex = await Assert.ThrowsAsync<EngineException>(() => client.RemoveImageAsync("it/x:1"));
        Assert.Equal(HttpStatusCode.Conflict, ex.StatusCode);
        Assert.Contains("removal of image it/x:1 failed on unix:///var/run/docker.sock", ex.Message);
        Assert.Contains("image is being used by stopped container c1", ex.Message);
        Assert.Contains("remove it first", ex.Message);
    }

    [Fact]
    public async Task BuildImageAsync_StepFails_MessageQuotesTheEngineErrorAndTheStepOutput()
    {
        // Given a legacy-builder stream whose RUN step prints, then fails
        var stream = string.Join("\r\n",
            "{\"stream\":\"Step 1/2 : FROM base:1\\n\"}",
            "{\"stream\":\"Step 2/2 : RUN ./configure\\n\"}",
            "{\"stream\":\" ---\\u003e Running in 5f1c\\n\"}",
            "{\"stream\":\"configure: error: no C compiler found\\n\"}",
            "{\"errorDetail\":{\"code\":2,\"message\":\"The command '/bin/sh -c ./configure' returned a non-zero code: 2\"},\"error\":\"The command '/bin/sh -c ./configure' returned a non-zero code: 2\"}");
        using var client = FakeEngine.Client(new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, stream)));

        // When built
        var ex = await Assert.ThrowsAsync<EngineException>(() => client.BuildImageAsync(new MemoryStream([1]), new ImageBuildRequest(["it/x:1"])));

        // Then the error came from inside the 200 stream, with the engine's words and the step's own output
        Assert.Null(ex.StatusCode);
        Assert.Contains("the build of it/x:1 failed on unix:///var/run/docker.sock: The command '/bin/sh -c ./configure' returned a non-zero code: 2", ex.Message);
        Assert.Contains("configure: error: no C compiler found", ex.Message);
        Assert.Contains("Step 2/2 : RUN ./configure", ex.Message);
    }

    [Fact]
    public async Task BuildImageAsync_StreamIsNotJson_ThrowsEngineException()
    {
        using var client = FakeEngine.Client(new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, "<html>proxy error</html>")));

        var ex = await Assert.ThrowsAsync<EngineException>(() => client.BuildImageAsync(new MemoryStream([1]), new ImageBuildRequest(["it/x:1"])));

        Assert.Contains("cannot be read", ex.Message);
        Assert.Contains("Docker Engine", ex.Message);
    }

    [Fact]
    public async Task PullImageAsync_ConnectionDropsMidStream_ThrowsUnavailableSayingTheEngineClosedIt()
    {
        // Given an engine that sends one message, then the connection breaks
        var handler = new FakeEngineHandler((_, _) => new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StreamContent(new BreakingStream("{\"status\":\"Pulling from it/x\"}\r\n"u8.ToArray())),
        });
        using var client = FakeEngine.Client(handler);

        // When / Then
        var ex = await Assert.ThrowsAsync<UnavailableException>(() => client.PullImageAsync(Core.References.ImageReference.Parse("127.0.0.1:5001/it/x:1")));
        Assert.Contains("pull of 127.0.0.1:5001/it/x:1", ex.Message);
        Assert.Contains("closed the connection", ex.Message);
    }

    [Fact]
    public async Task PushImageAsync_Credentials_SendsUrlSafeAuthHeaderAndKeepsThePasswordOutOfErrors()
    {
        // Given a password whose JSON encodes to bytes that standard base64 writes with '+' and '/', and a registry that refuses
        var credentials = new RegistryCredentials("ci-bot", "???~~~");
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, "{\"errorDetail\":{\"message\":\"unauthorized: authentication required\"},\"error\":\"unauthorized: authentication required\"}"));
        using var client = FakeEngine.Client(handler);

        // When pushing
        var ex = await Assert.ThrowsAsync<EngineException>(() => client.PushImageAsync("127.0.0.1:5001/it/x", "1", credentials));

        // Then the header is URL-safe base64 of the credentials, and the error names neither the password nor the header
        var header = handler.Requests.Single().Headers["X-Registry-Auth"];
        Assert.DoesNotContain('+', header);
        Assert.DoesNotContain('/', header);
        var json = Encoding.UTF8.GetString(Convert.FromBase64String(header.Replace('-', '+').Replace('_', '/')));
        Assert.Matches("[+/]", Convert.ToBase64String(Encoding.UTF8.GetBytes(json)));
        using var document = JsonDocument.Parse(json);
        Assert.Equal("ci-bot", document.RootElement.GetProperty("username").GetString());
        Assert.Equal("???~~~", document.RootElement.GetProperty("password").GetString());
        Assert.Contains("unauthorized", ex.Message);
        Assert.DoesNotContain("???~~~", ex.Message);
        Assert.DoesNotContain(header, ex.Message);
    }

    [Fact]
    public async Task BuildImageAsync_Progress_ReportsEveryMessageWithIdsAndByteCounts()
    {
        // Given a stream with a build line, a layer status with byte progress, and the aux id
        var stream = $"{{\"stream\":\"Step 1/1 : FROM x\\n\"}}{{\"status\":\"Downloading\",\"id\":\"abc\",\"progressDetail\":{{\"current\":5,\"total\":10}}}}{{\"aux\":{{\"ID\":\"{DigestA}\"}}}}";
        using var client = FakeEngine.Client(new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, stream)));
        var reported = new List<EngineProgress>();

        // When built
        var id = await client.BuildImageAsync(new MemoryStream([1]), new ImageBuildRequest(["it/x:1"]), new ListProgress(reported));

        // Then every message reached the caller, in order
        Assert.Equal(DigestA, id);
        Assert.Equal(3, reported.Count);
        Assert.Equal("Step 1/1 : FROM x\n", reported[0].Stream);
        Assert.Equal(new EngineProgress("abc", "Downloading", null, 5, 10), reported[1]);
    }

    [Fact]
    public async Task ImportImageAsync_CallersStream_IsLeftOpen()
    {
        // Given a tar stream the caller owns
        using var client = FakeEngine.Client(new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, $"{{\"status\":\"{DigestA}\"}}")));
        var tar = new MemoryStream([1, 2, 3]);

        // When imported
        await client.ImportImageAsync(tar, "it/base", "1", []);

        // Then the caller can still use it (Docker.DotNet disposes request bodies; the port promises not to)
        Assert.True(tar.CanRead);
        tar.Position = 0;
        Assert.Equal(1, tar.ReadByte());
    }

    [Fact]
    public async Task ListContainersAsync_ConnectionFailsTwice_IsRetriedAsAnIdempotentRead()
    {
        // Given a transport that fails twice, then answers
        var handler = new FakeEngineHandler((_, n) => n < 3
            ? throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection reset")
            : Json(HttpStatusCode.OK, "[]"));
        using var client = FakeEngine.Client(handler);

        // When listing
        var listed = await client.ListContainersAsync(null);

        // Then the third attempt answered
        Assert.Empty(listed);
        Assert.Equal(3, handler.Requests.Count);
    }

    [Fact]
    public async Task TagImageAsync_ConnectionFails_IsNotRetried()
    {
        var handler = new FakeEngineHandler((_, _) => throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused"));
        using var client = FakeEngine.Client(handler);

        await Assert.ThrowsAsync<UnavailableException>(() => client.TagImageAsync("it/x:1", "it/y", "1"));

        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task PruneBuildCacheAsync_Filters_AreSentInTheEngineFormAndTheReportIsRead()
    {
        // Given an engine that reports two removed records
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, "{\"CachesDeleted\":[\"r1\",\"r2\"],\"SpaceReclaimed\":4096}"));
        using var client = FakeEngine.Client(handler);

        // When pruning records older than a day
        var result = await client.PruneBuildCacheAsync(all: true, new Dictionary<string, string[]> { ["until"] = ["24h"] });

        // Then the raw call went to /build/prune with the filter as JSON, and the report is typed
        var request = handler.Requests.Single();
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("/v1.41/build/prune", request.Uri.AbsolutePath);
        var query = Uri.UnescapeDataString(request.Uri.Query);
        Assert.Contains("all=1", query);
        Assert.Contains("filters={\"until\":[\"24h\"]}", query);
        Assert.Equal(["r1", "r2"], result.CachesDeleted);
        Assert.Equal(4096, result.SpaceReclaimed);
    }

    [Fact]
    public async Task PruneBuildCacheAsync_EngineRefuses_ThrowsEngineExceptionWithItsMessage()
    {
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.BadRequest, "{\"message\":\"invalid filter 'color'\"}"));
        using var client = FakeEngine.Client(handler);

        var ex = await Assert.ThrowsAsync<EngineException>(() => client.PruneBuildCacheAsync(filters: new Dictionary<string, string[]> { ["color"] = ["red"] }));

        Assert.Equal(HttpStatusCode.BadRequest, ex.StatusCode);
        Assert.Contains("prune of the build cache failed on unix:///var/run/docker.sock: invalid filter 'color' (HTTP 400)", ex.Message);
    }

    private sealed class ListProgress(List<EngineProgress> items) : IProgress<EngineProgress>
    {
        public void Report(EngineProgress value) => items.Add(value);
    }

    /// <summary>Hands out its bytes, then fails the next read as a reset connection does.</summary>
    private sealed class BreakingStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= data.Length)
            {
                throw new IOException("Connection reset by peer");
            }

            var n = Math.Min(count, data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
