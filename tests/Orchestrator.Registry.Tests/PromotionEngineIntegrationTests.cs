using System.Text;
using Orchestrator.Core.Images;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;
using Orchestrator.Core.Workflows;
using static Orchestrator.Registry.Tests.SyntheticImages;

namespace Orchestrator.Registry.Tests;

/// <summary>
/// The copy engine against the real registries (issue 6): through a proxy in front of staging that tampers
/// with manifests or cuts blob downloads; many images into one target registry (mount hints, the shared
/// transfer bound); a warm promotion's traffic; a Docker manifest list kept as it is.
/// </summary>
[Trait("Category", "Integration")]
[Collection(RegistryIntegrationCollection.Name)]
public sealed class PromotionEngineIntegrationTests : IDisposable
{
    private readonly RegistryClientFactory _factory = new();
    private readonly IRegistryClient _staging;
    private readonly IRegistryClient _production;

    public PromotionEngineIntegrationTests()
    {
        _staging = _factory.Create(Staging);
        _production = _factory.Create(Production);
    }

    public void Dispose() => _factory.Dispose();

    // A sigstore bundle's media type: what a signature attached as an OCI 1.1 referrer looks like.
    private const string SignatureType = "application/vnd.dev.sigstore.bundle.v0.3+json";

    [Fact]
    public async Task PlanAsync_ProxyTampersManifest_DigestMismatchAndNothingWritten()
    {
        // Given an image in staging, read through a proxy that appends a space to every manifest body
        await using var cleanup = new Cleanup();
        var (repository, image) = await StagedImageAsync(cleanup, [200_000]);
        await using var proxy = await RegistryProxy.StartAsync(Staging, tamperManifest: (_, body) => [.. body, (byte)' ']);
        var copier = new ImageCopier(_factory);

        // When its promotion is planned from the proxy
        var request = new CopyRequest(proxy.Endpoint, repository, image.Digest, Production, repository, ["t1"]);
        var error = await Assert.ThrowsAsync<DigestMismatchException>(() => copier.PlanAsync(request));

        // Then the refusal names the requested digest and what the bytes hash to, and production has nothing
        var tampered = Digest.Sha256Of([.. image.Manifest, (byte)' ']);
        Assert.Contains(image.Digest.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains($"hashes to {tampered}", error.Message, StringComparison.Ordinal);
        Assert.Null(await _production.HeadManifestAsync(repository, image.Digest.ToString()));
        Assert.Null(await _production.HeadManifestAsync(repository, "t1"));
        Assert.Null(await _production.HeadBlobAsync(repository, image.Blobs[1]));
    }

    [Fact]
    public async Task PlanAsync_ProxyTampersOnlyAChildOfAnIndex_DigestMismatchNamingTheChild()
    {
        // Given an index over two images in staging, read through a proxy that rewrites the arm64 child only
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var amd64 = await PushImageAsync(_staging, repository, [100_000], architecture: "amd64");
        var arm64 = await PushImageAsync(_staging, repository, [110_000], architecture: "arm64");
        var index = await PushIndexAsync(_staging, repository, (amd64, "amd64"), (arm64, "arm64"));
        foreach (var m in new[] { amd64, arm64, index })
        {
            cleanup.Add(_staging, repository, m);
        }

        await using var proxy = await RegistryProxy.StartAsync(
            Staging,
            tamperManifest: (path, body) => path.EndsWith(arm64.Digest.ToString(), StringComparison.Ordinal)
                ? Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace("110000", "110001", StringComparison.Ordinal))
                : null);
        var copier = new ImageCopier(_factory);

        // When the index's promotion is planned
        var error = await Assert.ThrowsAsync<DigestMismatchException>(() =>
            copier.PlanAsync(new CopyRequest(proxy.Endpoint, repository, index.Digest, Production, repository, ["multi"])));

        // Then the child is named, and production has neither the index nor the other child
        Assert.Contains(arm64.Digest.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Null(await _production.HeadManifestAsync(repository, index.Digest.ToString()));
        Assert.Null(await _production.HeadManifestAsync(repository, amd64.Digest.ToString()));
    }

    [Fact]
    public async Task CopyAsync_ConnectionCutMidBlobWithoutRetries_FailsUntaggedAndRerunCopiesOnlyWhatIsMissing()
    {
        // Given an image of three layers, served through a proxy that cuts the second layer's first download after 1 MiB
        await using var cleanup = new Cleanup();
        var (repository, image) = await StagedImageAsync(cleanup, [300_000, 3_000_000, 400_000]);
        var cutBlob = image.Blobs[2];
        var firstDownload = FirstRequestFor(cutBlob);
        await using var proxy = await RegistryProxy.StartAsync(Staging, cutAfter: path => firstDownload(path) ? 1024 * 1024 : null);
        var options = new RegistryClientOptions { MaxRetryAttempts = 0, MaxParallelBlobCopies = 1 };
        using var factory = new RegistryClientFactory(options: options);
        var copier = new ImageCopier(factory, options: options);
        var request = new CopyRequest(proxy.Endpoint, repository, image.Digest, Production, repository, ["r1"]);

        // When it is promoted and the connection drops mid-blob
        var first = await copier.PlanAsync(request);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => copier.CopyAsync(first));

        // Then the copy failed on the cut blob, with no manifest or tag in production, and the blobs before it in place
        Assert.Equal(1, proxy.Cuts);
        Assert.IsNotType<DigestMismatchException>(failure);
        Assert.Null(await _production.HeadManifestAsync(repository, image.Digest.ToString()));
        Assert.Null(await _production.HeadManifestAsync(repository, "r1"));
        Assert.Null(await _production.HeadBlobAsync(repository, cutBlob));
        Assert.Equal(300_000, await _production.HeadBlobAsync(repository, image.Blobs[1]));

        // When the promotion is run again
        var rerun = await copier.PlanAsync(request);
        var result = await copier.CopyAsync(rerun);

        // Then only what was missing travelled, and production ends identical to staging
        Assert.Equal(
            new[] { image.Blobs[0], image.Blobs[1] }.Select(d => d.ToString()).Order(StringComparer.Ordinal),
            rerun.BlobsPresent.Select(b => b.Digest.ToString()).Order(StringComparer.Ordinal));
        Assert.Equal([cutBlob, image.Blobs[3]], rerun.BlobsToCopy.Select(b => b.Digest));
        Assert.Equal(2, result.BlobsCopied);
        Assert.Equal(2, result.BlobsSkipped);
        Assert.Equal(3_400_000, result.BytesCopied);
        Assert.Equal(["r1"], result.TagsApplied);
        Assert.Equal(image.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:r1"));
        Assert.Equal(3_000_000, await _production.HeadBlobAsync(repository, cutBlob));
    }

    [Fact]
    public async Task CopyAsync_ConnectionCutMidBlobWithRetries_RetriedWholeAndVerified()
    {
        // Given a proxy that cuts a 2 MB layer's first download after 512 KiB, and one quick retry allowed
        await using var cleanup = new Cleanup();
        var (repository, image) = await StagedImageAsync(cleanup, [2_000_000]);
        var firstDownload = FirstRequestFor(image.Blobs[1]);
        await using var proxy = await RegistryProxy.StartAsync(Staging, cutAfter: path => firstDownload(path) ? 512 * 1024 : null);
        var options = new RegistryClientOptions { MaxRetryAttempts = 1, RetryDelay = TimeSpan.FromMilliseconds(10) };
        using var factory = new RegistryClientFactory(options: options);
        var copier = new ImageCopier(factory, options: options);

        // When it is promoted
        var result = await copier.CopyAsync(await copier.PlanAsync(new CopyRequest(proxy.Endpoint, repository, image.Digest, Production, repository, ["r2"])));

        // Then the cut happened, the blob was copied again from its start, and production serves the digest
        Assert.Equal(1, proxy.Cuts);
        Assert.Equal(2, result.BlobsCopied);
        Assert.Equal(2_000_000, await _production.HeadBlobAsync(repository, image.Blobs[1]));
        Assert.Equal(image.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:r2"));
    }

    [Fact]
    public async Task CopyAsync_SecondImageOnTheSameBaseIntoAnotherRepository_MountsTheBaseFromTheFirst()
    {
        // Given two images in staging sharing a base layer
        await using var cleanup = new Cleanup();
        var (first, one, second, two, baseLayer) = await PushTwoOnOneBaseAsync(cleanup);
        var copier = new ImageCopier(_factory);
        await copier.CopyAsync(await copier.PlanAsync(new CopyRequest(Staging, first, one.Digest, Production, first, ["1"])));

        // When the second is promoted into its own production repository by the same copier
        var plan = await copier.PlanAsync(new CopyRequest(Staging, second, two.Digest, Production, second, ["1"]));
        var result = await copier.CopyAsync(plan);

        // Then the base was planned and done as a mount from the first repository, and production serves the digest
        var planned = Assert.Single(plan.BlobsToCopy, b => b.Digest == baseLayer);
        Assert.True(planned.CanMount);
        Assert.Equal(first, planned.MountFrom);
        Assert.Equal(1, result.BlobsMounted);
        Assert.Equal(two.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{second}:1"));
    }

    [Fact]
    public async Task CopyAsync_SecondImageInANewProcessOnTheSameBase_MountsTheBaseFromTheStoredHintWithoutUploadingIt()
    {
        // Given image A promoted by one copier whose mount hints are kept in a state file
        await using var cleanup = new Cleanup();
        var (first, one, second, two, baseLayer) = await PushTwoOnOneBaseAsync(cleanup);
        var stateFile = Path.Combine(Path.GetTempPath(), $"orchestrator-hints-{Guid.NewGuid():N}.db");
        try
        {
            using (var hints = new Orchestrator.State.SqliteMountHintStore(stateFile))
            {
                var earlier = new ImageCopier(_factory, mountHints: hints);
                await earlier.CopyAsync(await earlier.PlanAsync(new CopyRequest(Staging, first, one.Digest, Production, first, ["1"])));
            }

            // When image B, sharing A's base layer, is promoted into another repository by a new copier with new
            // clients and a new store over the same file: nothing in memory carries over, as in a new process
            var log = new RequestLog();
            using var factory = new RegistryClientFactory(null, null, null, () => log, null);
            using var reopened = new Orchestrator.State.SqliteMountHintStore(stateFile);
            var copier = new ImageCopier(factory, mountHints: reopened);
            var plan = await copier.PlanAsync(new CopyRequest(Staging, second, two.Digest, Production, second, ["1"]));
            var result = await copier.CopyAsync(plan);

            // Then the plan mounts the base from A's repository, the registry accepted the mount (201, counted as
            // mounted), no upload carried the base layer, and production serves B's digest with the base in B's repository
            var planned = Assert.Single(plan.BlobsToCopy, b => b.Digest == baseLayer);
            Assert.Equal(first, planned.MountFrom);
            Assert.Equal(1, result.BlobsMounted);
            Assert.Equal(2, result.BlobsCopied);
            Assert.Equal(plan.BytesToCopy, result.BytesCopied);
            Assert.True(result.BytesCopied < BaseSize, $"{result.BytesCopied} bytes copied");
            Assert.Contains(log.Paths, p => p.StartsWith($"POST /v2/{second}/blobs/uploads/?mount={Uri.EscapeDataString(baseLayer.ToString())}&from={Uri.EscapeDataString(first)}", StringComparison.Ordinal));
            Assert.DoesNotContain(log.Paths, p => (p.StartsWith("PUT", StringComparison.Ordinal) || p.StartsWith("PATCH", StringComparison.Ordinal)) && p.Contains(baseLayer.ToString(), StringComparison.Ordinal));
            Assert.Equal(BaseSize, await _production.HeadBlobAsync(second, baseLayer));
            Assert.Equal(two.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{second}:1"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in new[] { stateFile, stateFile + "-wal", stateFile + "-shm" })
            {
                File.Delete(file);
            }
        }
    }

    [Fact]
    public async Task CopyAsync_StoredHintToARepositoryThatLostTheBlob_ForgottenAndTheBlobCopied()
    {
        // Given a stored hint that a production repository holds the base layer, which it does not
        await using var cleanup = new Cleanup();
        var (_, _, second, two, baseLayer) = await PushTwoOnOneBaseAsync(cleanup);
        var stateFile = Path.Combine(Path.GetTempPath(), $"orchestrator-hints-{Guid.NewGuid():N}.db");
        try
        {
            using var hints = new Orchestrator.State.SqliteMountHintStore(stateFile);
            var registry = Production.BaseUri.GetLeftPart(UriPartial.Authority);
            var nowhere = UniqueRepository();
            await hints.RememberAsync(registry, nowhere, [baseLayer]);

            // When the image on that base is promoted by a copier using the store
            var copier = new ImageCopier(_factory, mountHints: hints);
            var plan = await copier.PlanAsync(new CopyRequest(Staging, second, two.Digest, Production, second, ["1"]));
            var result = await copier.CopyAsync(plan);

            // Then the hint was checked and dropped before planning: the base is copied, not mounted, and the store forgot the hint
            Assert.Null(Assert.Single(plan.BlobsToCopy, b => b.Digest == baseLayer).MountFrom);
            Assert.Equal(0, result.BlobsMounted);
            Assert.Equal(3, result.BlobsCopied);
            Assert.DoesNotContain(nowhere, (await hints.FindAsync(registry, [baseLayer], second)).Values);
            Assert.Equal(two.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{second}:1"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in new[] { stateFile, stateFile + "-wal", stateFile + "-shm" })
            {
                File.Delete(file);
            }
        }
    }

    [Fact]
    public async Task CopyAsync_SourceAnswers429WithRetryAfter_RetriedAndCopiedWhole()
    {
        // Given a staging proxy that answers the first download of a layer with 429 and Retry-After: 1
        await using var cleanup = new Cleanup();
        var (repository, image) = await StagedImageAsync(cleanup, [150_000]);
        var firstDownload = FirstRequestFor(image.Blobs[1]);
        await using var proxy = await RegistryProxy.StartAsync(Staging, refuse: (method, path) => method == "GET" && firstDownload(path) ? 429 : null);
        var copier = new ImageCopier(_factory);

        // When the image is promoted from the proxy
        var result = await copier.CopyAsync(await copier.PlanAsync(new CopyRequest(proxy.Endpoint, repository, image.Digest, Production, repository, ["rl"])));

        // Then the rate-limited download was retried and production serves the digest
        Assert.Equal(1, proxy.Refused);
        Assert.Equal(2, result.BlobsCopied);
        Assert.Equal(image.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:rl"));
    }

    [Fact]
    public async Task CopyAsync_ImageOfTwelveLayers_ReusesAFewPooledConnections()
    {
        // Given an image of twelve layers, read through a proxy that counts client connections
        await using var cleanup = new Cleanup();
        var (repository, image) = await StagedImageAsync(cleanup, Enumerable.Repeat(20_000, 12).ToArray());
        await using var proxy = await RegistryProxy.StartAsync(Staging);
        using var factory = new RegistryClientFactory();
        var copier = new ImageCopier(factory);

        // When it is promoted from the proxy
        await copier.CopyAsync(await copier.PlanAsync(new CopyRequest(proxy.Endpoint, repository, image.Digest, Production, repository, ["pool"])));

        // Then the dozen-plus requests to the source came over at most one connection per parallel copy
        Assert.True(proxy.Requests >= 15, $"{proxy.Requests} requests");
        Assert.InRange(proxy.Connections, 1, new RegistryClientOptions().MaxParallelBlobCopies);
    }

    [Fact]
    public async Task CopyAsync_MountFromTheHintRefused_FallsBackToStreamingTheBlob()
    {
        // Given two images on one base, and production behind a proxy that refuses every cross-repository mount with 403
        await using var cleanup = new Cleanup();
        var (first, one, second, two, baseLayer) = await PushTwoOnOneBaseAsync(cleanup);
        await using var proxy = await RegistryProxy.StartAsync(Production, refuse: (method, path) => method == "POST" && path.Contains("mount=", StringComparison.Ordinal) ? 403 : null);
        var copier = new ImageCopier(_factory);
        await copier.CopyAsync(await copier.PlanAsync(new CopyRequest(Staging, first, one.Digest, proxy.Endpoint, first, ["1"])));

        // When the second is promoted, its plan mounting the base from the first repository
        var plan = await copier.PlanAsync(new CopyRequest(Staging, second, two.Digest, proxy.Endpoint, second, ["1"]));
        var result = await copier.CopyAsync(plan);

        // Then the refused mount became a streamed, verified copy, and production serves the digest
        Assert.Equal(first, Assert.Single(plan.BlobsToCopy, b => b.Digest == baseLayer).MountFrom);
        Assert.Equal(0, result.BlobsMounted);
        Assert.Equal(3, result.BlobsCopied);
        Assert.Equal(BaseSize, await _production.HeadBlobAsync(second, baseLayer));
        Assert.Equal(two.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{second}:1"));
    }

    [Fact]
    public async Task CopyAsync_TwoConcurrentCopiesIntoOneRegistry_ShareMaxParallelBlobCopies()
    {
        // Given two images of four layers and a copier allowed two blob copies at a time
        var repositories = new[] { UniqueRepository(), UniqueRepository() };
        await using var cleanup = new Cleanup();
        var images = new List<PushedImage>();
        foreach (var repository in repositories)
        {
            var image = await PushImageAsync(_staging, repository, [400_000, 400_000, 400_000, 400_000]);
            cleanup.Add(_staging, repository, image);
            cleanup.Add(_production, repository, image);
            images.Add(image);
        }

        var options = new RegistryClientOptions { MaxParallelBlobCopies = 2 };
        var counter = new InFlightUploads();
        using var factory = new RegistryClientFactory(null, null, options, () => counter, null);
        var copier = new ImageCopier(factory, options: options);
        var plans = await Task.WhenAll(repositories.Select((r, i) => copier.PlanAsync(new CopyRequest(Staging, r, images[i].Digest, Production, r, ["c"]))));

        // When both copies run at once
        var results = await Task.WhenAll(plans.Select(p => copier.CopyAsync(p)));

        // Then both completed, and never more than two blob uploads were in flight to production together
        Assert.All(results, r => Assert.Equal(5, r.BlobsCopied));
        Assert.InRange(counter.Max, 1, 2);
    }

    [Fact]
    public async Task CopyAsync_DockerManifestListOfTwoPlatforms_CopiedAsItIsWithoutConversion()
    {
        // Given a Docker schema 2 manifest list over two Docker images in staging
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var amd64 = await PushImageAsync(_staging, repository, [120_000], docker: true, architecture: "amd64");
        var arm64 = await PushImageAsync(_staging, repository, [130_000], docker: true, architecture: "arm64");
        var list = Encoding.UTF8.GetBytes(
            $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.DockerManifestList}}}","manifests":[{"mediaType":"{{{MediaTypes.DockerManifest}}}","digest":"{{{amd64.Digest}}}","size":{{{amd64.Manifest.Length}}},"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"{{{MediaTypes.DockerManifest}}}","digest":"{{{arm64.Digest}}}","size":{{{arm64.Manifest.Length}}},"platform":{"architecture":"arm64","os":"linux"}}]}""");
        var listDigest = await _staging.PutManifestAsync(repository, Digest.Sha256Of(list).ToString(), list, MediaTypes.DockerManifestList);
        foreach (var digest in new[] { amd64.Digest, arm64.Digest, listDigest })
        {
            cleanup.Add(_staging, repository, digest);
            cleanup.Add(_production, repository, digest);
        }

        var copier = new ImageCopier(_factory);

        // When the list is promoted
        var plan = await copier.PlanAsync(new CopyRequest(Staging, repository, listDigest, Production, repository, ["dl"]));
        await copier.CopyAsync(plan);

        // Then production serves the very bytes under the Docker list media type, and the children as Docker manifests
        Assert.Equal(MediaTypes.DockerManifestList, plan.MediaType);
        var copied = await _production.GetManifestAsync(repository, "dl");
        Assert.Equal(MediaTypes.DockerManifestList, copied.MediaType);
        Assert.Equal(list, copied.Content.ToArray());
        Assert.Equal(MediaTypes.DockerManifest, (await _production.GetManifestAsync(repository, arm64.Digest.ToString())).MediaType);
        Assert.Equal(listDigest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:dl"));
    }

    [Fact]
    public async Task CopyAsync_WarmPromotionOfAnIndex_SendsOnlyManifestRequests()
    {
        // Given an index of two platforms already promoted once
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var amd64 = await PushImageAsync(_staging, repository, [150_000, 250_000], architecture: "amd64");
        var arm64 = await PushImageAsync(_staging, repository, [160_000, 260_000], architecture: "arm64");
        var index = await PushIndexAsync(_staging, repository, (amd64, "amd64"), (arm64, "arm64"));
        foreach (var m in new[] { amd64, arm64, index })
        {
            cleanup.Add(_staging, repository, m);
            cleanup.Add(_production, repository, m);
        }

        var request = new CopyRequest(Staging, repository, index.Digest, Production, repository, ["w1"]);
        var first = new ImageCopier(_factory);
        await first.CopyAsync(await first.PlanAsync(request));
        var log = new RequestLog();
        using var factory = new RegistryClientFactory(null, null, null, () => log, null);
        var copier = new ImageCopier(factory);

        // When it is promoted again by a fresh copier
        var result = await copier.CopyAsync(await copier.PlanAsync(request));

        // Then every blob counts as present, and not one request touched a blob: manifests (and referrer listings) only
        Assert.Equal(6, result.BlobsSkipped);
        Assert.Equal(["w1"], result.TagsApplied);
        Assert.NotEmpty(log.Paths);
        Assert.All(log.Paths, p => Assert.DoesNotContain("/blobs/", p, StringComparison.Ordinal));
        Assert.DoesNotContain(log.Paths, p => p.StartsWith("PUT", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PushArtifactAsync_PromotionStatementOnDistribution28_ListedUnderTheFallbackTagAndCarriedByTheNextCopy()
    {
        // Given an image in production and its promotion record
        var repository = UniqueRepository();
        var further = UniqueRepository();
        await using var cleanup = new Cleanup();
        var image = await PushImageAsync(_production, repository, [100_000]);
        cleanup.Add(_production, repository, image);
        cleanup.Add(_production, further, image);
        var record = new PromotionRecord(
            7, "hello", "staging", "production",
            ImageReference.Create(Staging.Host, repository, digest: image.Digest), ImageReference.Create(Production.Host, repository, digest: image.Digest),
            ["1.0"], 3, "alice", new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero), 100_000, 2, 0);

        // When its in-toto statement is attached to the digest, and the image is then copied on to another repository
        var subject = new Descriptor(image.MediaType, image.Digest, image.Manifest.Length);
        var statement = await ArtifactPublisher.PushAsync(_production, repository, subject, PromotionStatement.MediaType, PromotionStatement.MediaType, PromotionStatement.Create(record));
        cleanup.Add(_production, repository, statement.Digest);
        cleanup.Add(_production, further, statement.Digest);
        var copier = new ImageCopier(_factory);
        var result = await copier.CopyAsync(await copier.PlanAsync(new CopyRequest(Production, repository, image.Digest, Production, further, ["1.0"])));
        foreach (var where in new[] { repository, further })
        {
            if (await _production.HeadManifestAsync(where, image.Digest.ToReferrersTag()) is { } index)
            {
                cleanup.Add(_production, where, index.Digest);
            }
        }

        // Then the registry stored it unchanged and lists it under the fallback tag, and the copy carried it
        Assert.Equal(PromotionStatement.MediaType, Assert.Single(await _production.ListReferrersAsync(repository, image.Digest)).ArtifactType);
        Assert.Equal(1, result.ReferrersCopied);
        Assert.Equal(statement.Digest, Assert.Single(await _production.ListReferrersAsync(further, image.Digest)).Digest);
        var stored = await _production.GetManifestAsync(further, statement.Digest.ToString());
        Assert.Contains(image.Digest.ToString(), Encoding.UTF8.GetString(stored.Content.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlanAsync_IndexWithASignatureAndOneBlobPresent_IsExactlyWhatTheCopyThenWrites()
    {
        // Given an index over two images with a signature-like referrer in staging, and one of its layers already in production
        var repository = UniqueRepository();
        await using var cleanup = new Cleanup();
        var amd64 = await PushImageAsync(_staging, repository, [110_000, 210_000], architecture: "amd64");
        var arm64 = await PushImageAsync(_staging, repository, [120_000, 220_000], architecture: "arm64");
        var index = await PushIndexAsync(_staging, repository, (amd64, "amd64"), (arm64, "arm64"));
        var signature = await ArtifactPublisher.PushAsync(
            _staging, repository, new Descriptor(index.MediaType, index.Digest, index.Manifest.Length), SignatureType, SignatureType, "{\"signature\":\"MEUCIQ\"}"u8.ToArray());
        await using (var layer = await _staging.OpenBlobAsync(repository, amd64.Blobs[1]))
        {
            await _production.UploadBlobAsync(repository, amd64.Blobs[1], 110_000, layer);
        }

        foreach (var m in new[] { amd64.Digest, arm64.Digest, index.Digest, signature.Digest })
        {
            cleanup.Add(_staging, repository, m);
            cleanup.Add(_production, repository, m);
        }

        var log = new RequestLog();
        using var factory = new RegistryClientFactory(null, null, null, () => log, null);
        var copier = new ImageCopier(factory);

        // When the promotion is planned (a dry run) and then run
        var plan = await copier.PlanAsync(new CopyRequest(Staging, repository, index.Digest, Production, repository, ["1.0", "latest"]));
        var planning = log.Paths.Count;
        await copier.CopyAsync(plan);
        foreach (var where in new[] { (_staging, repository), (_production, repository) })
        {
            if (await where.Item1.HeadManifestAsync(where.repository, index.Digest.ToReferrersTag()) is { } fallback)
            {
                cleanup.Add(where.Item1, where.repository, fallback.Digest);
            }
        }

        // Then planning wrote nothing, and the copy wrote exactly the plan: its manifests in order, its blobs, its referrer, its tags
        var writes = log.Paths.Skip(planning).Where(p => !p.StartsWith("GET", StringComparison.Ordinal) && !p.StartsWith("HEAD", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(log.Paths.Take(planning), p => !p.StartsWith("GET", StringComparison.Ordinal) && !p.StartsWith("HEAD", StringComparison.Ordinal));
        var prefix = $"PUT /v2/{repository}/manifests/";
        var manifestsPut = writes.Where(p => p.StartsWith(prefix, StringComparison.Ordinal)).Select(p => p[prefix.Length..]).ToList();
        Assert.Equal(
            [.. plan.Manifests.Where(m => !m.PresentInTarget).Select(m => m.Digest.ToString()),
             .. plan.Referrers.SelectMany(r => r.Manifests).Where(m => !m.PresentInTarget).Select(m => m.Digest.ToString()),
             index.Digest.ToReferrersTag(), "1.0", "latest"],
            manifestsPut);
        var blobsPut = writes.Where(p => p.StartsWith("PUT", StringComparison.Ordinal) && p.Contains("/blobs/uploads/", StringComparison.Ordinal))
            .Select(p => Uri.UnescapeDataString(p[(p.IndexOf("digest=", StringComparison.Ordinal) + "digest=".Length)..])).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
            plan.BlobsToCopy.Concat(plan.Referrers.SelectMany(r => r.BlobsToCopy)).Select(b => b.Digest.ToString()).Distinct().Order(StringComparer.Ordinal),
            blobsPut);
        Assert.Equal([amd64.Blobs[1]], plan.BlobsPresent.Select(b => b.Digest));
        Assert.Equal(signature.Digest, Assert.Single(plan.Referrers).Digest);
        Assert.Equal(index.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}:latest"));
        Assert.Equal(amd64.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}@{amd64.Digest}"));
        Assert.Equal(arm64.Digest, await SkopeoDigestAsync($"127.0.0.1:5002/{repository}@{arm64.Digest}"));
        Assert.Equal(SignatureType, Assert.Single(await _production.ListReferrersAsync(repository, index.Digest)).ArtifactType);
    }

    /// <summary>Real sockets; records "METHOD path?query" of every request.</summary>
    private sealed class RequestLog() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _paths = new();

        public IReadOnlyList<string> Paths => _paths.ToList();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            _paths.Enqueue($"{request.Method} {request.RequestUri!.PathAndQuery}");
            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Real sockets; counts blob upload bodies (PUT or PATCH under /blobs/uploads/) in flight at once.</summary>
    private sealed class InFlightUploads() : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _current;
        private int _max;

        public int Max => Volatile.Read(ref _max);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var upload = (request.Method == HttpMethod.Put || request.Method == HttpMethod.Patch) && request.RequestUri!.AbsolutePath.Contains("/blobs/uploads/", StringComparison.Ordinal);
            if (!upload)
            {
                return await base.SendAsync(request, cancellationToken);
            }

            var now = Interlocked.Increment(ref _current);
            int seen;
            while (now > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, seen) != seen)
            {
            }

            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _current);
            }
        }
    }

    // An image of random layers in a fresh staging repository, cleaned up in both registries.
    private async Task<(string Repository, PushedImage Image)> StagedImageAsync(Cleanup cleanup, int[] layerSizes)
    {
        var repository = UniqueRepository();
        var image = await PushImageAsync(_staging, repository, layerSizes);
        cleanup.Add(_staging, repository, image);
        cleanup.Add(_production, repository, image);
        return (repository, image);
    }

    // True for the first request whose path ends with the blob's digest, false after: a fault that happens once.
    private static Func<string, bool> FirstRequestFor(Digest blob)
    {
        var seen = 0;
        return path => path.EndsWith(blob.ToString(), StringComparison.Ordinal) && Interlocked.Exchange(ref seen, 1) == 0;
    }

    private const int BaseSize = 500_000;

    // Two images in their own staging repositories on one base layer of BaseSize bytes, cleaned up in both registries.
    private async Task<(string First, PushedImage One, string Second, PushedImage Two, Digest BaseLayer)> PushTwoOnOneBaseAsync(Cleanup cleanup)
    {
        var first = UniqueRepository();
        var second = UniqueRepository();
        var one = await PushImageAsync(_staging, first, [BaseSize, 100_000]);
        var baseLayer = one.Blobs[1];
        Assert.True(await _staging.MountBlobAsync(second, baseLayer, first));
        var two = await PushImageWithBaseAsync(second, baseLayer, BaseSize);
        cleanup.Add(_staging, first, one);
        cleanup.Add(_staging, second, two);
        cleanup.Add(_production, first, one);
        cleanup.Add(_production, second, two);
        return (first, one, second, two, baseLayer);
    }

    private async Task<PushedImage> PushImageWithBaseAsync(string repository, Digest baseLayer, long baseSize)
    {
        var top = await PushImageAsync(_staging, repository, [50_000]);
        var manifest = Encoding.UTF8.GetString(top.Manifest).Replace("\"layers\":[", $"\"layers\":[{{\"mediaType\":\"{MediaTypes.OciLayerGzip}\",\"digest\":\"{baseLayer}\",\"size\":{baseSize}}},", StringComparison.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(manifest);
        var digest = await _staging.PutManifestAsync(repository, Digest.Sha256Of(bytes).ToString(), bytes, MediaTypes.OciManifest);
        await _staging.DeleteManifestAsync(repository, top.Digest);
        return new PushedImage(digest, MediaTypes.OciManifest, bytes, [top.Blobs[0], baseLayer, top.Blobs[1]]);
    }
}
