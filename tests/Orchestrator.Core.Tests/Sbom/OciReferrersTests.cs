using System.Text;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;
using Orchestrator.Core.Tests.Fakes;

namespace Orchestrator.Core.Tests.Sbom;

public sealed class OciReferrersTests
{
    private const string Repository = "apps/hello";
    private readonly FakeRegistry _registry = new(new RegistryEndpoint("127.0.0.1:5001", PlainHttp: true));

    private Descriptor SeedSubject()
    {
        var digest = _registry.AddManifest(Repository, "subject", "1.0");
        var manifest = _registry.Find(Repository, digest.ToString())!;
        return new Descriptor(manifest.MediaType, digest, manifest.Content.Length);
    }

    private static Referrer ReferrerOf(string seed, string artifactType = "application/spdx+json") =>
        new(new Descriptor(MediaTypes.OciManifest, Digest.Sha256Of(Encoding.UTF8.GetBytes(seed)), 100), artifactType, new Dictionary<string, string> { ["k"] = seed });

    [Fact]
    public async Task PushArtifactAsync_RegistryWithoutApi_PutsManifestByDigestAndListsItUnderTheFallbackTag()
    {
        // Given a subject image in a registry without the referrers API
        var subject = SeedSubject();
        var content = "{\"spdxVersion\":\"SPDX-2.3\"}"u8.ToArray();

        // When an SBOM is pushed as its artifact
        var referrer = await OciReferrers.PushArtifactAsync(_registry, Repository, subject, SpdxDocument.MediaType, SpdxDocument.MediaType, content,
            new Dictionary<string, string> { [OciReferrers.CreatedAnnotation] = "2025-03-14T15:09:26Z" });

        // Then the manifest is an OCI 1.1 artifact with the empty config, one SBOM layer and the subject
        var stored = _registry.Find(Repository, referrer.Digest.ToString())!;
        Assert.Equal(MediaTypes.OciManifest, stored.MediaType);
        using var manifest = JsonDocument.Parse(stored.Content);
        var root = manifest.RootElement;
        Assert.Equal(SpdxDocument.MediaType, root.GetProperty("artifactType").GetString());
        Assert.Equal(MediaTypes.OciEmpty, root.GetProperty("config").GetProperty("mediaType").GetString());
        Assert.Equal("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", root.GetProperty("config").GetProperty("digest").GetString());
        Assert.Equal(2, root.GetProperty("config").GetProperty("size").GetInt64());
        var layer = Assert.Single(root.GetProperty("layers").EnumerateArray());
        Assert.Equal(SpdxDocument.MediaType, layer.GetProperty("mediaType").GetString());
        Assert.Equal(Digest.Sha256Of(content).ToString(), layer.GetProperty("digest").GetString());
        Assert.Equal(subject.Digest.ToString(), root.GetProperty("subject").GetProperty("digest").GetString());
        Assert.Equal(subject.Size, root.GetProperty("subject").GetProperty("size").GetInt64());
        Assert.Equal(content, _registry.Blobs[(Repository, Digest.Sha256Of(content))]);
        Assert.Equal("{}"u8.ToArray(), _registry.Blobs[(Repository, OciReferrers.EmptyConfig.Digest)]);

        // And the fallback tag sha256-<hex> holds an index listing it with its artifact type and annotations
        var index = _registry.Find(Repository, subject.Digest.ToReferrersTag())!;
        Assert.Equal(MediaTypes.OciIndex, index.MediaType);
        var listed = Assert.Single(await OciReferrers.ListAsync(_registry, Repository, subject.Digest));
        Assert.Equal(referrer.Digest, listed.Digest);
        Assert.Equal(stored.Content.Length, listed.Descriptor.Size);
        Assert.Equal(SpdxDocument.MediaType, listed.ArtifactType);
        Assert.Equal("2025-03-14T15:09:26Z", listed.Annotations[OciReferrers.CreatedAnnotation]);
    }

    [Fact]
    public async Task AddToFallbackIndexAsync_ExistingIndex_AppendsOnlyMissingReferrersAndKeepsUnknownFields()
    {
        // Given a fallback index listing one referrer with a field this code does not know
        var subject = Digest.Sha256Of("subject"u8);
        var first = ReferrerOf("first");
        var existing = $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciIndex}}","manifests":[{"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{first.Digest}}","size":100,"artifactType":"application/vnd.dev.cosign","x-extra":"kept"}]}""";
        _registry.Store(Repository, Encoding.UTF8.GetBytes(existing), MediaTypes.OciIndex, subject.ToReferrersTag());

        // When that referrer and a new one are added
        var written = await OciReferrers.AddToFallbackIndexAsync(_registry, Repository, subject, [first, ReferrerOf("second")]);

        // Then the index lists both, the first as it was, in order, under the tag
        Assert.True(written);
        var put = Assert.Single(_registry.Puts);
        Assert.Equal(subject.ToReferrersTag(), put.Reference);
        Assert.Equal(MediaTypes.OciIndex, put.MediaType);
        using var index = JsonDocument.Parse(put.Content);
        var manifests = index.RootElement.GetProperty("manifests").EnumerateArray().ToList();
        Assert.Equal([first.Digest.ToString(), ReferrerOf("second").Digest.ToString()], manifests.Select(m => m.GetProperty("digest").GetString()));
        Assert.Equal("kept", manifests[0].GetProperty("x-extra").GetString());
        Assert.Equal("application/vnd.dev.cosign", manifests[0].GetProperty("artifactType").GetString());
        Assert.Equal("second", manifests[1].GetProperty("annotations").GetProperty("k").GetString());
    }

    [Fact]
    public async Task AddToFallbackIndexAsync_AlreadyListed_WritesNothing()
    {
        // Given a fallback index that already lists the referrer
        var subject = Digest.Sha256Of("subject"u8);
        await OciReferrers.AddToFallbackIndexAsync(_registry, Repository, subject, [ReferrerOf("first")]);
        _registry.Puts.Clear();

        // When it is added again
        var written = await OciReferrers.AddToFallbackIndexAsync(_registry, Repository, subject, [ReferrerOf("first")]);

        // Then nothing is put
        Assert.False(written);
        Assert.Empty(_registry.Puts);
    }

    [Fact]
    public async Task ListAsync_NoFallbackTag_Empty()
    {
        // Given a subject nothing refers to
        // When its referrers are listed
        var listed = await OciReferrers.ListAsync(_registry, Repository, Digest.Sha256Of("lonely"u8));

        // Then there are none
        Assert.Empty(listed);
    }

    [Fact]
    public async Task ListAsync_FallbackTagIsAnImageManifest_JobFailedSayingToDeleteTheTag()
    {
        // Given a fallback tag that points at an image manifest, not an index
        var subject = Digest.Sha256Of("subject"u8);
        _registry.AddManifest(Repository, "wrong", subject.ToReferrersTag());

        // When the referrers are listed
        var error = await Assert.ThrowsAsync<JobFailedException>(() => OciReferrers.ListAsync(_registry, Repository, subject));

        // Then the message says which tag is wrong and what to do
        Assert.Contains(subject.ToReferrersTag(), error.Message, StringComparison.Ordinal);
        Assert.Contains("delete that tag", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PushArtifactAsync_RegistryWithApi_WritesNoFallbackTag()
    {
        // Given a registry with the referrers API
        var subject = SeedSubject();
        var withApi = new WithReferrersApi(_registry);

        // When an artifact is pushed
        var referrer = await OciReferrers.PushArtifactAsync(withApi, Repository, subject, SpdxDocument.MediaType, SpdxDocument.MediaType, "{}"u8.ToArray());

        // Then the manifest is there, and no fallback tag was written (the registry indexes the subject itself)
        Assert.True(_registry.Has(Repository, referrer.Digest.ToString()));
        Assert.False(_registry.Has(Repository, subject.Digest.ToReferrersTag()));
    }

    [Fact]
    public void CreateArtifactManifest_SameInputs_SameBytes()
    {
        // Given one layer and subject, annotations in two insertion orders
        var layer = new Descriptor(SpdxDocument.MediaType, Digest.Sha256Of("sbom"u8), 4);
        var subject = new Descriptor(MediaTypes.DockerManifest, Digest.Sha256Of("image"u8), 500);

        // When the manifest is made twice
        var first = OciReferrers.CreateArtifactManifest(SpdxDocument.MediaType, layer, subject, new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" });
        var second = OciReferrers.CreateArtifactManifest(SpdxDocument.MediaType, layer, subject, new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" });

        // Then the bytes are the same, and the subject keeps its Docker media type
        Assert.Equal(first, second);
        Assert.Contains($"\"subject\":{{\"mediaType\":\"{MediaTypes.DockerManifest}\"", Encoding.UTF8.GetString(first), StringComparison.Ordinal);
    }

    // A registry with the referrers API: lists nothing of its own, which is enough to say the API exists.
    private sealed class WithReferrersApi(FakeRegistry inner) : IRegistryClient
    {
        public RegistryEndpoint Endpoint => inner.Endpoint;

        public Task<IReadOnlyList<Referrer>?> GetReferrersAsync(string repository, Digest subject, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<Referrer>?>([]);

        public Task<bool> PingAsync(CancellationToken cancellationToken = default) => inner.PingAsync(cancellationToken);

        public Task<Descriptor?> HeadManifestAsync(string repository, string reference, CancellationToken cancellationToken = default) => inner.HeadManifestAsync(repository, reference, cancellationToken);

        public Task<ManifestContent> GetManifestAsync(string repository, string reference, CancellationToken cancellationToken = default) => inner.GetManifestAsync(repository, reference, cancellationToken);

        public Task<Digest> PutManifestAsync(string repository, string reference, ReadOnlyMemory<byte> content, string mediaType, CancellationToken cancellationToken = default) => inner.PutManifestAsync(repository, reference, content, mediaType, cancellationToken);

        public Task DeleteManifestAsync(string repository, Digest digest, CancellationToken cancellationToken = default) => inner.DeleteManifestAsync(repository, digest, cancellationToken);

        public Task<long?> HeadBlobAsync(string repository, Digest digest, CancellationToken cancellationToken = default) => inner.HeadBlobAsync(repository, digest, cancellationToken);

        public Task<Stream> OpenBlobAsync(string repository, Digest digest, CancellationToken cancellationToken = default) => inner.OpenBlobAsync(repository, digest, cancellationToken);

        public Task UploadBlobAsync(string repository, Digest digest, long size, Stream content, CancellationToken cancellationToken = default) => inner.UploadBlobAsync(repository, digest, size, content, cancellationToken);

        public Task<bool> MountBlobAsync(string repository, Digest digest, string fromRepository, CancellationToken cancellationToken = default) => inner.MountBlobAsync(repository, digest, fromRepository, cancellationToken);

        public Task<IReadOnlyList<string>> ListTagsAsync(string repository, CancellationToken cancellationToken = default) => inner.ListTagsAsync(repository, cancellationToken);
    }
}
