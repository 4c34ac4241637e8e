using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;

namespace Orchestrator.Registry.Tests;

public sealed class ReferrersTests
{
    private static readonly Digest Subject = Digest.Sha256Of("subject"u8);
    private static readonly Digest Existing = Digest.Sha256Of("existing referrer"u8);
    private static readonly Digest Added = Digest.Sha256Of("added referrer"u8);

    private static HttpResponseMessage Index(string json, string mediaType = MediaTypes.OciIndex)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(json)) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        response.Headers.Add("Docker-Content-Digest", Digest.Sha256Of(Encoding.UTF8.GetBytes(json)).ToString());
        return response;
    }

    private static string IndexJson(params Digest[] referrers) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["schemaVersion"] = 2,
        ["mediaType"] = MediaTypes.OciIndex,
        ["manifests"] = referrers.Select(r => new Dictionary<string, object>
        {
            ["mediaType"] = MediaTypes.OciManifest,
            ["digest"] = r.ToString(),
            ["size"] = 321,
            ["artifactType"] = "application/spdx+json",
            ["annotations"] = new Dictionary<string, string> { ["org.opencontainers.image.created"] = "2025-01-01T00:00:00Z" },
        }).ToArray(),
    });

    [Fact]
    public async Task GetReferrersAsync_Registry404_NullMeaningNoApi()
    {
        // Given a registry (like distribution 2.8) that answers the referrers path with a plain 404 page
        var handler = new FakeHandler(_ => new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("404 page not found") });
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When the referrers of a digest are asked for
        var referrers = await client.GetReferrersAsync("app", Subject);

        // Then the answer is "no API", after one GET of /v2/app/referrers/<digest> accepting an index
        Assert.Null(referrers);
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Get, request.Method);
        Assert.Equal($"/v2/app/referrers/{Subject}", request.Uri.AbsolutePath);
        Assert.Contains(MediaTypes.OciIndex, request.Accept, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetReferrersAsync_ApiAnswersAnIndex_ListsItsDescriptors()
    {
        // Given a registry with the referrers API listing one SBOM
        var handler = new FakeHandler(_ => Index(IndexJson(Existing)));
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When the referrers are asked for
        var referrers = await client.GetReferrersAsync("app", Subject);

        // Then the one referrer comes back with its size, artifact type and annotations
        var referrer = Assert.Single(referrers!);
        Assert.Equal(Existing, referrer.Digest);
        Assert.Equal(321, referrer.Descriptor.Size);
        Assert.Equal("application/spdx+json", referrer.ArtifactType);
        Assert.Equal("2025-01-01T00:00:00Z", referrer.Annotations["org.opencontainers.image.created"]);
    }

    [Fact]
    public async Task GetReferrersAsync_AnswerIsNotAnIndex_NullMeaningNoApi()
    {
        // Given a registry that answers the referrers path with something other than an image index
        var handler = new FakeHandler(_ => Index("{\"hello\":1}", "application/json"));
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;

        // When the referrers are asked for
        // Then the answer is "no API"
        Assert.Null(await client.GetReferrersAsync("app", Subject));
    }

    [Fact]
    public async Task AddToFallbackIndexAsync_NoApiAndAnIndexUnderTheTag_PutsTheIndexBackWithTheReferrerAppended()
    {
        // Given a registry without the API whose fallback tag lists one referrer
        var tag = Subject.ToReferrersTag();
        var existing = IndexJson(Existing);
        var handler = new FakeHandler(r =>
        {
            if (r.Uri.AbsolutePath == $"/v2/app/manifests/{tag}" && (r.Method == HttpMethod.Get || r.Method == HttpMethod.Head))
            {
                return Index(existing);
            }

            if (r.Method == HttpMethod.Put)
            {
                var created = FakeHandler.Status(HttpStatusCode.Created);
                created.Headers.Add("Docker-Content-Digest", Digest.Sha256Of(r.Body).ToString());
                return created;
            }

            return FakeHandler.Status(HttpStatusCode.NotFound);
        });
        var (client, factory) = Fake.Client(handler);
        using var _ = factory;
        var referrer = new Referrer(new Descriptor(MediaTypes.OciManifest, Added, 99), "application/spdx+json", new Dictionary<string, string>());

        // When a second referrer is indexed
        var written = await client.AddReferrersAsync("app", Subject, [referrer]);

        // Then the index is PUT under the tag as an OCI index listing both, the existing one first and unchanged
        Assert.True(written);
        var put = Assert.Single(handler.Requests, r => r.Method == HttpMethod.Put);
        Assert.Equal($"/v2/app/manifests/{tag}", put.Uri.AbsolutePath);
        Assert.Equal(MediaTypes.OciIndex, put.ContentType);
        using var index = JsonDocument.Parse(put.Body);
        var manifests = index.RootElement.GetProperty("manifests").EnumerateArray().ToList();
        Assert.Equal([Existing.ToString(), Added.ToString()], manifests.Select(m => m.GetProperty("digest").GetString()));
        Assert.Equal("2025-01-01T00:00:00Z", manifests[0].GetProperty("annotations").GetProperty("org.opencontainers.image.created").GetString());
        Assert.Equal(99, manifests[1].GetProperty("size").GetInt64());
        Assert.Equal("application/spdx+json", manifests[1].GetProperty("artifactType").GetString());
    }
}
