using System.Security.Cryptography;
using System.Text;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Locks;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class BaseImageWorkflowTests : IDisposable
{
    private const string UpstreamHost = "127.0.0.1:5009";
    private const string Target = WorkflowHarness.StagingHost + "/" + WorkflowHarness.BaseRepository;

    private readonly WorkflowHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task BuildAsync_Debootstrap_PushesOneNormalizedLayerWithBashCmdAsRepoColonVariant()
    {
        // Given a debootstrap variant
        // When it is built
        var result = await _harness.Workflows.Bases.BuildAsync("debian-bookworm/slim");

        // Then the builder's tar became the single layer of an OCI image pushed under the variant tag, without the engine
        Assert.Equal([("debian-bookworm", "slim", _harness.Config.WorkDirectory)], _harness.Rootfs.Calls);
        Assert.Empty(_harness.Engine.Calls);
        var manifest = _harness.Staging.Find(WorkflowHarness.BaseRepository, "slim")!;
        Assert.Equal(MediaTypes.OciManifest, manifest.MediaType);
        Assert.Equal(manifest.Digest, result.Digest);
        Assert.Equal($"{Target}@{manifest.Digest}", result.Reference.ToString());
        var (_, layers) = Orchestrator.Core.Images.OciImage.ReadManifest(manifest.Content.Span);
        var layer = TestTars.Read(TestTars.Gunzip(_harness.Staging.Blobs[(WorkflowHarness.BaseRepository, Assert.Single(layers).Digest)]));
        Assert.Equal(["bin/sh", "etc/os-release"], layer.Select(e => e.Name));
        var config = PushedConfig();
        Assert.Equal(["bash"], config.GetProperty("config").GetProperty("Cmd").EnumerateArray().Select(c => c.GetString()));
        Assert.True(result.Built);
        Assert.Equal("slim", result.Tag);
        Assert.Equal("debian-bookworm/slim", result.Base);
    }

    [Fact]
    public async Task BuildAsync_SameRootFilesystemTwice_SameDigestDatedTheSourceDate()
    {
        // Given a builder whose files carry a 2030 modification time and a 2024 source date
        // When the same variant is built twice, an hour apart
        var first = await _harness.Workflows.Bases.BuildAsync("debian-bookworm/slim");
        _harness.Time.Now += TimeSpan.FromHours(1);
        var second = await _harness.Workflows.Bases.BuildAsync("debian-bookworm/slim");

        // Then both builds have one digest, the config is dated the source date, and every file time is clamped to it
        Assert.Equal(first.Digest, second.Digest);
        var config = PushedConfig();
        Assert.Equal("2024-06-01T00:00:00Z", config.GetProperty("created").GetString());
        var (_, layers) = Orchestrator.Core.Images.OciImage.ReadManifest(_harness.Staging.Find(WorkflowHarness.BaseRepository, "slim")!.Content.Span);
        var layer = TestTars.Read(TestTars.Gunzip(_harness.Staging.Blobs[(WorkflowHarness.BaseRepository, Assert.Single(layers).Digest)]));
        Assert.All(layer, e => Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(FakeRootfsBuilder.SourceDateEpoch), e.Entry.ModificationTime));
    }

    private System.Text.Json.JsonElement PushedConfig(string variant = "slim")
    {
        var manifest = _harness.Staging.Find(WorkflowHarness.BaseRepository, variant)!;
        var (config, _) = Orchestrator.Core.Images.OciImage.ReadManifest(manifest.Content.Span);
        return System.Text.Json.JsonDocument.Parse(_harness.Staging.Blobs[(WorkflowHarness.BaseRepository, config.Digest)]).RootElement;
    }

    private Dictionary<string, string> PushedLabels(string variant = "slim") =>
        PushedConfig(variant).GetProperty("config").GetProperty("Labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

    [Fact]
    public async Task BuildAsync_Debootstrap_RecordsKindBaseAndDeletesTheScratchTar()
    {
        // Given a debootstrap variant
        // When it is built
        var result = await _harness.Workflows.Bases.BuildAsync("debian-bookworm/full");

        // Then a base record without base digest is stored, and the root filesystem tar and its folder are gone
        var record = Assert.Single(_harness.State.Builds);
        Assert.Equal("base", record.Kind);
        Assert.Equal("debian-bookworm/full", record.Subject);
        Assert.Equal("staging", record.Stage);
        Assert.Equal(["full"], record.Tags);
        Assert.Equal("bookworm", record.Version);
        Assert.Null(record.BaseDigest);
        Assert.Equal(result.Digest, record.Digest);
        Assert.Equal(WorkflowHarness.Actor, record.Actor);
        Assert.Equal(WorkflowHarness.Now, record.At);
        var tar = Assert.Single(_harness.Rootfs.TarPaths);
        Assert.False(File.Exists(tar));
        Assert.False(Directory.Exists(Path.GetDirectoryName(tar)));
    }

    [Fact]
    public async Task BuildAsync_NameOnly_BuildsTheDefaultVariant()
    {
        // Given a base whose default variant is slim
        // When it is built by name only
        var result = await _harness.Workflows.Bases.BuildAsync("debian-bookworm");

        // Then slim was built
        Assert.Equal("slim", result.Tag);
        Assert.Equal("slim", Assert.Single(_harness.Rootfs.Calls).Variant);
    }

    [Fact]
    public async Task BuildAsync_UnknownVariant_InputExceptionListingVariants()
    {
        // Given no variant named tiny
        // When it is built
        var error = await Assert.ThrowsAsync<InputException>(() => _harness.Workflows.Bases.BuildAsync("debian-bookworm/tiny"));

        // Then the variants are listed and nothing ran
        Assert.Contains("its variants: full, slim", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Rootfs.Calls);
    }

    [Fact]
    public async Task BuildAsync_FromUpstream_PlansAndCopiesFromUpstreamThenPutsTheManifestUnderTheVariantTag()
    {
        // Given a variant pinned to an upstream digest on a loopback registry
        var upstream = _harness.Registries.For(UpstreamHost);
        var digest = upstream.AddManifest("library/debian", "upstream bookworm-slim", "bookworm-slim");
        SetFrom("slim", ImageReference.Create(UpstreamHost, "library/debian", digest: digest));

        // When it is built
        var result = await _harness.Workflows.Bases.BuildAsync("debian-bookworm/slim");

        // Then the copier planned upstream → staging by digest, with no tags, and copied that plan
        var request = Assert.Single(_harness.Copier.Planned);
        Assert.Equal(UpstreamHost, request.Source.Host);
        Assert.True(request.Source.PlainHttp);
        Assert.Equal("library/debian", request.SourceRepository);
        Assert.Equal(digest, request.Digest);
        Assert.Equal(WorkflowHarness.StagingHost, request.Target.Host);
        Assert.Equal(WorkflowHarness.BaseRepository, request.TargetRepository);
        Assert.Empty(request.Tags);
        Assert.Same(request, Assert.Single(_harness.Copier.Copied).Request);

        // And the exact manifest bytes were put under the variant tag, so the tag resolves to the upstream digest
        var put = Assert.Single(_harness.Staging.Puts);
        Assert.Equal((WorkflowHarness.BaseRepository, "slim"), (put.Repository, put.Reference));
        Assert.Equal(upstream.Find("library/debian", digest.ToString())!.Content.ToArray(), put.Content);
        Assert.Equal(FakeRegistry.ManifestMediaType, put.MediaType);
        Assert.Equal(digest, _harness.Staging.Find(WorkflowHarness.BaseRepository, "slim")!.Digest);
        Assert.Equal(digest, result.Digest);

        // And no root filesystem was built nor engine used; the record says base
        Assert.Empty(_harness.Rootfs.Calls);
        Assert.Empty(_harness.Engine.Calls);
        Assert.Equal("base", Assert.Single(_harness.State.Builds).Kind);
    }

    [Fact]
    public async Task BuildAsync_FromUpstreamWhenTagAlreadyExists_TagMovesToTheNewDigest()
    {
        // Given staging's slim tag at an older base, and the variant now pinned upstream
        _harness.SeedBase("slim", "older");
        var digest = _harness.Registries.For(UpstreamHost).AddManifest("library/debian", "newer", "bookworm-slim");
        SetFrom("slim", ImageReference.Create(UpstreamHost, "library/debian", digest: digest));

        // When it is built
        await _harness.Workflows.Bases.BuildAsync("debian-bookworm/slim");

        // Then the base tag moved (base tags are moving pointers, unlike production tags)
        Assert.Equal(digest, _harness.Staging.Find(WorkflowHarness.BaseRepository, "slim")!.Digest);
    }

    [Fact]
    public async Task EnsureAsync_TagExists_ReturnsItsDigestWithoutBuilding()
    {
        // Given staging with the slim tag
        var existing = _harness.SeedBase("slim");

        // When ensured
        var result = await _harness.Workflows.Bases.EnsureAsync("debian-bookworm/slim");

        // Then nothing is built, imported, copied or recorded, and the existing digest is returned
        Assert.False(result.Built);
        Assert.Equal(existing.Digest, result.Digest);
        Assert.Empty(_harness.Rootfs.Calls);
        Assert.Empty(_harness.Engine.Calls);
        Assert.Empty(_harness.Copier.Planned);
        Assert.Empty(_harness.State.Builds);
    }

    [Fact]
    public async Task EnsureAsync_TagMissing_Builds()
    {
        // Given staging without the full tag (slim exists)
        _harness.SeedBase("slim");

        // When full is ensured
        var result = await _harness.Workflows.Bases.EnsureAsync("debian-bookworm/full");

        // Then it was built
        Assert.True(result.Built);
        Assert.Equal("full", Assert.Single(_harness.Rootfs.Calls).Variant);
        Assert.Equal(result.Digest, _harness.Staging.Find(WorkflowHarness.BaseRepository, "full")!.Digest);
    }

    [Fact]
    public async Task ResolveAsync_TagMissing_Null()
    {
        // Given an empty staging
        var (image, variant) = _harness.Workspace.GetBaseVariant("debian-bookworm/slim");

        // When resolved
        var resolved = await _harness.Workflows.Bases.ResolveAsync(image, variant);

        // Then there is nothing, and the HEAD asked for the variant tag
        Assert.Null(resolved);
        Assert.Equal([(WorkflowHarness.BaseRepository, "slim")], _harness.Staging.Heads);
    }

    [Fact]
    public async Task BuildAsync_BuilderReportsProvenance_ImportLabelsSayWhatTheBaseWasBuiltFrom()
    {
        // Given a builder reporting a snapshot build with three packages
        var services = _harness.WorkflowsWith(rootfs: new ProvenanceRootfsBuilder(_harness.Rootfs, "20250520T000000Z", "minbase", Packages));

        // When slim is built
        await services.Bases.BuildAsync("debian-bookworm/slim");

        // Then the config's labels record suite, mirrors, snapshot, variant, package checksum and the source date
        var expectedSha = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(PackageLines)));
        var labels = PushedLabels();
        Assert.Equal("bookworm", labels["io.orchestrator.base.suite"]);
        Assert.Equal("http://deb.example/debian", labels["io.orchestrator.base.mirror"]);
        Assert.Equal("http://deb.example/debian-security", labels["io.orchestrator.base.security-mirror"]);
        Assert.Equal("20250520T000000Z", labels["io.orchestrator.base.snapshot"]);
        Assert.Equal("minbase", labels["io.orchestrator.base.variant"]);
        Assert.Equal(expectedSha, labels["io.orchestrator.base.packages-sha256"]);
        Assert.Equal("2024-06-01T00:00:00Z", labels["org.opencontainers.image.created"]);

        // And the step says where it came from and how many packages it holds
        Assert.Contains(_harness.Reporter.Steps, s => s == $"base built from bookworm on http://deb.example/debian (3 packages, packages {expectedSha})");
    }

    [Fact]
    public async Task BuildAsync_BuilderReportsPackages_PackageListWrittenBesideTheStateNamedByDigest()
    {
        // Given a builder reporting packages
        var services = _harness.WorkflowsWith(rootfs: new ProvenanceRootfsBuilder(_harness.Rootfs, null, null, Packages));

        // When full is built
        var result = await services.Bases.BuildAsync("debian-bookworm/full");

        // Then <state dir>/bases/NAME-VARIANT-<12 hex>.packages.txt holds the sorted "name version arch" lines, whose sha256 is the label's
        var path = Path.Combine(Path.GetDirectoryName(_harness.Config.StatePath)!, "bases", $"debian-bookworm-full-{result.Digest.Encoded[..12]}.packages.txt");
        Assert.Equal(PackageLines, await File.ReadAllTextAsync(path));
        var sha = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path)));
        var labels = PushedLabels("full");
        Assert.Equal(sha, labels["io.orchestrator.base.packages-sha256"]);

        // And without a snapshot or debootstrap variant, no snapshot label and variant "default"
        Assert.False(labels.ContainsKey("io.orchestrator.base.snapshot"));
        Assert.Equal("default", labels["io.orchestrator.base.variant"]);
    }

    [Fact]
    public async Task BuildAsync_BuilderReportsNoPackages_NoChecksumLabelNoListAndStepSaysSo()
    {
        // Given the plain fake builder, which reports no package set
        // When built
        await _harness.Workflows.Bases.BuildAsync("debian-bookworm/slim");

        // Then the mirrors are labelled but no package checksum is claimed and no list is written
        var labels = PushedLabels();
        Assert.Equal("http://deb.example/debian", labels["io.orchestrator.base.mirror"]);
        Assert.False(labels.ContainsKey("io.orchestrator.base.packages-sha256"));
        Assert.False(Directory.Exists(Path.Combine(Path.GetDirectoryName(_harness.Config.StatePath)!, "bases")));
        Assert.Contains(_harness.Reporter.Steps, s => s == "base built from bookworm on http://deb.example/debian (package set not reported by the builder)");
    }

    [Fact]
    public void ProvenanceLabels_ValueWithQuoteAndBackslash_KeptVerbatim()
    {
        // Given a mirror URL carrying a quote and a backslash
        var archive = new RootfsArchive("/t.tar", "bookworm", "http://m.example/a\"b\\c", "http://s.example", 1);

        // When the labels are made
        var labels = BaseImageWorkflow.ProvenanceLabels(archive, WorkflowHarness.Now);

        // Then the value is the URL as it is (the config is JSON, which escapes it), and created is RFC 3339 UTC
        Assert.Contains(new KeyValuePair<string, string>("io.orchestrator.base.mirror", "http://m.example/a\"b\\c"), labels);
        Assert.Contains(new KeyValuePair<string, string>("org.opencontainers.image.created", "2025-03-14T15:09:26Z"), labels);
    }

    private const string PackageLines = "bash 5.2.15-2+b7 amd64\ndpkg 1.21.22 amd64\nlibc6 2.36-9+deb12u10 amd64\n";

    private static readonly InstalledPackage[] Packages =
    [
        new("bash", "5.2.15-2+b7", "amd64"),
        new("dpkg", "1.21.22", "amd64"),
        new("libc6", "2.36-9+deb12u10", "amd64"),
    ];

    /// <summary>The harness's builder, with the provenance a real debootstrap build reports.</summary>
    private sealed class ProvenanceRootfsBuilder(IRootfsBuilder inner, string? snapshot, string? debootstrapVariant, IReadOnlyList<InstalledPackage> packages) : IRootfsBuilder
    {
        public async Task<RootfsArchive> BuildAsync(BaseImageDefinition image, BaseVariantDefinition variant, string workDirectory, IProgress<string>? log = null, CancellationToken cancellationToken = default) =>
            await inner.BuildAsync(image, variant, workDirectory, log, cancellationToken) with
            {
                Snapshot = snapshot,
                DebootstrapVariant = debootstrapVariant,
                Packages = packages,
            };
    }

    private void SetFrom(string variant, ImageReference from)
    {
        var image = _harness.Bases["debian-bookworm"];
        var variants = image.Variants.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        variants[variant] = variants[variant] with { From = from };
        _harness.Bases["debian-bookworm"] = image with { Variants = variants };
    }
}
