using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Orchestrator.Core.Images;
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
        var sbom = await ArtifactPublisher.PushAsync(source, "app", new Descriptor(MediaTypes.OciManifest, image, manifest.Length), SpdxDocument.MediaType, SpdxDocument.MediaType, "{\"spdxVersion\":\"SPDX-2.3\"}"u8.ToArray());
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
        var listed = Assert.Single(await _factory.Create(Target).ListReferrersAsync("app", image));
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
        Assert.Contains(referrer.BlobsToCopy, b => b.Digest == ArtifactManifest.EmptyConfig.Digest && b.Size == 2);
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
}
