using System.Text;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Images;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;

namespace Orchestrator.Registry.Tests;

/// <summary>
/// The referrers tag schema (distribution spec v1.1) through the real client, over an in-memory registry
/// without the referrers API (distribution 2.8): moved here from Core with the protocol.
/// </summary>
public sealed class ReferrersFallbackTests : IDisposable
{
    private const string Host = "reg.test";
    private const string Repository = "app";

    private readonly MemoryRegistries _registries = new();
    private readonly FakeHandler _handler;
    private readonly RegistryClientFactory _factory;
    private readonly IRegistryClient _client;

    public ReferrersFallbackTests()
    {
        _handler = new FakeHandler(_registries.Respond);
        _factory = new RegistryClientFactory(null, new FastTimeProvider(), new RegistryClientOptions(), () => _handler, _ => null);
        _client = _factory.Create(new RegistryEndpoint(Host, PlainHttp: true));
    }

    public void Dispose() => _factory.Dispose();

    private Descriptor SeedSubject()
    {
        var content = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","seed":"subject"}""");
        var digest = Digest.Sha256Of(content);
        _registries.Manifests[(Host, digest.ToString())] = _registries.Manifests[(Host, "1.0")] = (content, MediaTypes.OciManifest);
        return new Descriptor(MediaTypes.OciManifest, digest, content.Length);
    }

    private static Referrer ReferrerOf(string seed) =>
        new(new Descriptor(MediaTypes.OciManifest, Digest.Sha256Of(Encoding.UTF8.GetBytes(seed)), 100), "application/spdx+json", new Dictionary<string, string> { ["k"] = seed });

    private List<RecordedRequest> ManifestPuts() =>
        _handler.Requests.Where(r => r.Method == HttpMethod.Put && r.Uri.AbsolutePath.Contains("/manifests/", StringComparison.Ordinal)).ToList();

    [Fact]
    public async Task PushAsync_RegistryWithoutApi_PutsManifestByDigestAndListsItUnderTheFallbackTag()
    {
        // Given a subject image in a registry without the referrers API
        var subject = SeedSubject();
        var content = "{\"spdxVersion\":\"SPDX-2.3\"}"u8.ToArray();

        // When an SBOM is pushed as its artifact
        var referrer = await ArtifactPublisher.PushAsync(_client, Repository, subject, SpdxDocument.MediaType, SpdxDocument.MediaType, content,
            new Dictionary<string, string> { [ArtifactManifest.CreatedAnnotation] = "2025-03-14T15:09:26Z" });

        // Then the manifest is an OCI 1.1 artifact with the empty config, one SBOM layer and the subject
        var (stored, storedType) = _registries.Manifests[(Host, referrer.Digest.ToString())];
        Assert.Equal(MediaTypes.OciManifest, storedType);
        using var manifest = JsonDocument.Parse(stored);
        var root = manifest.RootElement;
        Assert.Equal(SpdxDocument.MediaType, root.GetProperty("artifactType").GetString());
        Assert.Equal(MediaTypes.OciEmpty, root.GetProperty("config").GetProperty("mediaType").GetString());
        Assert.Equal("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", root.GetProperty("config").GetProperty("digest").GetString());
        var layer = Assert.Single(root.GetProperty("layers").EnumerateArray());
        Assert.Equal(Digest.Sha256Of(content).ToString(), layer.GetProperty("digest").GetString());
        Assert.Equal(subject.Digest.ToString(), root.GetProperty("subject").GetProperty("digest").GetString());
        Assert.Equal(content, _registries.Blobs[(Host, Digest.Sha256Of(content).ToString())]);
        Assert.Equal("{}"u8.ToArray(), _registries.Blobs[(Host, ArtifactManifest.EmptyConfig.Digest.ToString())]);

        // And the fallback tag sha256-<hex> holds an index listing it with its artifact type and annotations
        Assert.Equal(MediaTypes.OciIndex, _registries.Manifests[(Host, subject.Digest.ToReferrersTag())].MediaType);
        var listed = Assert.Single(await _client.ListReferrersAsync(Repository, subject.Digest));
        Assert.Equal(referrer.Digest, listed.Digest);
        Assert.Equal(stored.Length, listed.Descriptor.Size);
        Assert.Equal(SpdxDocument.MediaType, listed.ArtifactType);
        Assert.Equal("2025-03-14T15:09:26Z", listed.Annotations[ArtifactManifest.CreatedAnnotation]);
    }

    [Fact]
    public async Task PushAsync_RegistryWithApi_WritesNoFallbackTag()
    {
        // Given a registry with the referrers API
        var subject = SeedSubject();
        _registries.ReferrersApi = true;

        // When an artifact is pushed
        var referrer = await ArtifactPublisher.PushAsync(_client, Repository, subject, SpdxDocument.MediaType, SpdxDocument.MediaType, "{}"u8.ToArray());

        // Then the manifest is there and listed by the API, and no fallback tag was written (the registry indexes the subject itself)
        Assert.True(_registries.Manifests.ContainsKey((Host, referrer.Digest.ToString())));
        Assert.False(_registries.Manifests.ContainsKey((Host, subject.Digest.ToReferrersTag())));
        Assert.Equal(referrer.Digest, Assert.Single(await _client.ListReferrersAsync(Repository, subject.Digest)).Digest);
    }

    [Fact]
    public async Task AddReferrersAsync_ExistingIndex_AppendsOnlyMissingReferrersAndKeepsUnknownFields()
    {
        // Given a fallback index listing one referrer with a field this code does not know
        var subject = Digest.Sha256Of("subject"u8);
        var first = ReferrerOf("first");
        var existing = $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciIndex}}","manifests":[{"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{first.Digest}}","size":100,"artifactType":"application/vnd.dev.cosign","x-extra":"kept"}]}""";
        _registries.Manifests[(Host, subject.ToReferrersTag())] = (Encoding.UTF8.GetBytes(existing), MediaTypes.OciIndex);

        // When that referrer and a new one are added
        var written = await _client.AddReferrersAsync(Repository, subject, [first, ReferrerOf("second")]);

        // Then the index lists both, the first as it was, in order, under the tag
        Assert.True(written);
        var put = Assert.Single(ManifestPuts());
        Assert.EndsWith("/manifests/" + subject.ToReferrersTag(), put.Uri.AbsolutePath, StringComparison.Ordinal);
        Assert.Equal(MediaTypes.OciIndex, put.ContentType);
        using var index = JsonDocument.Parse(put.Body);
        var manifests = index.RootElement.GetProperty("manifests").EnumerateArray().ToList();
        Assert.Equal([first.Digest.ToString(), ReferrerOf("second").Digest.ToString()], manifests.Select(m => m.GetProperty("digest").GetString()));
        Assert.Equal("kept", manifests[0].GetProperty("x-extra").GetString());
        Assert.Equal("application/vnd.dev.cosign", manifests[0].GetProperty("artifactType").GetString());
        Assert.Equal("second", manifests[1].GetProperty("annotations").GetProperty("k").GetString());
    }

    [Fact]
    public async Task AddReferrersAsync_AlreadyListed_WritesNothing()
    {
        // Given a fallback index that already lists the referrer
        var subject = Digest.Sha256Of("subject"u8);
        Assert.True(await _client.AddReferrersAsync(Repository, subject, [ReferrerOf("first")]));
        var puts = ManifestPuts().Count;

        // When it is added again
        var written = await _client.AddReferrersAsync(Repository, subject, [ReferrerOf("first")]);

        // Then nothing is put
        Assert.False(written);
        Assert.Equal(puts, ManifestPuts().Count);
    }

    [Fact]
    public async Task ListReferrersAsync_NoFallbackTag_Empty()
    {
        // Given a subject nothing refers to
        // When its referrers are listed
        var listed = await _client.ListReferrersAsync(Repository, Digest.Sha256Of("lonely"u8));

        // Then there are none
        Assert.Empty(listed);
    }

    [Fact]
    public async Task ListReferrersAsync_FallbackTagIsAnImageManifest_JobFailedSayingToDeleteTheTag()
    {
        // Given a fallback tag that points at an image manifest, not an index
        var subject = Digest.Sha256Of("subject"u8);
        var wrong = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","seed":"wrong"}""");
        _registries.Manifests[(Host, subject.ToReferrersTag())] = (wrong, MediaTypes.OciManifest);

        // When the referrers are listed
        var error = await Assert.ThrowsAsync<JobFailedException>(() => _client.ListReferrersAsync(Repository, subject));

        // Then the message says which tag is wrong and what to do
        Assert.Contains(subject.ToReferrersTag(), error.Message, StringComparison.Ordinal);
        Assert.Contains("delete that tag", error.Message, StringComparison.Ordinal);
    }
}
