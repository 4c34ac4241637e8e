using System.Text;
using System.Net;
using System.Text.Json;
using Orchestrator.Core.Images;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Sbom;

public sealed class SbomWorkflowTests : IDisposable
{
    private const string DpkgOutput =
        "hello\t2.10-3\tamd64\tinstall ok installed\n"
        + "bash\t5.2.15-2+b2\tamd64\tinstall ok installed\n"
        + "gone\t1.0\tamd64\tdeinstall ok config-files\n";

    private readonly WorkflowHarness _harness = new() { AutoLock = true };

    public SbomWorkflowTests()
    {
        _harness.SeedBase();
        _harness.Engine.DpkgScript = _ => new ContainerScript(0, DpkgOutput);
    }

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task BuildAsync_Pushed_AttachesAnSbomListingTheInstalledPackagesToTheDigest()
    {
        // Given a base in staging and an image whose dpkg status lists two installed packages
        // When the pipeline is built
        var result = await _harness.Workflows.Builds.BuildAsync("hello");

        // Then staging's fallback tag for the digest lists one SPDX referrer, the one the result names
        var referrer = Assert.Single(await _harness.Staging.ListReferrersAsync(WorkflowHarness.PipelineRepository, result.Digest));
        Assert.Equal(SpdxDocument.MediaType, referrer.ArtifactType);
        Assert.Equal(result.SbomDigest, referrer.Digest);

        // And its layer is an SPDX document of exactly the installed packages, created at the lock's source date (so a rebuild gives the same SBOM)
        using var manifest = JsonDocument.Parse(_harness.Staging.Find(WorkflowHarness.PipelineRepository, referrer.Digest.ToString())!.Content);
        var layer = Digest.Parse(manifest.RootElement.GetProperty("layers")[0].GetProperty("digest").GetString()!);
        using var sbom = JsonDocument.Parse(_harness.Staging.Blobs[(WorkflowHarness.PipelineRepository, layer)]);
        var packages = sbom.RootElement.GetProperty("packages").EnumerateArray().Skip(1)
            .Select(p => (p.GetProperty("name").GetString(), p.GetProperty("versionInfo").GetString())).ToList();
        Assert.Equal([("bash", "5.2.15-2+b2"), ("hello", "2.10-3")], packages);
        Assert.Equal($"{WorkflowHarness.PipelineRepository}@{result.Digest}", sbom.RootElement.GetProperty("name").GetString());
        Assert.Equal("2024-09-01T00:00:00Z", sbom.RootElement.GetProperty("creationInfo").GetProperty("created").GetString());
        Assert.Contains(_harness.Reporter.Steps, s => s.StartsWith("attaching SBOM (2 packages)", StringComparison.Ordinal));
        Assert.Equal(result.SbomDigest!.ToString(), JsonSerializer.SerializeToElement(ResultDocuments.Build(result), Orchestrator.Core.Jobs.Documents.ResultJsonContext.Default.BuildDocument).GetProperty("sbom").GetString());
    }

    [Fact]
    public async Task BuildAsync_Pushed_ReadsDpkgStatusInALockedDownContainerFromTheExactDigest()
    {
        // Given a base in staging
        // When the pipeline is built
        var result = await _harness.Workflows.Builds.BuildAsync("hello");

        // Then dpkg-query ran from the pushed digest, with no network, no capabilities, read-only, and was removed
        var spec = Assert.Single(_harness.Engine.CreatedContainers);
        Assert.Equal(result.Reference.ToString(), spec.Image);
        Assert.Equal(["dpkg-query"], spec.Entrypoint);
        Assert.Equal(["-W", "-f", DpkgStatus.QueryFormat], spec.Cmd);
        Assert.Equal("none", spec.NetworkMode);
        Assert.True(spec.CapDropAll);
        Assert.True(spec.ReadonlyRootfs);
        Assert.Equal(["c1"], _harness.Engine.RemovedContainers);
        // And the image was pulled by that digest (the build pushed it without the engine) before the container was created
        Assert.True(_harness.Engine.Calls.IndexOf($"Pull {result.Reference}") is var pull && pull >= 0 && pull < _harness.Engine.Calls.IndexOf("CreateContainer c1"));
    }

    [Fact]
    public async Task BuildAsync_AttachFails_JobFailedAndNothingRecorded()
    {
        // Given a staging registry that refuses the SBOM's blob uploads
        _harness.Staging.UploadFailure = bytes => Encoding.UTF8.GetString(bytes).Contains("SPDX", StringComparison.Ordinal)
            ? new RegistryException("fake: upload refused", HttpStatusCode.Forbidden, "DENIED")
            : null;

        // When the pipeline is built
        var error = await Assert.ThrowsAsync<JobFailedException>(() => _harness.Workflows.Builds.BuildAsync("hello"));

        // Then the build fails naming the SBOM and the cause, and no pipeline build is recorded
        Assert.Contains("SBOM could not be attached", error.Message, StringComparison.Ordinal);
        Assert.Contains("upload refused", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_harness.State.Builds, b => b.Kind == "pipeline");
    }

    [Fact]
    public async Task BuildAsync_DpkgQueryFails_JobFailedSayingTheImageNeedsDpkg()
    {
        // Given an image where dpkg-query fails
        _harness.Engine.DpkgScript = _ => new ContainerScript(1, Stderr: "dpkg-query: not found");

        // When the pipeline is built
        var error = await Assert.ThrowsAsync<JobFailedException>(() => _harness.Workflows.Builds.BuildAsync("hello"));

        // Then the message names the exit code and what the image needs; the container is removed anyway
        Assert.Contains("dpkg-query exited 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("needs dpkg", error.Message, StringComparison.Ordinal);
        Assert.Equal(["c1"], _harness.Engine.RemovedContainers);
        Assert.DoesNotContain(_harness.State.Builds, b => b.Kind == "pipeline");
    }
}
