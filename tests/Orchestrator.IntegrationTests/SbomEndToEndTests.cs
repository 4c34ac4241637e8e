using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ProcessWitness;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// The SBOM of a build, end to end through the CLI against the real engine and registries: attached in
/// staging under the referrers fallback tag, and carried to production by the promotion. Every outcome
/// is read back with skopeo and plain HTTP, not with the product.
/// </summary>
[Collection(RealPartsCollection.Name)]
[Trait("Category", "Integration")]
public sealed class SbomEndToEndTests(RealPartsFixture fixture)
{
    private const string Staging = TestWorkspace.Staging;
    private const string Production = TestWorkspace.Production;
    private const string Spdx = "application/spdx+json";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private string Config => fixture.Workspace.ConfigPath;

    [Fact]
    public async Task BuildThenRun_HelloPipeline_SbomListsHelloInStagingAndReachesProduction()
    {
        // Given a pipeline on the slim base pinning hello=2.10-3
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-sbom");
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);

        // When it is built
        var build = await CliRunner.RunAsync(Config, "build", name, "--json");

        // Then the result names an SBOM, which staging lists under the digest's fallback tag as SPDX
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("attaching SBOM (", build.Stderr, StringComparison.Ordinal);
        var digest = build.Json.GetProperty("digest").GetString()!;
        var sbom = build.Json.GetProperty("sbom").GetString()!;
        var staged = await ReferrersAsync(Staging, repository, digest);
        Assert.Contains((sbom, Spdx), staged);

        // And that referrer is an OCI artifact about the digest whose SPDX document lists hello 2.10-3 from Debian
        using var manifest = JsonDocument.Parse(await SkopeoRawAsync($"{Staging}/{repository}@{sbom}"));
        Assert.Equal(Spdx, manifest.RootElement.GetProperty("artifactType").GetString());
        Assert.Equal(digest, manifest.RootElement.GetProperty("subject").GetProperty("digest").GetString());
        var layer = manifest.RootElement.GetProperty("layers")[0].GetProperty("digest").GetString()!;
        using var document = JsonDocument.Parse(await Http.GetByteArrayAsync($"http://{Staging}/v2/{repository}/blobs/{layer}"));
        Assert.Equal("SPDX-2.3", document.RootElement.GetProperty("spdxVersion").GetString());
        var hello = document.RootElement.GetProperty("packages").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "hello");
        Assert.Equal("2.10-3", hello.GetProperty("versionInfo").GetString());
        Assert.Equal("Organization: Debian", hello.GetProperty("supplier").GetString());
        Assert.Contains(document.RootElement.GetProperty("packages").EnumerateArray(), p => p.GetProperty("name").GetString() == "dpkg");

        // When it runs through every stage
        var run = await CliRunner.RunAsync(Config, "run", name, "--json");

        // Then production lists, under the promoted digest's fallback tag, the very referrers staging has
        Assert.True(run.ExitCode == 0, run.ToString());
        var promoted = run.Json.GetProperty("digest").GetString()!;
        var inStaging = await ReferrersAsync(Staging, repository, promoted);
        var inProduction = await ReferrersAsync(Production, repository, promoted);
        Assert.Contains(inStaging, r => r.ArtifactType == Spdx);
        Assert.Equal(inStaging.Order(), inProduction.Order());
        foreach (var (referrer, _) in inProduction)
        {
            // skopeo refuses image operations on artifacts, so the raw bytes are hashed instead.
            var raw = Encoding.UTF8.GetBytes(await SkopeoRawAsync($"{Production}/{repository}@{referrer}"));
            Assert.Equal(referrer, $"sha256:{Convert.ToHexStringLower(SHA256.HashData(raw))}");
        }
    }

    // The referrers fallback index (distribution 2.8 has no referrers API), as skopeo reads it.
    private static async Task<List<(string Digest, string? ArtifactType)>> ReferrersAsync(string registry, string repository, string digest)
    {
        var tag = digest.Replace(':', '-');
        using var index = JsonDocument.Parse(await SkopeoRawAsync($"{registry}/{repository}:{tag}"));
        Assert.Equal("application/vnd.oci.image.index.v1+json", index.RootElement.GetProperty("mediaType").GetString());
        return index.RootElement.GetProperty("manifests").EnumerateArray()
            .Select(m => (m.GetProperty("digest").GetString()!, m.TryGetProperty("artifactType", out var type) ? type.GetString() : null))
            .ToList();
    }

    private static async Task<string> SkopeoRawAsync(string reference)
    {
        var result = await RunAsync("skopeo", "inspect", "--tls-verify=false", "--raw", $"docker://{reference}");
        Assert.True(result.ExitCode == 0, $"skopeo inspect --raw {reference} failed: {result.Stderr}");
        return result.Stdout;
    }
}
