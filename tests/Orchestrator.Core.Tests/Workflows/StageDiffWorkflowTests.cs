using System.Text;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Images;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;
using Orchestrator.Core.Signing;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class StageDiffWorkflowTests : IDisposable
{
    private static readonly Digest BaseV1 = Digest.Sha256Of("base v1"u8);
    private static readonly Digest BaseV2 = Digest.Sha256Of("base v2"u8);

    private readonly WorkflowHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private StageDiffWorkflow Workflow() =>
        new(new FixedWorkspace(_harness.Workspace), _harness.Registries, _harness.Workflows.Releases);

    // An image manifest with its config blob (base labels) and layers of the given sizes, tagged 1.0 and 1.0.0,
    // and, unless sbom is null, an SPDX referrer listing those packages.
    private static async Task<(Digest Digest, long Size)> PushAsync(FakeRegistry registry, string seed, Digest baseDigest, long[] layers, SpdxInput? sbom)
    {
        var labels = $$"""{"org.opencontainers.image.base.name":"127.0.0.1:5001/base/debian-bookworm:slim","org.opencontainers.image.base.digest":"{{baseDigest}}","seed":"{{seed}}"}""";
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Labels\":" + labels + "}}");
        var configDigest = Digest.Sha256Of(config);
        registry.Blobs[(WorkflowHarness.PipelineRepository, configDigest)] = config;
        var layerJson = string.Join(",", layers.Select((size, i) =>
            $$"""{"mediaType":"{{MediaTypes.OciLayerGzip}}","digest":"{{Digest.Sha256Of(Encoding.UTF8.GetBytes(seed + i))}}","size":{{size}}}"""));
        var manifest = Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"{{MediaTypes.OciConfig}}","digest":"{{configDigest}}","size":{{config.Length}}},"layers":[{{layerJson}}]}
            """);
        var digest = registry.Store(WorkflowHarness.PipelineRepository, manifest, MediaTypes.OciManifest, "1.0", "1.0.0");
        if (sbom is not null)
        {
            var image = ImageReference.Create(registry.Endpoint.Host, WorkflowHarness.PipelineRepository, digest: digest);
            var document = SpdxDocument.Create(image, sbom.Apt, DateTimeOffset.UnixEpoch, sbom.Python).ToJson();
            await ArtifactPublisher.PushAsync(registry, WorkflowHarness.PipelineRepository, new Descriptor(MediaTypes.OciManifest, digest, manifest.Length),
                SpdxDocument.MediaType, SpdxDocument.MediaType, document);
        }

        return (digest, layers.Sum() + config.Length);
    }

    private sealed record SpdxInput(DpkgPackage[] Apt, PypiPackage[] Python);

    [Fact]
    public async Task CompareAsync_StagingNewerThanProduction_ListsPackageChangesSizeChangeAndBaseChange()
    {
        // Given production serving v1 and staging v2: hello upgraded, oldpkg gone, curl new, greet upgraded, on a new base
        var (production, productionSize) = await PushAsync(_harness.Production, "v1", BaseV1, [1000, 3000],
            new SpdxInput([new("hello", "2.10-2", "amd64"), new("oldpkg", "1.0-1", "all"), new("libc6", "2.36-9", "amd64")], [new("greet", "1.0.0", null)]));
        var (staging, stagingSize) = await PushAsync(_harness.Staging, "v2", BaseV2, [1000, 5000],
            new SpdxInput([new("hello", "2.10-3", "amd64"), new("curl", "7.88.1-10", "amd64"), new("libc6", "2.36-9", "amd64")], [new("greet", "1.1.0", null)]));
        _harness.Staging.Store(WorkflowHarness.PipelineRepository, Encoding.UTF8.GetBytes("{\"signature\":1}"), MediaTypes.OciManifest, CosignSignatureManifest.TagFor(staging));

        // When what a promotion from staging to production would change is asked
        var diff = await Workflow().CompareAsync("hello", "staging", "production");

        // Then both digests are the registries', the packages changes go from production's to staging's
        Assert.Equal(staging, diff.FromImage!.Digest);
        Assert.Equal(production, diff.ToImage!.Digest);
        Assert.False(diff.SameDigest);
        Assert.Equal([new PackageChange("curl", "amd64", null, "7.88.1-10", PackageChangeKind.Added)], diff.Apt!.Added);
        Assert.Equal([new PackageChange("oldpkg", "all", "1.0-1", null, PackageChangeKind.Removed)], diff.Apt.Removed);
        Assert.Equal([new PackageChange("hello", "amd64", "2.10-2", "2.10-3", PackageChangeKind.Upgraded)], diff.Apt.Upgraded);
        Assert.Equal([new PackageChange("greet", null, "1.0.0", "1.1.0", PackageChangeKind.Upgraded)], diff.Python!.Upgraded);

        // And the sizes are the manifests' (layers plus config), the change in bytes and percent of production's
        Assert.Equal(stagingSize, diff.FromImage.SizeBytes);
        Assert.Equal(productionSize, diff.ToImage.SizeBytes);
        Assert.Equal(stagingSize - productionSize, diff.SizeChangeBytes);
        Assert.Equal(Math.Round((stagingSize - productionSize) * 100.0 / productionSize, 1), diff.SizeChangePercent);

        // And the base change is read from the config labels, the signature from cosign's tag
        Assert.True(diff.BaseChanged);
        Assert.Equal(BaseV2, diff.FromImage.BaseDigest);
        Assert.Equal(BaseV1, diff.ToImage.BaseDigest);
        Assert.Equal("127.0.0.1:5001/base/debian-bookworm:slim", diff.FromImage.BaseName);
        Assert.True(diff.FromImage.Signed);
        Assert.False(diff.ToImage.Signed);
    }

    [Fact]
    public async Task CompareAsync_ProductionEmpty_EveryPackageIsAddedAndTheSizeChangeIsTheWholeImage()
    {
        // Given staging serving an image and production nothing
        var (_, size) = await PushAsync(_harness.Staging, "v1", BaseV1, [2048],
            new SpdxInput([new("hello", "2.10-3", "amd64")], [new("greet", "1.0.0", null)]));

        // When compared
        var diff = await Workflow().CompareAsync("hello", "staging", "production");

        // Then everything is new, nothing is a base change, and there is no percentage of nothing
        Assert.Null(diff.ToImage);
        Assert.Equal(["hello"], diff.Apt!.Added.Select(c => c.Name));
        Assert.Equal(["greet"], diff.Python!.Added.Select(c => c.Name));
        Assert.Equal(size, diff.SizeChangeBytes);
        Assert.Null(diff.SizeChangePercent);
        Assert.False(diff.BaseChanged);
    }

    [Fact]
    public async Task CompareAsync_OneSideWithoutSbom_PackagesUnknownAndTheProblemNamed()
    {
        // Given production's image pushed without an SBOM
        await PushAsync(_harness.Production, "v1", BaseV1, [1000], sbom: null);
        await PushAsync(_harness.Staging, "v2", BaseV1, [1000], new SpdxInput([new("hello", "2.10-3", "amd64")], []));

        // When compared
        var diff = await Workflow().CompareAsync("hello", "staging", "production");

        // Then no package list is made up, and the page can say why
        Assert.Null(diff.Apt);
        Assert.Null(diff.Python);
        Assert.Contains("has no SPDX SBOM attached", diff.ToImage!.SbomProblem, StringComparison.Ordinal);
        Assert.Null(diff.FromImage!.SbomProblem);
        Assert.False(diff.BaseChanged);
    }

    [Fact]
    public async Task CompareAsync_SameDigestInBothStages_NoChange()
    {
        var sbom = new SpdxInput([new("hello", "2.10-3", "amd64")], []);
        await PushAsync(_harness.Staging, "v1", BaseV1, [1000], sbom);
        await PushAsync(_harness.Production, "v1", BaseV1, [1000], sbom);

        var diff = await Workflow().CompareAsync("hello", "staging", "production");

        Assert.True(diff.SameDigest);
        Assert.True(diff.Apt!.IsEmpty);
        Assert.Equal(0, diff.SizeChangeBytes);
        Assert.False(diff.BaseChanged);
    }

    [Fact]
    public async Task CompareAsync_SbomBlobWithOtherBytes_IsNotBelieved()
    {
        // Given staging's SBOM blob replaced by bytes that do not hash to its digest
        await PushAsync(_harness.Staging, "v1", BaseV1, [1000], new SpdxInput([new("hello", "2.10-3", "amd64")], []));
        var key = _harness.Staging.Blobs.Keys.Single(k => _harness.Staging.Blobs[k].Length > 200 && Encoding.UTF8.GetString(_harness.Staging.Blobs[k]).Contains("SPDX-2.3", StringComparison.Ordinal));
        _harness.Staging.Blobs[key] = """{"spdxVersion":"SPDX-2.3","packages":[]}"""u8.ToArray();

        // When compared
        var diff = await Workflow().CompareAsync("hello", "staging", "production");

        // Then the packages are unknown and the problem says the bytes did not match
        Assert.Null(diff.Apt);
        Assert.Contains("hash to", diff.FromImage!.SbomProblem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("staging", "qa", "no stage named 'qa'")]
    [InlineData("staging", "staging", "both 'staging'")]
    public async Task CompareAsync_BadStages_ThrowsInputExceptionSayingWhat(string from, string to, string expected)
    {
        var error = await Assert.ThrowsAsync<InputException>(() => Workflow().CompareAsync("hello", from, to));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SizeAndSignatureAsync_SignedImage_TotalAndTrue()
    {
        var (digest, size) = await PushAsync(_harness.Staging, "v1", BaseV1, [10, 20], sbom: null);
        _harness.Staging.Store(WorkflowHarness.PipelineRepository, "{}"u8.ToArray(), MediaTypes.OciManifest, CosignSignatureManifest.TagFor(digest));

        Assert.Equal((size, true), await StageDiffWorkflow.SizeAndSignatureAsync(_harness.Staging, WorkflowHarness.PipelineRepository, digest));
        Assert.Equal((null, false), await StageDiffWorkflow.SizeAndSignatureAsync(_harness.Production, WorkflowHarness.PipelineRepository, digest));
    }
}
