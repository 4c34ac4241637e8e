using Orchestrator.Core.Errors;
using Orchestrator.Core.Images;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using static Orchestrator.Registry.Tests.SyntheticImages;

namespace Orchestrator.Registry.Tests;

[CollectionDefinition(Name)]
public sealed class RegistryIntegrationCollection
{
    public const string Name = "registry-integration";
}

[Trait("Category", "Integration")]
[Collection(RegistryIntegrationCollection.Name)]
public sealed class ImageCopierIntegrationTests : IDisposable
{
    private readonly RegistryClientFactory _factory = new();
    private readonly IRegistryClient _staging;
    private readonly IRegistryClient _production;

    public ImageCopierIntegrationTests()
    {
        _staging = _factory.Create(Staging);
        _production = _factory.Create(Production);
    }

    public void Dispose() => _factory.Dispose();

    private static CopyRequest Promote(string repository, Digest digest, params string[] tags) =>
        new(Staging, repository, digest, Production, repository, tags);

    [Fact]
    public async Task CopyAsync_StagingToProduction_ProductionServesTheSameDigest()
    {
        // Given an image of three layers in staging
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var image = await PushImageAsync(_staging, repository, [300_000, 1_200_000, 2_500_000]);
        cleanup.Add(_staging, repository, image);
        cleanup.Add(_production, repository, image);
        var copier = new ImageCopier(_factory);

        // When it is promoted with a tag
        var plan = await copier.PlanAsync(Promote(repository, image.Digest, "1.0"));
        var result = await copier.CopyAsync(plan);

        // Then production holds the same digest, as an independent client reads it, by digest and by tag
        Assert.Equal(image.Digest, result.TargetDigest);
        Assert.Equal(4, result.BlobsCopied);
        Assert.Equal(0, result.BlobsSkipped);
        Assert.Equal(["1.0"], result.TagsApplied);
        Assert.Equal(plan.BytesToCopy, result.BytesCopied);
        Assert.Equal(image.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}@{image.Digest}"));
        Assert.Equal(image.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:1.0"));
        foreach (var blob in image.Blobs)
        {
            Assert.NotNull(await _production.HeadBlobAsync(repository, blob));
        }
    }

    [Fact]
    public async Task CopyAsync_SecondRun_CopiesNoBlobsAndSkipsAll()
    {
        // Given an image already promoted once
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var image = await PushImageAsync(_staging, repository, [400_000, 700_000]);
        cleanup.Add(_staging, repository, image);
        cleanup.Add(_production, repository, image);
        var copier = new ImageCopier(_factory);
        await copier.CopyAsync(await copier.PlanAsync(Promote(repository, image.Digest, "2.0")));

        // When it is promoted again
        var plan = await copier.PlanAsync(Promote(repository, image.Digest, "2.0"));
        var result = await copier.CopyAsync(plan);

        // Then nothing is transferred and the plan already saw everything in place
        Assert.Empty(plan.BlobsToCopy);
        Assert.All(plan.Manifests, m => Assert.True(m.PresentInTarget));
        Assert.Equal(image.Digest, Assert.Single(plan.Tags).CurrentDigest);
        Assert.Equal(0, result.BlobsCopied);
        Assert.Equal(0, result.BlobsMounted);
        Assert.Equal(3, result.BlobsSkipped);
        Assert.Equal(0, result.BytesCopied);
        Assert.Equal(["2.0"], result.TagsApplied);
    }

    [Fact]
    public async Task CopyAsync_TagPointsAtAnotherDigest_RefusedAndNothingChanges()
    {
        // Given production's tag 3.0 already on an older image, and a new image in staging
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var old = await PushImageAsync(_production, repository, [200_000], tag: "3.0");
        cleanup.Add(_production, repository, old);
        var image = await PushImageAsync(_staging, repository, [300_000]);
        cleanup.Add(_staging, repository, image);
        cleanup.Add(_production, repository, image);
        var copier = new ImageCopier(_factory);

        // When the new image is promoted under 3.0, with the promotion policy
        var plan = await copier.PlanAsync(Promote(repository, image.Digest, "3.0") with { TagPolicy = new PromotionPolicy("production", "hello.yaml") });
        var ex = await Assert.ThrowsAsync<JobRefusedException>(() => copier.CopyAsync(plan));

        // Then the refusal names the tag, the current digest and the fix; the tag did not move; the new digest is not in production
        Assert.Equal(new TagConflict("3.0", old.Digest), Assert.Single(plan.Conflicts));
        Assert.Contains("'3.0'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(old.Digest.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Contains("bump 'version' in hello.yaml", ex.Message, StringComparison.Ordinal);
        Assert.Equal(old.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:3.0"));
        Assert.Null(await _production.HeadManifestAsync(repository, image.Digest.ToString()));
        Assert.DoesNotContain(image.Blobs[1], await PresentBlobs(repository, image.Blobs));
    }

    [Fact]
    public async Task CopyAsync_FloatingTagAtAnotherDigest_MovesWhileImmutableTagsStay()
    {
        // Given production's 'latest' and '1.0' on an older image, and a newer image in staging
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var old = await PushImageAsync(_production, repository, [200_000], tag: "1.0");
        await _production.PutManifestAsync(repository, "latest", old.Manifest, old.MediaType);
        cleanup.Add(_production, repository, old);
        var image = await PushImageAsync(_staging, repository, [300_000]);
        cleanup.Add(_staging, repository, image);
        cleanup.Add(_production, repository, image);
        var copier = new ImageCopier(_factory);

        // When the newer image is promoted as 1.1 and latest, with latest floating
        var plan = await copier.PlanAsync(Promote(repository, image.Digest, "1.1", "latest") with { FloatingTags = ["latest"] });
        var result = await copier.CopyAsync(plan);

        // Then latest moved, 1.1 is new, and 1.0 still points at the old image
        Assert.Empty(plan.Conflicts);
        Assert.Equal(["1.1", "latest"], result.TagsApplied.Order(StringComparer.Ordinal));
        Assert.Equal(image.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:latest"));
        Assert.Equal(image.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:1.1"));
        Assert.Equal(old.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:1.0"));

        // And the same image under the immutable 1.0 is still refused
        var refused = await copier.PlanAsync(Promote(repository, image.Digest, "1.0", "latest") with { FloatingTags = ["latest"] });
        Assert.Equal(new TagConflict("1.0", old.Digest), Assert.Single(refused.Conflicts));
    }

    [Fact]
    public async Task CopyAsync_OciIndexOfTwoPlatforms_CopiedWholeWithEqualDigests()
    {
        // Given an OCI index over an amd64 and an arm64 image in staging
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var amd64 = await PushImageAsync(_staging, repository, [250_000, 500_000], architecture: "amd64");
        var arm64 = await PushImageAsync(_staging, repository, [260_000, 510_000], architecture: "arm64");
        var index = await PushIndexAsync(_staging, repository, (amd64, "amd64"), (arm64, "arm64"));
        foreach (var m in new[] { amd64, arm64, index })
        {
            cleanup.Add(_staging, repository, m);
            cleanup.Add(_production, repository, m);
        }

        var copier = new ImageCopier(_factory);

        // When the index is promoted
        var plan = await copier.PlanAsync(Promote(repository, index.Digest, "multi"));
        var result = await copier.CopyAsync(plan);

        // Then children come before the root in the plan, and production serves index and children at the same digests
        Assert.Equal(MediaTypes.OciIndex, plan.MediaType);
        Assert.Equal([amd64.Digest, arm64.Digest, index.Digest], plan.Manifests.Select(m => m.Digest));
        Assert.Equal(6, result.BlobsCopied);
        Assert.Equal(index.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:multi"));
        Assert.Equal(amd64.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}@{amd64.Digest}"));
        Assert.Equal(arm64.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}@{arm64.Digest}"));
    }

    [Fact]
    public async Task CopyAsync_DockerV2Manifest_CopiedWithoutConversion()
    {
        // Given a Docker schema 2 image in staging
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var image = await PushImageAsync(_staging, repository, [350_000], docker: true);
        cleanup.Add(_staging, repository, image);
        cleanup.Add(_production, repository, image);
        var copier = new ImageCopier(_factory);

        // When it is promoted
        await copier.CopyAsync(await copier.PlanAsync(Promote(repository, image.Digest, "d1")));

        // Then production serves the very bytes with the Docker media type
        var copied = await _production.GetManifestAsync(repository, "d1");
        Assert.Equal(MediaTypes.DockerManifest, copied.MediaType);
        Assert.Equal(image.Manifest, copied.Content.ToArray());
        Assert.Equal(image.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:d1"));
    }

    [Fact]
    public async Task CopyAsync_SameRegistry_MountsBlobs()
    {
        // Given an image in one staging repository
        var source = UniqueRepository();
        var target = UniqueRepository();
        await using var cleanup = new Cleanup();
        var image = await PushImageAsync(_staging, source, [300_000, 600_000]);
        cleanup.Add(_staging, source, image);
        cleanup.Add(_staging, target, image);
        var copier = new ImageCopier(_factory);

        // When it is copied to another repository of the same registry
        var plan = await copier.PlanAsync(new CopyRequest(Staging, source, image.Digest, Staging, target, ["m1"]));
        var result = await copier.CopyAsync(plan);

        // Then every blob was mounted, none streamed, and the target serves the digest
        Assert.All(plan.BlobsToCopy, b => Assert.True(b.CanMount));
        Assert.Equal(0, plan.BytesToCopy);
        Assert.Equal(3, result.BlobsMounted);
        Assert.Equal(0, result.BlobsCopied);
        Assert.Equal(0, result.BytesCopied);
        Assert.Equal(image.Digest, await SkopeoDigestAsync($"127.0.0.1:5001/{target}:m1"));
    }

    [Fact]
    public async Task CopyAsync_BlobLargerThanChunkSize_UploadsInChunksAndVerifies()
    {
        // Given 1 MiB chunks and an image with a 3 MiB layer
        var options = new RegistryClientOptions { ChunkSize = 1024 * 1024, MonolithicUploadLimit = 1024 * 1024 };
        var patches = new List<string>();
        using var factory = new RegistryClientFactory(null, null, options, () => new RecordingHandler(patches), null);
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var image = await PushImageAsync(_staging, repository, [3 * 1024 * 1024]);
        cleanup.Add(_staging, repository, image);
        cleanup.Add(_production, repository, image);
        var copier = new ImageCopier(factory, options: options);
        var progress = new SynchronousProgress();

        // When it is promoted
        var result = await copier.CopyAsync(await copier.PlanAsync(Promote(repository, image.Digest, "big")), progress);

        // Then the layer arrived whole, reported progress along the way, and production serves the digest
        var layer = image.Blobs[1];
        Assert.Equal(3 * 1024 * 1024, await _production.HeadBlobAsync(repository, layer));
        Assert.True(progress.Reports.Count(p => p.Blob == layer) >= 3);
        Assert.Equal(3 * 1024 * 1024, progress.Reports.Where(p => p.Blob == layer).Max(p => p.BytesDone));
        Assert.Equal(["0-1048575", "1048576-2097151", "2097152-3145727"], patches);
        Assert.Equal(2, result.BlobsCopied);
        Assert.Equal(image.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:big"));
    }

    [Fact]
    public async Task PlanAsync_BeforeCopy_ListsExactlyTheBlobsTheCopyTransfers()
    {
        // Given an image whose first layer production already has (from another image)
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var image = await PushImageAsync(_staging, repository, [200_000, 300_000, 400_000]);
        cleanup.Add(_staging, repository, image);
        cleanup.Add(_production, repository, image);
        await using (var layer = await _staging.OpenBlobAsync(repository, image.Blobs[1]))
        {
            await _production.UploadBlobAsync(repository, image.Blobs[1], 200_000, layer);
        }

        var copier = new ImageCopier(_factory);
        var progress = new SynchronousProgress();

        // When the plan is computed (a dry run) and then executed
        var plan = await copier.PlanAsync(Promote(repository, image.Digest, "p1"));
        var result = await copier.CopyAsync(plan, progress);

        // Then the blobs transferred are exactly the plan's, and the present one was skipped
        Assert.Equal([image.Blobs[1]], plan.BlobsPresent.Select(b => b.Digest));
        Assert.Equal(
            plan.BlobsToCopy.Select(b => b.Digest.ToString()).Order(StringComparer.Ordinal),
            progress.Reports.Select(p => p.Blob.ToString()).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(plan.BlobsToCopy.Count, result.BlobsCopied);
        Assert.Equal(plan.BytesToCopy, result.BytesCopied);
        Assert.Equal(1, result.BlobsSkipped);
    }

    private async Task<List<Digest>> PresentBlobs(string repository, IEnumerable<Digest> blobs)
    {
        var present = new List<Digest>();
        foreach (var blob in blobs)
        {
            if (await _production.HeadBlobAsync(repository, blob) is not null)
            {
                present.Add(blob);
            }
        }

        return present;
    }

    /// <summary>Passes requests to real sockets and records the Content-Range of each PATCH to the target.</summary>
    private sealed class RecordingHandler(List<string> patches) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Patch && request.Content!.Headers.TryGetValues("Content-Range", out var range))
            {
                lock (patches)
                {
                    patches.Add(range.Single());
                }
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Records progress on the reporting thread, so nothing is lost to a synchronization context.</summary>
    private sealed class SynchronousProgress : IProgress<CopyProgress>
    {
        private readonly Lock _lock = new();
        private readonly List<CopyProgress> _reports = [];

        public IReadOnlyList<CopyProgress> Reports
        {
            get
            {
                lock (_lock)
                {
                    return _reports.ToList();
                }
            }
        }

        public void Report(CopyProgress value)
        {
            lock (_lock)
            {
                _reports.Add(value);
            }
        }
    }
}
