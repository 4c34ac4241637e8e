using System.Text;
using Orchestrator.Core.Images;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;

namespace Orchestrator.Core.Tests.Images;

public sealed class ArtifactManifestTests
{
    [Fact]
    public void Create_SameInputs_SameBytes()
    {
        // Given one layer and subject, annotations in two insertion orders
        var layer = new Descriptor(SpdxDocument.MediaType, Digest.Sha256Of("sbom"u8), 4);
        var subject = new Descriptor(MediaTypes.DockerManifest, Digest.Sha256Of("image"u8), 500);

        // When the manifest is made twice
        var first = ArtifactManifest.Create(SpdxDocument.MediaType, layer, subject, new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" });
        var second = ArtifactManifest.Create(SpdxDocument.MediaType, layer, subject, new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" });

        // Then the bytes are the same, and the subject keeps its Docker media type
        Assert.Equal(first, second);
        Assert.Contains($"\"subject\":{{\"mediaType\":\"{MediaTypes.DockerManifest}\"", Encoding.UTF8.GetString(first), StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyConfig_IsTheDigestOfItsContent()
    {
        // Given the empty config descriptor and its content
        // When the content is hashed
        var digest = Digest.Sha256Of(ArtifactManifest.EmptyConfigContent.Span);

        // Then it is the descriptor's digest and size (image spec "Guidance for an Empty Descriptor")
        Assert.Equal(ArtifactManifest.EmptyConfig.Digest, digest);
        Assert.Equal(ArtifactManifest.EmptyConfigContent.Length, ArtifactManifest.EmptyConfig.Size);
    }
}
