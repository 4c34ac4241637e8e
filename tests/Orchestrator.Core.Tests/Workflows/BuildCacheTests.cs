using Orchestrator.Core.Jobs;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class BuildCacheTests : IDisposable
{
    private readonly WorkflowHarness _harness = new() { AutoLock = true };

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task BuildAsync_SameInputsTwice_SecondIsCacheHitWithoutAnyEngineCall()
    {
        // Given a pipeline built once on a base in staging
        _harness.SeedBase();
        var first = await Build();
        _harness.Engine.Calls.Clear();

        // When it is built again with nothing changed
        var second = await Build();

        // Then the second reuses the first digest without touching the engine, and history shows both builds
        Assert.False(first.CacheHit);
        Assert.True(second.CacheHit);
        Assert.Equal(first.Reference, second.Reference);
        Assert.Equal(first.CacheKey, second.CacheKey);
        Assert.Empty(_harness.Engine.Calls);
        Assert.Equal(2, _harness.State.Builds.Count);
        Assert.All(_harness.State.Builds, b => Assert.Equal(first.CacheKey, b.CacheKey));
        Assert.Equal(second.BuildId, _harness.State.Builds[^1].Id);
        Assert.Contains($"cache hit: {first.Digest}", string.Join("\n", _harness.Reporter.Steps), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BuildAsync_CacheHit_JsonHasTheRealBuildsShapeWithItsSbomAndSize()
    {
        // Given a pipeline built once for real (it attached an SBOM and read its size)
        _harness.SeedBase();
        var first = await Build();
        Assert.NotNull(first.SbomDigest);

        // When it is built again and hits the cache
        var second = await Build();
        Assert.True(second.CacheHit);

        // Then its --json document has the same keys, the same SBOM and the same compressed size as the real build's
        var built = Document(first);
        var hit = Document(second);
        Assert.Equal(Keys(built), Keys(hit));
        Assert.Equal(first.SbomDigest!.ToString(), hit.GetProperty("sbom").GetString());
        Assert.Equal(first.Size!.TotalBytes, hit.GetProperty("size").GetProperty("totalBytes").GetInt64());
        Assert.Equal(first.Size.Layers.Count, hit.GetProperty("size").GetProperty("layers").GetArrayLength());
    }

    private static System.Text.Json.JsonElement Document(BuildResult result) =>
        System.Text.Json.JsonDocument.Parse(ResultDocuments.Serialize(ResultDocuments.Build(result), Orchestrator.Core.Jobs.Documents.ResultJsonContext.Default.BuildDocument)).RootElement;

    private static List<string> Keys(System.Text.Json.JsonElement element) =>
        [.. element.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task BuildAsync_NoCache_RebuildsEvenWithAKeyRecorded()
    {
        // Given a pipeline built once
        _harness.SeedBase();
        var first = await Build();

        // When it is built again with --no-cache
        var second = await Build(noCache: true);

        // Then the engine built it again, and the key is still recorded for later hits
        Assert.False(second.CacheHit);
        Assert.Equal(2, _harness.Engine.Builds.Count);
        Assert.Equal(first.CacheKey, second.CacheKey);
        Assert.Equal(second.CacheKey, _harness.State.Builds[^1].CacheKey);
    }

    [Fact]
    public async Task BuildAsync_CopiedFileChanged_CacheMissAndRebuilt()
    {
        // Given a pipeline copying a file, built once
        _harness.SeedBase();
        var file = _harness.WriteFile("hello/greeting.txt", "hello\n");
        _harness.Hello = _harness.Hello with { Files = [new Definitions.FileCopy(file, "/greeting.txt", 420)] };
        var first = await Build();

        // When the file's bytes change, the pipeline is locked again, and it is built again
        File.WriteAllText(file, "hello, world\n");
        _harness.Hello = _harness.Hello with { Lock = null };
        var second = await Build();

        // Then it is a miss with another key, built by the engine again
        Assert.False(second.CacheHit);
        Assert.NotEqual(first.CacheKey, second.CacheKey);
        Assert.Equal(2, _harness.Engine.Builds.Count);
    }

    [Fact]
    public async Task BuildAsync_OnlyVersionBumped_LockStaysFreshAndTheCacheMisses()
    {
        // Given a pipeline built once with its lock
        _harness.SeedBase();
        var first = await Build();
        var pipelineLock = _harness.Hello.Lock;

        // When only its version is bumped, keeping the very same lock
        _harness.Hello = _harness.Hello with { Version = "9.9.9" };
        Assert.Same(pipelineLock, _harness.Hello.Lock);
        var second = await Build();

        // Then the build is not refused as stale, and it is a cache miss built by the engine again under another key
        Assert.False(second.CacheHit);
        Assert.NotEqual(first.CacheKey, second.CacheKey);
        Assert.Equal(2, _harness.Engine.Builds.Count);
    }

    [Fact]
    public async Task BuildAsync_BaseMoved_StaleLockRefusedThenRelockedBuildMissesOnTheNewBase()
    {
        // Given a pipeline built once on a base
        _harness.SeedBase(seed: "base-1");
        var first = await Build();

        // When the base tag moves to another digest, the lock is refused as stale
        _harness.SeedBase(seed: "base-2");
        var stale = await Assert.ThrowsAsync<Errors.JobFailedException>(() => Build());
        Assert.Contains("base debian-bookworm/slim moved from", stale.Message, StringComparison.Ordinal);

        // And once the pipeline is locked again on the new base, it is rebuilt there
        _harness.Hello = _harness.Hello with { Lock = null };
        var second = await Build();
        Assert.False(second.CacheHit);
        Assert.NotEqual(first.BaseReference.Digest, second.BaseReference.Digest);
        Assert.Equal(2, _harness.Engine.Builds.Count);
    }

    [Fact]
    public async Task BuildAsync_TagMovedSinceTheCachedBuild_TagRePointedWithManifestBytesNoEngine()
    {
        // Given a cached build, after which tag 1.0 was moved to another image
        _harness.SeedBase();
        var first = await Build();
        var other = _harness.SeedImage("someone-else", "1.0");
        _harness.Engine.Calls.Clear();
        _harness.Staging.Puts.Clear();

        // When built again
        var second = await Build();

        // Then 1.0 is back on the cached digest, PUT with its exact manifest bytes, and 1.0.0 left alone
        Assert.True(second.CacheHit);
        Assert.NotEqual(other, first.Digest);
        Assert.Equal(first.Digest, _harness.Staging.Find(WorkflowHarness.PipelineRepository, "1.0")!.Digest);
        var put = Assert.Single(_harness.Staging.Puts);
        Assert.Equal((WorkflowHarness.PipelineRepository, "1.0"), (put.Repository, put.Reference));
        Assert.Equal(_harness.Staging.Find(WorkflowHarness.PipelineRepository, first.Digest.ToString())!.Content.ToArray(), put.Content);
        Assert.Empty(_harness.Engine.Calls);
    }

    [Fact]
    public async Task BuildAsync_CachedDigestDeletedFromStaging_Rebuilt()
    {
        // Given a cached build whose digest was deleted from staging since
        _harness.SeedBase();
        var first = await Build();
        await _harness.Staging.DeleteManifestAsync(WorkflowHarness.PipelineRepository, first.Digest);

        // When built again
        var second = await Build();

        // Then it is a miss, built and pushed again
        Assert.False(second.CacheHit);
        Assert.Equal(2, _harness.Engine.Builds.Count);
        Assert.True(_harness.Staging.Has(WorkflowHarness.PipelineRepository, "1.0"));
    }

    [Fact]
    public async Task BuildAsync_StoreWithoutCache_AlwaysBuilds()
    {
        // Given a state store that only has the interface's default lookup (no build cache)
        _harness.SeedBase();
        var services = _harness.WorkflowsWith(state: new NoCacheStore(_harness.State));

        // When built twice
        await services.Builds.BuildAsync("hello");
        var second = await services.Builds.BuildAsync("hello");

        // Then both were built by the engine
        Assert.False(second.CacheHit);
        Assert.Equal(2, _harness.Engine.Builds.Count);
    }

    [Fact]
    public async Task ResultDocument_CacheHit_HasCacheHitAndKey()
    {
        // Given a cache hit
        _harness.SeedBase();
        await Build();
        var hit = await Build();

        // When serialized as a result document
        var json = ResultDocuments.Serialize(ResultDocuments.Build(hit), Orchestrator.Core.Jobs.Documents.ResultJsonContext.Default.BuildDocument);

        // Then it says so, with the key
        Assert.Contains("\"cacheHit\":true", json, StringComparison.Ordinal);
        Assert.Contains($"\"cacheKey\":\"{hit.CacheKey}\"", json, StringComparison.Ordinal);
    }

    private Task<BuildResult> Build(bool noCache = false) =>
        _harness.Workflows.Builds.BuildAsync("hello", buildMissingBase: false, noCache);

    // Forwards everything but the cache lookup, which falls back to the interface's default.
    private sealed class NoCacheStore(FakeStateStore inner) : Ports.IStateStore
    {
        public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

        public Task<long> RecordBuildAsync(Ports.BuildRecord record, CancellationToken cancellationToken = default) => inner.RecordBuildAsync(record, cancellationToken);

        public Task<long> RecordValidationAsync(Ports.ValidationRecord record, CancellationToken cancellationToken = default) => inner.RecordValidationAsync(record, cancellationToken);

        public Task<long> RecordPromotionAsync(Ports.PromotionRecord record, CancellationToken cancellationToken = default) => inner.RecordPromotionAsync(record, cancellationToken);

        public Task<Ports.BuildRecord?> GetLatestBuildAsync(string subject, CancellationToken cancellationToken = default) => inner.GetLatestBuildAsync(subject, cancellationToken);

        public Task<IReadOnlyList<Ports.BuildRecord>> ListBuildsAsync(string? subject = null, int limit = 100, CancellationToken cancellationToken = default) => inner.ListBuildsAsync(subject, limit, cancellationToken);

        public Task<Ports.ValidationRecord?> FindPassingValidationAsync(string pipeline, Core.References.Digest digest, CancellationToken cancellationToken = default) => inner.FindPassingValidationAsync(pipeline, digest, cancellationToken);

        public Task<IReadOnlyList<Ports.ValidationRecord>> ListValidationsAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default) => inner.ListValidationsAsync(pipeline, limit, cancellationToken);

        public Task<IReadOnlyList<Ports.PromotionRecord>> ListPromotionsAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default) => inner.ListPromotionsAsync(pipeline, limit, cancellationToken);
    }
}
