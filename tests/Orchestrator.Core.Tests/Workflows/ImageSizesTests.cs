using System.Text;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class ImageSizesTests
{
    [Fact]
    public void Parse_ImageManifest_ListsLayersInOrderAndTotalsThemWithTheConfig()
    {
        // Given an OCI image manifest with two layers
        var a = Digest.Sha256Of("a"u8);
        var b = Digest.Sha256Of("b"u8);
        var manifest = Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
             "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{Digest.Sha256Of("c"u8)}}","size":1500},
             "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{{a}}","size":29150000},
                       {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{{b}}","size":1048576}]}
            """);

        // When its sizes are read
        var size = ImageSizes.Parse(manifest, "apps/x@sha256:…");

        // Then the layers keep the manifest's order, and the total adds the config
        Assert.Equal([new LayerSize(a, 29150000), new LayerSize(b, 1048576)], size.Layers);
        Assert.Equal(29150000 + 1048576 + 1500, size.TotalBytes);
        Assert.Equal("1.0 MiB", ImageSize.Format(1048576));
    }

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(512, "512 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(1024, "1.0 KiB")]
    [InlineData(3500, "3.4 KiB")]
    [InlineData(1048524, "1023.9 KiB")]
    [InlineData(1048575, "1.0 MiB")]
    [InlineData(1048576, "1.0 MiB")]
    [InlineData(76546048, "73.0 MiB")]
    public void Format_AnySize_PicksBKiBOrMiBAndNeverZeroMiB(long bytes, string expected)
    {
        // Given a byte count, When it is formatted for people, Then the unit fits its size
        Assert.Equal(expected, ImageSize.Format(bytes));
    }

    [Fact]
    public void Parse_ImageIndex_ThrowsJobFailedExceptionNamingWhatToDo()
    {
        var index = """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"""u8.ToArray();
        var error = Assert.Throws<JobFailedException>(() => ImageSizes.Parse(index, "apps/x:1.0"));
        Assert.Contains("apps/x:1.0 is not an image manifest", error.Message, StringComparison.Ordinal);
    }
}
