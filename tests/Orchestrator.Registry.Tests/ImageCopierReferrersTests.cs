using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;

namespace Orchestrator.Registry.Tests;

public sealed class ImageCopierReferrersTests : IDisposable
{
    private static readonly RegistryEndpoint Source = new("source.test", true);
    private static readonly RegistryEndpoint Target = new("target.test", true);

    private readonly MemoryRegistries _registries = new();
    private readonly FakeHandler _handler;
    private readonly RegistryClientFactory _factory;

    public ImageCopierReferrersTests()
    {
        _handler = new FakeHandler(_registries.Respond);
        _factory = new RegistryClientFactory(null, new FastTimeProvider(), new RegistryClientOptions(), () => _handler, _ => null);
    }

    public void Dispose() => _factory.Dispose();

    private async Task<(Digest Image, Referrer Sbom)> SeedAsync()
    {
        var source = _factory.Create(Source);
        var config = "{\"os\":\"linux\"}"u8.ToArray();
        await source.UploadBlobAsync("app", Digest.Sha256Of(config), config.Length, new MemoryStream(config));
        var manifest = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"{{MediaTypes.OciConfig}}","digest":"{{Digest.Sha256Of(config)}}","size":{{config.Length}}},"layers":[]}""");
        var image = await source.PutManifestAsync("app", Digest.Sha256Of(manifest).ToString(), manifest, MediaTypes.OciManifest);
        var sbom = await OciReferrers.PushArtifactAsync(source, "app", new Descriptor(MediaTypes.OciManifest, image, manifest.Length), SpdxDocument.MediaType, SpdxDocument.MediaType, "{\"spdxVersion\":\"SPDX-2.3\"}"u8.ToArray());
        return (image, sbom);
    }

    [Fact]
    public async Task CopyAsync_SourceHasAnSbom_ReferrerPutAndIndexedAfterTheImageAndBeforeTheTag()
    {
        // Given an image with an SBOM in a source without the referrers API
        var (image, sbom) = await SeedAsync();
        var copier = new ImageCopier(_factory);
        var plan = await copier.PlanAsync(new CopyRequest(Source, "app", image, Target, "app", ["1.0"]));
        var before = _handler.Requests.Count;

        // When it is copied
        var result = await copier.CopyAsync(plan);

        // Then the target got the image manifest, then the SBOM manifest by digest, then its fallback index, then the tag
        var puts = _handler.Requests.Skip(before).Where(r => r.Method == HttpMethod.Put && r.Uri.Host == "target.test" && r.Uri.AbsolutePath.Contains("/manifests/", StringComparison.Ordinal))
            .Select(r => r.Uri.AbsolutePath["/v2/app/manifests/".Length..]).ToList();
        Assert.Equal([image.ToString(), sbom.Digest.ToString(), image.ToReferrersTag(), "1.0"], puts);
        Assert.Equal(1, result.ReferrersCopied);
        Assert.Equal(plan.BytesToCopy, result.BytesCopied);
        var listed = Assert.Single(await OciReferrers.ListAsync(_factory.Create(Target), "app", image));
        Assert.Equal(sbom.Digest, listed.Digest);
        Assert.Equal(SpdxDocument.MediaType, listed.ArtifactType);
    }

    [Fact]
    public async Task PlanAsync_SourceHasAnSbom_WritesNothingAndListsTheReferrerWithItsBlobs()
    {
        // Given an image with an SBOM in the source
        var (image, sbom) = await SeedAsync();
        var before = _handler.Requests.Count;

        // When the copy is only planned (a dry run)
        var plan = await new ImageCopier(_factory).PlanAsync(new CopyRequest(Source, "app", image, Target, "app", ["1.0"]));

        // Then the plan lists the referrer, missing and unlisted in the target, with its two blobs, and nothing was written
        var referrer = Assert.Single(plan.Referrers);
        Assert.Equal(sbom.Digest, referrer.Digest);
        Assert.False(referrer.PresentInTarget);
        Assert.False(referrer.ListedInTarget);
        Assert.Contains(referrer.BlobsToCopy, b => b.Digest == OciReferrers.EmptyConfig.Digest && b.Size == 2);
        Assert.Equal(2, referrer.BlobsToCopy.Count);
        Assert.DoesNotContain(_handler.Requests.Skip(before), r => r.Method != HttpMethod.Get && r.Method != HttpMethod.Head);
    }

    [Fact]
    public async Task PlanAsync_IndexListsAReferrerTheSourceLost_SkipsIt()
    {
        // Given a fallback index that lists an SBOM whose manifest was deleted from the source
        var (image, sbom) = await SeedAsync();
        _registries.Manifests.Remove(("source.test", sbom.Digest.ToString()));

        // When the copy is planned
        var plan = await new ImageCopier(_factory).PlanAsync(new CopyRequest(Source, "app", image, Target, "app", ["1.0"]));

        // Then the lost referrer is left out, and the image itself is still planned
        Assert.Empty(plan.Referrers);
        Assert.Contains(plan.Manifests, m => m.Digest == image);
    }

    [Fact]
    public async Task CopyAsync_RegistriesWithTheReferrersApi_ReferrerCopiedAndListedByTheApiWithoutAFallbackTag()
    {
        // Given registries with the OCI 1.1 referrers API, and an image with an SBOM in the source
        _registries.ReferrersApi = true;
        var (image, sbom) = await SeedAsync();
        Assert.DoesNotContain(_registries.Manifests.Keys, k => k.Reference == image.ToReferrersTag());
        var copier = new ImageCopier(_factory);
        var plan = await copier.PlanAsync(new CopyRequest(Source, "app", image, Target, "app", ["1.0"]));
        var before = _handler.Requests.Count;

        // When it is copied
        var result = await copier.CopyAsync(plan);

        // Then the SBOM was found through the source's API, put by digest after the image, and the target's API lists it: no fallback tag written
        Assert.Equal(sbom.Digest, Assert.Single(plan.Referrers).Digest);
        var puts = _handler.Requests.Skip(before).Where(r => r.Method == HttpMethod.Put && r.Uri.Host == "target.test" && r.Uri.AbsolutePath.Contains("/manifests/", StringComparison.Ordinal))
            .Select(r => r.Uri.AbsolutePath["/v2/app/manifests/".Length..]).ToList();
        Assert.Equal([image.ToString(), sbom.Digest.ToString(), "1.0"], puts);
        Assert.Equal(1, result.ReferrersCopied);
        var listed = await _factory.Create(Target).GetReferrersAsync("app", image);
        Assert.Equal(sbom.Digest, Assert.Single(listed!).Digest);
    }

    /// <summary>
    /// Just enough of a distribution 2.8 registry per host: manifests, blobs, monolithic uploads; no referrers
    /// API unless <see cref="ReferrersApi"/>, which answers <c>GET /v2/…/referrers/DIGEST</c> from the manifests' subjects.
    /// </summary>
    private sealed class MemoryRegistries
    {
        public Dictionary<(string Host, string Reference), (byte[] Content, string MediaType)> Manifests { get; } = [];

        public bool ReferrersApi { get; set; }

        public Dictionary<(string Host, string Digest), byte[]> Blobs { get; } = [];

        public HttpResponseMessage Respond(RecordedRequest request)
        {
            var host = request.Uri.Host;
            var path = request.Uri.AbsolutePath;
            var last = path[(path.LastIndexOf('/') + 1)..];
            if (ReferrersApi && path.Contains("/referrers/", StringComparison.Ordinal))
            {
                return ReferrersOf(host, last);
            }

            if (path.Contains("/manifests/", StringComparison.Ordinal))
            {
                if (request.Method == HttpMethod.Put)
                {
                    var digest = Digest.Sha256Of(request.Body);
                    Manifests[(host, last)] = Manifests[(host, digest.ToString())] = (request.Body, request.ContentType!);
                    return WithDigest(FakeHandler.Status(HttpStatusCode.Created), digest);
                }

                if (!Manifests.TryGetValue((host, last), out var manifest))
                {
                    return FakeHandler.Status(HttpStatusCode.NotFound, """{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}""");
                }

                var found = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(manifest.Content) };
                found.Content.Headers.ContentType = new MediaTypeHeaderValue(manifest.MediaType);
                return WithDigest(found, Digest.Sha256Of(manifest.Content));
            }

            if (path.Contains("/blobs/uploads/", StringComparison.Ordinal))
            {
                if (request.Method == HttpMethod.Post)
                {
                    var accepted = FakeHandler.Status(HttpStatusCode.Accepted);
                    accepted.Headers.Location = new Uri($"http://{host}/v2/app/blobs/uploads/u", UriKind.Absolute);
                    return accepted;
                }

                var query = System.Web.HttpUtility.ParseQueryString(request.Uri.Query);
                Blobs[(host, query["digest"]!)] = request.Body;
                return FakeHandler.Status(HttpStatusCode.Created);
            }

            if (path.Contains("/blobs/", StringComparison.Ordinal))
            {
                if (!Blobs.TryGetValue((host, last), out var blob))
                {
                    return FakeHandler.Status(HttpStatusCode.NotFound);
                }

                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(request.Method == HttpMethod.Head ? [] : blob) { Headers = { ContentLength = blob.Length } } };
            }

            return new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("404 page not found") };
        }

        private HttpResponseMessage ReferrersOf(string host, string subject)
        {
            var descriptors = new List<string>();
            foreach (var ((h, reference), (content, mediaType)) in Manifests)
            {
                if (h != host || !reference.StartsWith("sha256:", StringComparison.Ordinal))
                {
                    continue;
                }

                using var document = System.Text.Json.JsonDocument.Parse(content);
                if (document.RootElement.TryGetProperty("subject", out var s) && s.GetProperty("digest").GetString() == subject)
                {
                    var artifactType = document.RootElement.GetProperty("artifactType").GetString();
                    descriptors.Add($$"""{"mediaType":"{{mediaType}}","digest":"{{reference}}","size":{{content.Length}},"artifactType":"{{artifactType}}"}""");
                }
            }

            var index = new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciIndex}}","manifests":[{{string.Join(",", descriptors)}}]}"""),
            };
            index.Content.Headers.ContentType = new MediaTypeHeaderValue(MediaTypes.OciIndex);
            return index;
        }

        private static HttpResponseMessage WithDigest(HttpResponseMessage response, Digest digest)
        {
            response.Headers.Add("Docker-Content-Digest", digest.ToString());
            return response;
        }
    }
}
