using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using static Orchestrator.Docker.Tests.FakeEngineHandler;

namespace Orchestrator.Docker.Tests;

public sealed class DockerEngineClientTests
{
    private static readonly string DigestA = "sha256:" + new string('a', 64);
    private static readonly string DigestB = "sha256:" + new string('b', 64);

    [Fact]
    public async Task TagImageAsync_ErrorStatus_ThrowsEngineExceptionWithEngineMessageStatusAndEndpoint()
    {
        // Given an engine that knows no such image
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.NotFound, "{\"message\":\"No such image: it/missing:1\"}"));
        using var client = FakeEngine.Client(handler);

        // When tagging it
        var ex = await Assert.ThrowsAsync<EngineException>(() => client.TagImageAsync("it/missing:1", "it/other", "2"));

        // Then the engine's message, the attempt, the endpoint and the status are there
        Assert.Contains("No such image: it/missing:1", ex.Message);
        Assert.Contains("tagging of it/missing:1 as it/other:2", ex.Message);
        Assert.Contains("unix:///var/run/docker.sock", ex.Message);
        Assert.Equal(HttpStatusCode.NotFound, ex.StatusCode);
        Assert.Contains("No such image", ex.ResponseBody);
        Assert.Equal(1, ex.ExitCode);
    }

    [Fact]
    public async Task ListContainersAsync_Label_AsksForStoppedContainersTooWithTheLabelFilterAndMapsEachEntry()
    {
        // Given an engine listing one exited container with labels, and one entry without an id
        var json = """[{"Id":"c0ffee","State":"exited","Labels":{"io.orchestrator.owner":"daemon:ab","io.orchestrator.job":"7"}},{"State":"running"}]""";
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, json));
        using var client = FakeEngine.Client(handler);

        // When listing the containers of one owner
        var listed = await client.ListContainersAsync("io.orchestrator.owner=daemon:ab");

        // Then the request covers stopped containers and filters on the label, and the entry with an id is mapped
        var uri = handler.Requests[0].Uri;
        Assert.Equal("/v1.41/containers/json", uri.AbsolutePath);
        var query = Query(uri);
        Assert.Equal(["1"], query["all"]);

        // Docker.DotNet sends the engine's map form of a filter, {"label":{"KEY=VALUE":true}}, which API v1.41 reads as the list form
        using var filters = JsonDocument.Parse(query["filters"][0]);
        Assert.True(filters.RootElement.GetProperty("label").GetProperty("io.orchestrator.owner=daemon:ab").GetBoolean());
        var container = Assert.Single(listed);
        Assert.Equal("c0ffee", container.Id);
        Assert.Equal("exited", container.State);
        Assert.Equal("7", container.Labels["io.orchestrator.job"]);
    }

    [Fact]
    public async Task InspectImageAsync_NameWithRegistryAndDigest_ReachesTheEngineWhole()
    {
        // Given a full reference with '/', ':' and '@'
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.NotFound, "{\"message\":\"no such image\"}"));
        using var client = FakeEngine.Client(handler);

        // When inspecting it
        var result = await client.InspectImageAsync($"127.0.0.1:5001/it/x@{DigestA}");

        // Then the name reaches the engine whole (Docker.DotNet, like the docker CLI, leaves '/', ':' and '@' unescaped,
        // and the engine's router takes everything between images/ and /json as the name), and a 404 is null
        Assert.Null(result);
        Assert.Equal($"/v1.41/images/127.0.0.1:5001/it/x@sha256:{new string('a', 64)}/json", Uri.UnescapeDataString(handler.Requests[0].Uri.AbsolutePath));
    }

    [Fact]
    public async Task InspectImageAsync_Found_MapsTheFields()
    {
        // Given an inspect answer
        var json = $$$"""
            {"Id":"{{{DigestA}}}","RepoTags":["it/x:1"],"RepoDigests":["127.0.0.1:5001/it/x@{{{DigestB}}}"],"Size":1234,
             "Config":{"User":"app","Env":["A=1"],"Entrypoint":["/bin/sh","-c"],"Cmd":null,"WorkingDir":"/srv","Labels":{"org.example":"yes"}},
             "Architecture":"amd64","Os":"linux"}
            """;
        using var client = FakeEngine.Client(new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, json)));

        // When inspected
        var image = await client.InspectImageAsync("it/x:1");

        // Then
        Assert.NotNull(image);
        Assert.Equal(DigestA, image.Id);
        Assert.Equal(["it/x:1"], image.RepoTags);
        Assert.Equal([$"127.0.0.1:5001/it/x@{DigestB}"], image.RepoDigests);
        Assert.Equal(1234, image.Size);
        Assert.Equal("app", image.Config.User);
        Assert.Equal(["A=1"], image.Config.Env);
        Assert.Equal(["/bin/sh", "-c"], image.Config.Entrypoint);
        Assert.Null(image.Config.Cmd);
        Assert.Equal("/srv", image.Config.WorkingDir);
        Assert.Equal("yes", image.Config.Labels["org.example"]);
        Assert.Equal("amd64", image.Architecture);
        Assert.Equal("linux", image.Os);
    }

    [Fact]
    public async Task InspectImageAsync_ImportedImageWithoutConfig_GivesEmptyConfig()
    {
        using var client = FakeEngine.Client(new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, $"{{\"Id\":\"{DigestA}\",\"Config\":null,\"Size\":1}}")));

        var image = await client.InspectImageAsync("x");

        Assert.NotNull(image);
        Assert.Null(image.Config.User);
        Assert.Empty(image.Config.Env);
        Assert.Empty(image.Config.Labels);
        Assert.Empty(image.RepoTags);
    }

    [Fact]
    public async Task GetVersionAsync_TransientServerErrors_AreRetried()
    {
        // Given an engine that fails twice with 503, then answers
        var handler = new FakeEngineHandler((_, n) => n < 3
            ? Json(HttpStatusCode.ServiceUnavailable, "{\"message\":\"busy\"}")
            : Json(HttpStatusCode.OK, "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\",\"Os\":\"linux\",\"Arch\":\"amd64\"}"));
        using var client = FakeEngine.Client(handler);

        // When asking the version
        var version = await client.GetVersionAsync();

        // Then it succeeded on the third attempt
        Assert.Equal(3, handler.Requests.Count);
        Assert.Equal(new EngineVersion("20.10.24", "1.41", "linux", "amd64"), version);
    }

    [Fact]
    public async Task GetVersionAsync_ServerErrorPersists_ThrowsAfterFourAttempts()
    {
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.InternalServerError, "{\"message\":\"boom\"}"));
        using var client = FakeEngine.Client(handler);

        var ex = await Assert.ThrowsAsync<EngineException>(() => client.GetVersionAsync());

        Assert.Equal(4, handler.Requests.Count);
        Assert.Contains("boom", ex.Message);
        Assert.Contains("check its log", ex.Message);
    }

    [Fact]
    public async Task StartContainerAsync_ServerError_IsNotRetried()
    {
        // Given an engine that answers 500
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.InternalServerError, "{\"message\":\"cannot start\"}"));
        using var client = FakeEngine.Client(handler);

        // When starting a container (a POST)
        await Assert.ThrowsAsync<EngineException>(() => client.StartContainerAsync("abc"));

        // Then exactly one request was made
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task GetVersionAsync_ConnectionRefused_ThrowsUnavailableSayingWhatToDo()
    {
        // Given a transport that cannot connect
        var handler = new FakeEngineHandler((_, _) => throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused", new SocketException((int)SocketError.ConnectionRefused)));
        using var client = FakeEngine.Client(handler);

        // When / Then
        var ex = await Assert.ThrowsAsync<UnavailableException>(() => client.GetVersionAsync());
        Assert.Contains("no Docker Engine answers on unix:///var/run/docker.sock", ex.Message);
        Assert.Contains("./scripts/setup", ex.Message);
        Assert.Contains("DOCKER_HOST", ex.Message);
        Assert.Equal(4, handler.Requests.Count);
    }

    [Fact]
    public async Task GetVersionAsync_SocketMissing_ThrowsUnavailable()
    {
        // Given the real unix transport pointed at a socket that does not exist
        var endpoint = DockerEndpoint.Parse($"unix:///tmp/no-engine-{Guid.NewGuid():N}.sock", "the test");
        using var client = DockerEngineClient.CreateFor(endpoint, retryDelay: TimeSpan.Zero);

        // When / Then
        var ex = await Assert.ThrowsAsync<UnavailableException>(() => client.GetVersionAsync());
        Assert.Contains(endpoint.Display, ex.Message);
    }

    [Fact]
    public async Task PushImageAsync_AuxDigest_IsReturnedAndAuthHeaderSent()
    {
        // Given a push stream ending in aux
        var stream = $"{{\"status\":\"The push refers to repository [127.0.0.1:5001/it/x]\"}}\n{{\"status\":\"1: digest: {DigestB} size: 528\"}}\n{{\"progressDetail\":{{}},\"aux\":{{\"Tag\":\"1\",\"Digest\":\"{DigestB}\",\"Size\":528}}}}\n";
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, stream));
        using var client = FakeEngine.Client(handler);

        // When pushing anonymously
        var digest = await client.PushImageAsync("127.0.0.1:5001/it/x", "1");

        // Then the digest is the aux one; the header says {}; the path is escaped
        Assert.Equal(Digest.Parse(DigestB), digest);
        var request = handler.Requests.Single();
        Assert.Equal("e30=", request.Headers["X-Registry-Auth"]);
        Assert.Equal("/v1.41/images/127.0.0.1:5001/it/x/push", Uri.UnescapeDataString(request.Uri.AbsolutePath));
        Assert.Equal(["1"], Query(request.Uri)["tag"]);
    }

    [Fact]
    public async Task PushImageAsync_NoAuxDigest_ThrowsEngineException()
    {
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, "{\"status\":\"Pushed\"}"));
        using var client = FakeEngine.Client(handler);

        var ex = await Assert.ThrowsAsync<EngineException>(() => client.PushImageAsync("127.0.0.1:5001/it/x", "1"));

        Assert.Contains("without reporting the manifest digest", ex.Message);
    }

    [Fact]
    public async Task PushImageAsync_RegistryLessRepository_RefusesWithoutCallingTheEngine()
    {
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, "{}"));
        using var client = FakeEngine.Client(handler);

        var ex = await Assert.ThrowsAsync<InputException>(() => client.PushImageAsync("it/x", "1"));

        Assert.Contains("Docker Hub", ex.Message);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task PullImageAsync_DigestReference_PullsWithTheDigestAsTag()
    {
        // Given a reference with a digest
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, "{\"status\":\"Pulling from it/x\"}{\"status\":\"Digest: " + DigestB + "\"}"));
        using var client = FakeEngine.Client(handler);

        // When pulled
        await client.PullImageAsync(ImageReference.Parse($"127.0.0.1:5001/it/x@{DigestB}"));

        // Then fromImage is the name and tag is the digest
        var uri = handler.Requests.Single().Uri;
        Assert.Equal("/v1.41/images/create", uri.AbsolutePath);
        var query = Query(uri);
        Assert.Equal(["127.0.0.1:5001/it/x"], query["fromImage"]);
        Assert.Equal([$"sha256:{new string('b', 64)}"], query["tag"]);
        Assert.Equal("e30=", handler.Requests[0].Headers["X-Registry-Auth"]);
    }

    [Theory]
    [InlineData("it/x:1", "names no registry")]
    [InlineData("127.0.0.1:5001/it/x", "neither a tag nor a digest")]
    public async Task PullImageAsync_UnsafeReference_ThrowsInputException(string reference, string expected)
    {
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, "{}"));
        using var client = FakeEngine.Client(handler);

        var ex = await Assert.ThrowsAsync<InputException>(() => client.PullImageAsync(ImageReference.Parse(reference)));

        Assert.Contains(expected, ex.Message);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task PullImageAsync_ErrorInStream_ThrowsEngineException()
    {
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, "{\"status\":\"Pulling\"}{\"errorDetail\":{\"message\":\"manifest for 127.0.0.1:5001/it/x:9 not found\"},\"error\":\"manifest for 127.0.0.1:5001/it/x:9 not found\"}"));
        using var client = FakeEngine.Client(handler);

        var ex = await Assert.ThrowsAsync<EngineException>(() => client.PullImageAsync(ImageReference.Parse("127.0.0.1:5001/it/x:9")));

        Assert.Contains("not found", ex.Message);
        Assert.Null(ex.StatusCode);
    }

    [Fact]
    public async Task BuildImageAsync_Request_SendsEveryParameterAndReturnsAuxId()
    {
        // Given a build stream with aux ID
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, $"{{\"stream\":\"Step 1/1 : FROM x\\n\"}}\r\n{{\"aux\":{{\"ID\":\"{DigestA}\"}}}}\r\n{{\"stream\":\"Successfully built aaaaaaaaaaaa\\n\"}}\r\n"));
        using var client = FakeEngine.Client(handler);
        var request = new ImageBuildRequest(
            ["it/x:1", "127.0.0.1:5001/it/x:1"],
            Dockerfile: "build/Dockerfile",
            Labels: new Dictionary<string, string> { ["org.example.a"] = "b c" },
            NoCache: true,
            BuildArgs: new Dictionary<string, string> { ["V"] = "1" });

        // When built
        var id = await client.BuildImageAsync(new MemoryStream([1, 2, 3]), request);

        // Then
        Assert.Equal(DigestA, id);
        var sent = handler.Requests.Single();
        var query = Query(sent.Uri);
        Assert.Equal(["it/x:1", "127.0.0.1:5001/it/x:1"], query["t"]);
        Assert.Equal(["build/Dockerfile"], query["dockerfile"]);
        Assert.Equal(["host"], query["networkmode"]);
        Assert.Equal(["1"], query["nocache"]);
        Assert.Equal(["1"], query["rm"]);
        Assert.Equal(["1"], query["forcerm"]);
        Assert.Equal("b c", JsonDocument.Parse(query["labels"][0]).RootElement.GetProperty("org.example.a").GetString());
        Assert.Equal("1", JsonDocument.Parse(query["buildargs"][0]).RootElement.GetProperty("V").GetString());
        Assert.Equal("\u0001\u0002\u0003", sent.Body);
    }

    [Fact]
    public async Task BuildImageAsync_NoAux_FallsBackToSuccessfullyBuiltAndInspect()
    {
        // Given an older stream without aux, and an engine that resolves the short id
        var handler = new FakeEngineHandler((request, _) => request.RequestUri!.AbsolutePath.EndsWith("/build", StringComparison.Ordinal)
            ? Json(HttpStatusCode.OK, "{\"stream\":\"Successfully built 0123456789ab\\n\"}")
            : Json(HttpStatusCode.OK, $"{{\"Id\":\"{DigestA}\"}}"));
        using var client = FakeEngine.Client(handler);

        // When built
        var id = await client.BuildImageAsync(new MemoryStream(), new ImageBuildRequest(["it/x:1"]));

        // Then the id came from inspecting the short id
        Assert.Equal(DigestA, id);
        Assert.EndsWith("/images/0123456789ab/json", handler.Requests[1].Uri.AbsolutePath);
    }

    [Fact]
    public async Task ImportImageAsync_Changes_AreRepeatedAndFinalStatusIsTheId()
    {
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, $"{{\"status\":\"{DigestA}\"}}\r\n"));
        using var client = FakeEngine.Client(handler);

        var id = await client.ImportImageAsync(new MemoryStream([0]), "it/base", "1", ["CMD [\"sh\"]", "ENV A=1"]);

        Assert.Equal(DigestA, id);
        var query = Query(handler.Requests[0].Uri);
        Assert.Equal(["-"], query["fromSrc"]);
        Assert.Equal(["it/base"], query["repo"]);
        Assert.Equal(["CMD [\"sh\"]", "ENV A=1"], query["changes"]);
    }

    [Fact]
    public async Task CreateContainerAsync_EmptyEntrypoint_SendsEmptyArrayAndLockedDownHostConfig()
    {
        // Given a spec that clears the entrypoint
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.Created, "{\"Id\":\"c1\",\"Warnings\":[]}"));
        using var client = FakeEngine.Client(handler);

        // When created
        var id = await client.CreateContainerAsync(new ContainerSpec("it/x:1", Entrypoint: [], Cmd: ["/bin/sh", "-c", "true"], Tmpfs: new Dictionary<string, string> { ["/tmp"] = "rw,size=64m" }));

        // Then Entrypoint is [] (not omitted), and the host config is locked down
        Assert.Equal("c1", id);
        using var body = JsonDocument.Parse(handler.Requests[0].Body!);
        var root = body.RootElement;
        Assert.Equal(JsonValueKind.Array, root.GetProperty("Entrypoint").ValueKind);
        Assert.Equal(0, root.GetProperty("Entrypoint").GetArrayLength());
        Assert.Equal(string.Empty, root.TryGetProperty("User", out var user) ? user.GetString() : string.Empty);
        var host = root.GetProperty("HostConfig");
        Assert.Equal("none", host.GetProperty("NetworkMode").GetString());
        Assert.Equal("ALL", host.GetProperty("CapDrop")[0].GetString());
        Assert.Equal("no-new-privileges", host.GetProperty("SecurityOpt")[0].GetString());
        Assert.Equal(512L * 1024 * 1024, host.GetProperty("Memory").GetInt64());
        Assert.Equal(256, host.GetProperty("PidsLimit").GetInt64());
        Assert.Equal("rw,size=64m", host.GetProperty("Tmpfs").GetProperty("/tmp").GetString());
    }

    [Fact]
    public async Task CreateContainerAsync_NullEntrypoint_OmitsIt()
    {
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.Created, "{\"Id\":\"c1\"}"));
        using var client = FakeEngine.Client(handler);

        await client.CreateContainerAsync(new ContainerSpec("it/x:1", MemoryBytes: 0, PidsLimit: 0, CapDropAll: false));

        using var body = JsonDocument.Parse(handler.Requests[0].Body!);
        Assert.False(body.RootElement.TryGetProperty("Entrypoint", out _));
        Assert.False(body.RootElement.TryGetProperty("Cmd", out _));
        // No memory limit: the engine reads an absent or 0 Memory alike; Docker.DotNet always writes the number
        Assert.Equal(0, body.RootElement.GetProperty("HostConfig").TryGetProperty("Memory", out var memory) ? memory.GetInt64() : 0);
        Assert.False(body.RootElement.GetProperty("HostConfig").TryGetProperty("PidsLimit", out _));
        Assert.False(body.RootElement.GetProperty("HostConfig").TryGetProperty("CapDrop", out _));
    }

    [Theory]
    [InlineData(HttpStatusCode.Conflict)]
    [InlineData(HttpStatusCode.NotModified)]
    [InlineData(HttpStatusCode.NotFound)]
    public async Task KillContainerAsync_NotRunning_IsNotAnError(HttpStatusCode status)
    {
        var handler = new FakeEngineHandler((_, _) => Json(status, "{\"message\":\"Container c1 is not running\"}"));
        using var client = FakeEngine.Client(handler);

        await client.KillContainerAsync("c1");

        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task RemoveContainerAsync_Gone_IsNotAnErrorAndForcesWithVolumes()
    {
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.NotFound, "{\"message\":\"No such container: c1\"}"));
        using var client = FakeEngine.Client(handler);

        await client.RemoveContainerAsync("c1");

        Assert.Equal(HttpMethod.Delete, handler.Requests[0].Method);
        var query = Query(handler.Requests[0].Uri);
        Assert.Equal(["1"], query["force"]);
        Assert.Equal(["1"], query["v"]);
    }

    [Fact]
    public async Task WaitContainerAsync_ExitCode_IsReturned()
    {
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.OK, "{\"StatusCode\":3,\"Error\":null}"));
        using var client = FakeEngine.Client(handler);

        Assert.Equal(3, await client.WaitContainerAsync("c1"));
    }

    [Fact]
    public async Task StatContainerPathAsync_MissingContainer_ThrowsInsteadOfNull()
    {
        // Given an engine that answers 404 to the HEAD and to the container inspect
        var handler = new FakeEngineHandler((_, _) => Json(HttpStatusCode.NotFound, "{\"message\":\"No such container: c1\"}"));
        using var client = FakeEngine.Client(handler);

        // When / Then
        var ex = await Assert.ThrowsAsync<EngineException>(() => client.StatContainerPathAsync("c1", "/etc"));
        Assert.Contains("No such container: c1", ex.Message);
        Assert.Equal(HttpMethod.Head, handler.Requests[0].Method);
        Assert.Equal(["/etc"], Query(handler.Requests[0].Uri)["path"]);
    }

    [Fact]
    public async Task StatContainerPathAsync_MissingPath_IsNull()
    {
        var handler = new FakeEngineHandler((request, _) => request.Method == HttpMethod.Head
            ? new HttpResponseMessage(HttpStatusCode.NotFound)
            : Json(HttpStatusCode.OK, "{\"Id\":\"c1\"}"));
        using var client = FakeEngine.Client(handler);

        Assert.Null(await client.StatContainerPathAsync("c1", "/nope"));
    }

    [Fact]
    public async Task StatContainerPathAsync_Found_DecodesTheHeader()
    {
        var handler = new FakeEngineHandler((_, _) =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK);
            response.Headers.Add("X-Docker-Container-Path-Stat", Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"name\":\"f\",\"size\":5,\"mode\":420,\"mtime\":\"2024-01-01T00:00:00Z\",\"linkTarget\":\"\"}")));
            return response;
        });
        using var client = FakeEngine.Client(handler);

        var stat = await client.StatContainerPathAsync("c1", "/f");

        Assert.Equal(new PathStat("f", 5, 420, string.Empty), stat);
    }

    private static Dictionary<string, List<string>> Query(Uri uri) =>
        uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .GroupBy(parts => Uri.UnescapeDataString(parts[0]), parts => Uri.UnescapeDataString(parts[1]))
            .ToDictionary(g => g.Key, g => g.ToList());
}
