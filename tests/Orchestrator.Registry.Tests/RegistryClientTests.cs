using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;

namespace Orchestrator.Registry.Tests;

public sealed class RegistryClientTests
{
    private static readonly byte[] Manifest = Encoding.UTF8.GetBytes("""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}""");
    private static readonly Digest ManifestDigest = Digest.Sha256Of(Manifest);

    private static HttpResponseMessage ManifestResponse()
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Manifest) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue(MediaTypes.OciManifest);
        response.Headers.Add("Docker-Content-Digest", ManifestDigest.ToString());
        return response;
    }

    [Fact]
    public async Task GetManifestAsync_BearerChallenge_FetchesTokenOnceAndSendsIt()
    {
        // Given a registry that challenges for a bearer token and a token service that issues one
        var handler = new FakeHandler(r =>
        {
            if (r.Uri.Host == "auth.test")
            {
                return FakeHandler.Status(HttpStatusCode.OK, """{"token":"tok-1","expires_in":300}""");
            }

            if (r.Authorization != "Bearer tok-1")
            {
                var challenge = FakeHandler.Status(HttpStatusCode.Unauthorized);
                challenge.Headers.WwwAuthenticate.ParseAdd("Bearer realm=\"http://auth.test/token\",service=\"reg.test\",scope=\"repository:app:pull\"");
                return challenge;
            }

            return ManifestResponse();
        });
        var endpoint = new RegistryEndpoint("reg.test", true, "REG_USER", "REG_PASS");
        var env = new Dictionary<string, string> { ["REG_USER"] = "alice", ["REG_PASS"] = "s3cret" };
        var (client, factory) = Fake.Client(handler, endpoint, environment: env);
        using var _ = factory;

        // When the manifest is read twice
        var first = await client.GetManifestAsync("app", ManifestDigest.ToString());
        var second = await client.GetManifestAsync("app", ManifestDigest.ToString());

        // Then the token was fetched once, with the challenge's service and scope and basic credentials, and sent on every request after
        Assert.Equal(ManifestDigest, first.Digest);
        Assert.Equal(ManifestDigest, second.Digest);
        var tokenRequests = handler.Requests.Where(r => r.Uri.Host == "auth.test").ToList();
        var tokenRequest = Assert.Single(tokenRequests);
        Assert.Contains("service=reg.test", tokenRequest.Uri.Query, StringComparison.Ordinal);
        Assert.Contains("scope=repository%3Aapp%3Apull", tokenRequest.Uri.Query, StringComparison.Ordinal);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:s3cret")), tokenRequest.Authorization);
        var registryRequests = handler.Requests.Where(r => r.Uri.Host == "reg.test").ToList();
        Assert.Equal(3, registryRequests.Count);
        Assert.Null(registryRequests[0].Authorization);
        Assert.Equal("Bearer tok-1", registryRequests[1].Authorization);
        Assert.Equal("Bearer tok-1", registryRequests[2].Authorization);
    }

    [Fact]
    public async Task GetManifestAsync_TokenExpired_FetchesNewToken()
    {
        // Given a cached token that lives 60 s
        var issued = 0;
        var handler = new FakeHandler(r =>
        {
            if (r.Uri.Host == "auth.test")
            {
                issued++;
                return FakeHandler.Status(HttpStatusCode.OK, $$"""{"access_token":"tok-{{issued}}","expires_in":60}""");
            }

            if (r.Authorization != $"Bearer tok-{issued}")
            {
                var challenge = FakeHandler.Status(HttpStatusCode.Unauthorized);
                challenge.Headers.WwwAuthenticate.ParseAdd("Bearer realm=\"http://auth.test/token\",service=\"reg.test\",scope=\"repository:app:pull\"");
                return challenge;
            }

            return ManifestResponse();
        });
        var time = new FastTimeProvider();
        var (client, factory) = Fake.Client(handler, time: time);
        using var _ = factory;
        await client.GetManifestAsync("app", ManifestDigest.ToString());

        // When the clock passes the expiry and the manifest is read again
        time.Now += TimeSpan.FromMinutes(2);
        await client.GetManifestAsync("app", ManifestDigest.ToString());

        // Then a second token was fetched and the second request did not carry the expired one
        Assert.Equal(2, issued);
        Assert.Null(handler.Requests.Where(r => r.Uri.Host == "reg.test").ElementAt(2).Authorization);
    }

    [Fact]
    public async Task GetManifestAsync_BasicChallenge_RetriesWithBasicCredentials()
    {
        // Given a registry asking for basic auth
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("bob:pw"));
        var handler = new FakeHandler(r =>
        {
            if (r.Authorization != expected)
            {
                var challenge = FakeHandler.Status(HttpStatusCode.Unauthorized);
                challenge.Headers.WwwAuthenticate.ParseAdd("Basic realm=\"registry\"");
                return challenge;
            }

            return ManifestResponse();
        });
        var endpoint = new RegistryEndpoint("reg.test", true, "U", "P");
        var (client, factory) = Fake.Client(handler, endpoint, environment: new Dictionary<string, string> { ["U"] = "bob", ["P"] = "pw" });
        using var _ = factory;

        // When the manifest is read twice
        await client.GetManifestAsync("app", ManifestDigest.ToString());
        await client.GetManifestAsync("app", ManifestDigest.ToString());

        // Then the challenge was answered once and later requests carry basic credentials from the start
        Assert.Equal([null, expected, expected], handler.Requests.Select(r => r.Authorization));
    }

    [Fact]
    public async Task GetManifestAsync_BasicChallengeWithoutCredentials_ThrowsRegistryExceptionNamingTheFix()
    {
        // Given a registry asking for basic auth and an endpoint with no credentials configured
        var handler = new FakeHandler(_ =>
        {
            var challenge = FakeHandler.Status(HttpStatusCode.Unauthorized);
            challenge.Headers.WwwAuthenticate.ParseAdd("Basic realm=\"registry\"");
            return challenge;
        });
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When the manifest is read
        var ex = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync("app", "1.0"));

        // Then the error says credentials are needed and how to configure them
        Assert.Equal(HttpStatusCode.Unauthorized, ex.StatusCode);
        Assert.Contains("set username-env and password-env", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetManifestAsync_CredentialsRefused_MessageNamesVariablesNotSecrets()
    {
        // Given a registry that refuses every credential
        var handler = new FakeHandler(_ =>
        {
            var challenge = FakeHandler.Status(HttpStatusCode.Unauthorized, """{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}""");
            challenge.Headers.WwwAuthenticate.ParseAdd("Basic realm=\"registry\"");
            return challenge;
        });
        var endpoint = new RegistryEndpoint("reg.test", true, "U", "P");
        var (client, factory) = Fake.Client(handler, endpoint, environment: new Dictionary<string, string> { ["U"] = "bob", ["P"] = "hunter2" });
        using var _ = factory;

        // When the manifest is read
        var ex = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync("app", "1.0"));

        // Then the message names the variables, never the password
        Assert.Equal("UNAUTHORIZED", ex.ErrorCode);
        Assert.Contains("$U", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task GetManifestAsync_503Then200_IsRetried()
    {
        // Given a registry that fails once with 503
        var calls = 0;
        var handler = new FakeHandler(_ => ++calls == 1 ? FakeHandler.Status(HttpStatusCode.ServiceUnavailable) : ManifestResponse());
        var time = new FastTimeProvider();
        var (client, factory) = Fake.Client(handler, time: time);
        using var _ = factory;

        // When the manifest is read
        var manifest = await client.GetManifestAsync("app", ManifestDigest.ToString());

        // Then it was asked twice, after one backoff delay
        Assert.Equal(ManifestDigest, manifest.Digest);
        Assert.Equal(2, handler.Requests.Count);
        Assert.Single(time.Delays);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound)]
    [InlineData(HttpStatusCode.BadRequest)]
    [InlineData(HttpStatusCode.Forbidden)]
    public async Task GetManifestAsync_ClientError_IsNotRetried(HttpStatusCode status)
    {
        // Given a registry answering a 4xx
        var handler = new FakeHandler(_ => FakeHandler.Status(status));
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When the manifest is read
        var ex = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync("app", "1.0"));

        // Then the error carries the status and exactly one request was made
        Assert.Equal(status, ex.StatusCode);
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task GetManifestAsync_429WithRetryAfter_WaitsThatLong()
    {
        // Given a registry rate-limiting once with Retry-After: 7
        var calls = 0;
        var handler = new FakeHandler(_ =>
        {
            if (++calls > 1)
            {
                return ManifestResponse();
            }

            var limited = FakeHandler.Status(HttpStatusCode.TooManyRequests);
            limited.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(7));
            return limited;
        });
        var time = new FastTimeProvider { AdvanceOnTimer = true };
        var (client, factory) = Fake.Client(handler, time: time);
        using var _ = factory;

        // When the manifest is read
        await client.GetManifestAsync("app", ManifestDigest.ToString());

        // Then the retry waited exactly the 7 s the registry asked for (the registry's pause had passed by then)
        Assert.Equal(2, handler.Requests.Count);
        Assert.Equal([TimeSpan.FromSeconds(7)], time.Delays);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("""{"errors":[{"code":"DENIED","message":"slow down"}]}""")]
    [InlineData("""{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}""")]
    public async Task GetManifestAsync_429UntilRetriesAreSpent_SaysTheRegistryIsRateLimitingNotCheckTheReference(string? body)
    {
        // Given a registry that answers every request with 429 and Retry-After: 2, whatever error body it adds
        var handler = new FakeHandler(_ =>
        {
            var limited = FakeHandler.Status(HttpStatusCode.TooManyRequests, body);
            limited.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(2));
            return limited;
        });
        var (client, factory) = Fake.Client(handler, options: new RegistryClientOptions { MaxRetryAttempts = 2 }, time: new FastTimeProvider { AdvanceOnTimer = true });
        using var _ = factory;

        // When the manifest is read
        var ex = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync("app", "1.0"));

        // Then every attempt was made, and the message says rate-limiting, the wait asked for, and what to do, not "check the reference"
        Assert.Equal(3, handler.Requests.Count);
        Assert.Equal(HttpStatusCode.TooManyRequests, ex.StatusCode);
        Assert.Contains("is rate-limiting", ex.Message, StringComparison.Ordinal);
        Assert.Contains("wait 2 s", ex.Message, StringComparison.Ordinal);
        Assert.Contains("run the job again", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("check the reference", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("access denied", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetManifestAsync_PersistentFailure_StopsAfterMaxRetryAttempts()
    {
        // Given a registry that always fails with 500 and two retries allowed
        var handler = new FakeHandler(_ => FakeHandler.Status(HttpStatusCode.InternalServerError));
        var (client, factory) = Fake.Client(handler, options: new RegistryClientOptions { MaxRetryAttempts = 2 });
        using var _ = factory;

        // When the manifest is read
        var ex = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync("app", "1.0"));

        // Then three attempts were made and the last status is reported
        Assert.Equal(HttpStatusCode.InternalServerError, ex.StatusCode);
        Assert.Equal(3, handler.Requests.Count);
    }

    [Fact]
    public async Task GetManifestAsync_OciErrorBody_ParsedIntoCodeAndMessage()
    {
        // Given a registry answering MANIFEST_UNKNOWN
        var handler = new FakeHandler(_ => FakeHandler.Status(HttpStatusCode.NotFound, """{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"""));
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When a missing tag is read
        var ex = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync("apps/web", "9.9"));

        // Then the code is parsed and the message names registry, repository, reference and a next step
        Assert.Equal("MANIFEST_UNKNOWN", ex.ErrorCode);
        Assert.Equal(HttpStatusCode.NotFound, ex.StatusCode);
        Assert.Contains("http://reg.test", ex.Message, StringComparison.Ordinal);
        Assert.Contains("apps/web:9.9", ex.Message, StringComparison.Ordinal);
        Assert.Contains("push the image first", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetManifestAsync_BytesDoNotMatchDigest_ThrowsDigestMismatchNamingBoth()
    {
        // Given a registry serving other bytes than the digest asked for
        var asked = Digest.Sha256Of("something else"u8);
        var handler = new FakeHandler(_ => ManifestResponse());
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When the manifest is read by digest
        var ex = await Assert.ThrowsAsync<DigestMismatchException>(() => client.GetManifestAsync("app", asked.ToString()));

        // Then both digests are named
        Assert.Contains(asked.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Contains(ManifestDigest.ToString(), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetManifestAsync_Always_AcceptsEveryManifestType()
    {
        // Given a registry serving a manifest
        var handler = new FakeHandler(_ => ManifestResponse());
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When it is read
        var manifest = await client.GetManifestAsync("app", "latest");

        // Then every manifest media type was accepted and the media type and digest come back
        Assert.Equal(string.Join(",", MediaTypes.AllManifests), handler.Requests[0].Accept);
        Assert.Equal(MediaTypes.OciManifest, manifest.MediaType);
        Assert.Equal(ManifestDigest, manifest.Digest);
    }

    [Fact]
    public async Task HeadManifestAsync_NotFound_ReturnsNull()
    {
        // Given a registry without the tag
        var handler = new FakeHandler(_ => FakeHandler.Status(HttpStatusCode.NotFound));
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When / Then
        Assert.Null(await client.HeadManifestAsync("app", "1.0"));
    }

    [Fact]
    public async Task PutManifestAsync_Always_SendsExactBytesAndReturnsRegistryDigest()
    {
        // Given a registry that accepts manifests
        var handler = new FakeHandler(r =>
        {
            var created = FakeHandler.Status(HttpStatusCode.Created);
            created.Headers.Add("Docker-Content-Digest", Digest.Sha256Of(r.Body).ToString());
            return created;
        });
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When a Docker manifest is put under a tag
        var digest = await client.PutManifestAsync("app", "1.0", Manifest, MediaTypes.DockerManifest);

        // Then the bytes and content type are exactly as given
        var put = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Put, put.Method);
        Assert.Equal(Manifest, put.Body);
        Assert.Equal(MediaTypes.DockerManifest, put.ContentType);
        Assert.Equal(ManifestDigest, digest);
    }

    [Fact]
    public async Task UploadBlobAsync_RelativeLocation_ResolvedWithQueryKeptAndDigestAppended()
    {
        // Given a registry answering the upload POST with a relative Location carrying state
        var blob = Encoding.UTF8.GetBytes("hello blob");
        var digest = Digest.Sha256Of(blob);
        var handler = new FakeHandler(r => r.Method == HttpMethod.Post
            ? Accepted("/v2/app/blobs/uploads/u-1?_state=abc%3D%3D")
            : Created(digest));
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When a small blob is uploaded
        await client.UploadBlobAsync("app", digest, blob.Length, new MemoryStream(blob));

        // Then one monolithic PUT went to the resolved location with its state and the digest
        Assert.Equal(2, handler.Requests.Count);
        var put = handler.Requests[1];
        Assert.Equal(HttpMethod.Put, put.Method);
        Assert.Equal($"http://reg.test/v2/app/blobs/uploads/u-1?_state=abc%3D%3D&digest={Uri.EscapeDataString(digest.ToString())}", put.Uri.AbsoluteUri);
        Assert.Equal(blob, put.Body);
        Assert.Equal("application/octet-stream", put.ContentType);
    }

    [Fact]
    public async Task UploadBlobAsync_LargerThanMonolithicLimit_PatchesChunksThenPutsDigest()
    {
        // Given chunks of 1 KiB and a 2500-byte blob, and a registry moving the upload location each chunk
        var blob = new byte[2500];
        Random.Shared.NextBytes(blob);
        var digest = Digest.Sha256Of(blob);
        var patches = 0;
        var handler = new FakeHandler(r =>
        {
            if (r.Method == HttpMethod.Post)
            {
                return Accepted("/v2/app/blobs/uploads/u?n=0");
            }

            if (r.Method == HttpMethod.Patch)
            {
                patches++;
                return Accepted($"http://reg.test/v2/app/blobs/uploads/u?n={patches}");
            }

            return Created(digest);
        });
        var (client, factory) = Fake.Client(handler, options: new RegistryClientOptions { ChunkSize = 1024, MonolithicUploadLimit = 1024 });
        using var _ = factory;

        // When the blob is uploaded
        await client.UploadBlobAsync("app", digest, blob.Length, new MemoryStream(blob));

        // Then three PATCHes with inclusive ranges followed each new location, and an empty PUT committed the digest
        var requests = handler.Requests;
        Assert.Equal(["POST", "PATCH", "PATCH", "PATCH", "PUT"], requests.Select(r => r.Method.Method));
        Assert.Equal(["0-1023", "1024-2047", "2048-2499"], requests.Where(r => r.Method == HttpMethod.Patch).Select(r => r.ContentRange));
        Assert.All(requests.Where(r => r.Method == HttpMethod.Patch), r => Assert.Equal("application/octet-stream", r.ContentType));
        Assert.Equal(["n=0", "n=1", "n=2"], requests.Where(r => r.Method == HttpMethod.Patch).Select(r => r.Uri.Query.TrimStart('?')));
        Assert.Equal(blob, requests.Where(r => r.Method == HttpMethod.Patch).SelectMany(r => r.Body).ToArray());
        var put = requests[^1];
        Assert.Equal($"?n=3&digest={Uri.EscapeDataString(digest.ToString())}", put.Uri.Query);
        Assert.Empty(put.Body);
    }

    [Fact]
    public async Task UploadBlobAsync_StreamedPutFails503_IsNotRetriedAndUploadCancelled()
    {
        // Given a registry failing the streamed PUT with 503
        var blob = new byte[100];
        var digest = Digest.Sha256Of(blob);
        var handler = new FakeHandler(r => r.Method == HttpMethod.Post ? Accepted("/v2/app/blobs/uploads/u") : r.Method == HttpMethod.Put ? FakeHandler.Status(HttpStatusCode.ServiceUnavailable) : FakeHandler.Status(HttpStatusCode.NoContent));
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When the blob is uploaded
        var ex = await Assert.ThrowsAsync<RegistryException>(() => client.UploadBlobAsync("app", digest, blob.Length, new MemoryStream(blob)));

        // Then the non-replayable PUT was sent once and the upload session was deleted
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ex.StatusCode);
        Assert.Equal(["POST", "PUT", "DELETE"], handler.Requests.Select(r => r.Method.Method));
    }

    [Fact]
    public async Task MountBlobAsync_202_CancelsOpenedUploadAndReturnsFalse()
    {
        // Given a registry that opens an upload instead of mounting
        var digest = Digest.Sha256Of("x"u8);
        var handler = new FakeHandler(r => r.Method == HttpMethod.Post ? Accepted("/v2/dst/blobs/uploads/m-1") : FakeHandler.Status(HttpStatusCode.NoContent));
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When a mount is asked
        var mounted = await client.MountBlobAsync("dst", digest, "src");

        // Then it reports no mount and deleted the opened upload
        Assert.False(mounted);
        Assert.Equal($"?mount={Uri.EscapeDataString(digest.ToString())}&from=src", handler.Requests[0].Uri.Query);
        Assert.Equal(HttpMethod.Delete, handler.Requests[1].Method);
        Assert.Equal("/v2/dst/blobs/uploads/m-1", handler.Requests[1].Uri.AbsolutePath);
    }

    [Fact]
    public async Task MountBlobAsync_201_ReturnsTrue()
    {
        // Given a registry that mounts
        var handler = new FakeHandler(_ => Created(Digest.Sha256Of("x"u8)));
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When / Then
        Assert.True(await client.MountBlobAsync("dst", Digest.Sha256Of("x"u8), "src"));
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task ListTagsAsync_LinkPagination_FollowsEveryPage()
    {
        // Given two pages of tags joined by a Link header
        var handler = new FakeHandler(r =>
        {
            if (r.Uri.Query.Contains("last=b", StringComparison.Ordinal))
            {
                return FakeHandler.Status(HttpStatusCode.OK, """{"name":"app","tags":["c"]}""");
            }

            var page = FakeHandler.Status(HttpStatusCode.OK, """{"name":"app","tags":["a","b"]}""");
            page.Headers.Add("Link", "</v2/app/tags/list?n=2&last=b>; rel=\"next\"");
            return page;
        });
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When / Then
        Assert.Equal(["a", "b", "c"], await client.ListTagsAsync("app"));
        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task ListTagsAsync_UnknownRepository_ReturnsEmpty()
    {
        // Given a registry without the repository
        var handler = new FakeHandler(_ => FakeHandler.Status(HttpStatusCode.NotFound, """{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"""));
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When / Then
        Assert.Empty(await client.ListTagsAsync("nope"));
    }

    [Fact]
    public async Task GetManifestAsync_NothingListening_ThrowsUnavailableWithSetupHint()
    {
        // Given an endpoint where nothing listens (port 9 on loopback) and no retries
        using var factory = new RegistryClientFactory(options: new RegistryClientOptions { MaxRetryAttempts = 0 });
        var client = factory.Create(new RegistryEndpoint("127.0.0.1:9", true));

        // When the manifest is read
        var ex = await Assert.ThrowsAsync<UnavailableException>(() => client.GetManifestAsync("app", "1.0"));

        // Then the message says how to start the registries or fix the url
        Assert.Contains("no registry answers at http://127.0.0.1:9", ex.Message, StringComparison.Ordinal);
        Assert.Contains("./scripts/setup", ex.Message, StringComparison.Ordinal);
        Assert.False(await client.PingAsync());
    }

    [Fact]
    public void Validate_SeveralBadValues_ReportsEveryOne()
    {
        // Given options with three bad values
        var options = new RegistryClientOptions { MaxRetryAttempts = -1, ChunkSize = 10, MaxParallelBlobCopies = 0 };

        // When validated
        var ex = Assert.Throws<InputException>(options.Validate);

        // Then every value is named
        Assert.Contains("MaxRetryAttempts", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ChunkSize", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxParallelBlobCopies", ex.Message, StringComparison.Ordinal);
    }

    private static HttpResponseMessage Accepted(string location)
    {
        var response = FakeHandler.Status(HttpStatusCode.Accepted);
        response.Headers.Location = new Uri(location, UriKind.RelativeOrAbsolute);
        return response;
    }

    private static HttpResponseMessage Created(Digest digest)
    {
        var response = FakeHandler.Status(HttpStatusCode.Created);
        response.Headers.Add("Docker-Content-Digest", digest.ToString());
        return response;
    }
}
