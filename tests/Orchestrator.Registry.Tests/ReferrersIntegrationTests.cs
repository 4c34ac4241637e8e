using System.Diagnostics;
using System.Text.Json;
using Orchestrator.Core.Images;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;
using static Orchestrator.Registry.Tests.SyntheticImages;

namespace Orchestrator.Registry.Tests;

[Trait("Category", "Integration")]
[Collection(RegistryIntegrationCollection.Name)]
public sealed class ReferrersIntegrationTests : IDisposable
{
    private static readonly DateTimeOffset Created = new(2025, 3, 14, 15, 9, 26, TimeSpan.Zero);

    private readonly RegistryClientFactory _factory = new();
    private readonly IRegistryClient _staging;
    private readonly IRegistryClient _production;

    public ReferrersIntegrationTests()
    {
        _staging = _factory.Create(Staging);
        _production = _factory.Create(Production);
    }

    public void Dispose() => _factory.Dispose();

    private static async Task<Referrer> AttachSbomAsync(IRegistryClient client, string repository, PushedImage image)
    {
        var document = SpdxDocument.Create(
            ImageReference.Create(client.Endpoint.Host, repository, digest: image.Digest), [new DpkgPackage("hello", "2.10-3", "amd64")], Created);
        return await ArtifactPublisher.PushAsync(
            client, repository, new Descriptor(image.MediaType, image.Digest, image.Manifest.Length), SpdxDocument.MediaType, SpdxDocument.MediaType, document.ToJson(),
            new Dictionary<string, string> { [ArtifactManifest.CreatedAnnotation] = "2025-03-14T15:09:26Z" });
    }

    private static async Task AddIndexAsync(Cleanup cleanup, IRegistryClient client, string repository, Digest subject)
    {
        if (await client.HeadManifestAsync(repository, subject.ToReferrersTag()) is { } index)
        {
            cleanup.Add(client, repository, index.Digest);
        }
    }

    [Fact]
    public async Task PushArtifactAsync_Distribution28_ManifestAcceptedUnchangedAndFallbackTagListsIt()
    {
        // Given an image in staging (distribution 2.8: no referrers API)
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var image = await PushImageAsync(_staging, repository, [1000]);
        cleanup.Add(_staging, repository, image);

        // When an SBOM is attached to it
        var referrer = await AttachSbomAsync(_staging, repository, image);
        cleanup.Add(_staging, repository, referrer.Digest);
        await AddIndexAsync(cleanup, _staging, repository, image.Digest);

        // Then the registry has no referrers API, and stored the OCI 1.1 manifest (subject, artifactType) byte for byte
        Assert.Null(await _staging.GetReferrersAsync(repository, image.Digest));
        Assert.Equal(referrer.Digest, await SkopeoDigestAsync($"127.0.0.1:5001/{repository}@{referrer.Digest}"));

        // And skopeo, reading the fallback tag sha256-<hex>, sees an OCI index listing the SBOM with its artifact type
        var raw = await SkopeoRawAsync($"127.0.0.1:5001/{repository}:{image.Digest.ToReferrersTag()}");
        using var index = JsonDocument.Parse(raw);
        Assert.Equal(MediaTypes.OciIndex, index.RootElement.GetProperty("mediaType").GetString());
        var entry = Assert.Single(index.RootElement.GetProperty("manifests").EnumerateArray());
        Assert.Equal(referrer.Digest.ToString(), entry.GetProperty("digest").GetString());
        Assert.Equal(SpdxDocument.MediaType, entry.GetProperty("artifactType").GetString());
        Assert.Equal("2025-03-14T15:09:26Z", entry.GetProperty("annotations").GetProperty(ArtifactManifest.CreatedAnnotation).GetString());
    }

    [Fact]
    public async Task CopyAsync_SubjectWithSbom_ProductionGetsTheSameReferrerUnderItsFallbackTag()
    {
        // Given an image in staging with an SBOM attached
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var image = await PushImageAsync(_staging, repository, [2000], docker: true);
        cleanup.Add(_staging, repository, image);
        cleanup.Add(_production, repository, image);
        var referrer = await AttachSbomAsync(_staging, repository, image);
        cleanup.Add(_staging, repository, referrer.Digest);
        cleanup.Add(_production, repository, referrer.Digest);
        await AddIndexAsync(cleanup, _staging, repository, image.Digest);
        var copier = new ImageCopier(_factory);

        // When it is planned, then promoted with a tag
        var plan = await copier.PlanAsync(new CopyRequest(Staging, repository, image.Digest, Production, repository, ["1.0"]));
        var result = await copier.CopyAsync(plan);
        await AddIndexAsync(cleanup, _production, repository, image.Digest);

        // Then the plan listed the referrer as missing in production, with the SBOM and empty config blobs to copy
        var planned = Assert.Single(plan.Referrers);
        Assert.Equal(referrer.Digest, planned.Digest);
        Assert.False(planned.PresentInTarget);
        Assert.False(planned.ListedInTarget);
        Assert.Equal(2, planned.BlobsToCopy.Count);
        Assert.Equal(1, result.ReferrersCopied);

        // And production serves the same referrer digest, listed under its fallback tag, as skopeo reads them
        Assert.Equal(referrer.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}@{referrer.Digest}"));
        using var index = JsonDocument.Parse(await SkopeoRawAsync($"127.0.0.1:5002/{repository}:{image.Digest.ToReferrersTag()}"));
        var entry = Assert.Single(index.RootElement.GetProperty("manifests").EnumerateArray());
        Assert.Equal(referrer.Digest.ToString(), entry.GetProperty("digest").GetString());
        Assert.Equal(SpdxDocument.MediaType, entry.GetProperty("artifactType").GetString());
        Assert.Equal(image.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:1.0"));

        // And promoting again plans the referrer as present and listed, and copies nothing
        var again = await copier.PlanAsync(new CopyRequest(Staging, repository, image.Digest, Production, repository, ["1.0"]));
        var second = Assert.Single(again.Referrers);
        Assert.True(second.PresentInTarget);
        Assert.True(second.ListedInTarget);
        Assert.Empty(second.BlobsToCopy);
        Assert.Equal(0, again.BytesToCopy);
        Assert.Equal(0, (await copier.CopyAsync(again)).ReferrersCopied);
    }

    private static async Task<byte[]> SkopeoRawAsync(string reference)
    {
        var start = new ProcessStartInfo("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://" + reference])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        using var output = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        await copy;
        Assert.True(process.ExitCode == 0, $"skopeo inspect {reference} failed: {await error}");
        return output.ToArray();
    }
}
