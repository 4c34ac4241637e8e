// Over 400 lines: the whole state-store contract (builds, validations, promotions, cache keys) moved here from the
// SQLite tests as one class, so both stores run exactly the same list.
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.State.Tests.Contracts;

/// <summary>
/// The state store's contract (builds, validations, promotions): every test here runs against each store
/// (<see cref="SqliteStateStoreTests"/>, <see cref="PostgresStateStoreTests"/>), each on a fresh database of its own.
/// </summary>
public abstract class StateStoreContract : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = new(2025, 5, 20, 10, 30, 15, 123, TimeSpan.Zero);

    protected StoreBackend Backend { get; private set; } = null!;

    public async Task InitializeAsync() => Backend = await CreateBackendAsync();

    public async Task DisposeAsync() => await Backend.DisposeAsync();

    /// <summary>A fresh, empty database of this test's own.</summary>
    protected abstract Task<StoreBackend> CreateBackendAsync();

    [Fact]
    public async Task RecordBuildAsync_WithoutInitialize_InitializesLazily()
    {
        // Given a store nobody initialized
        var store = NewStore();

        // When a build is recorded
        var id = await store.RecordBuildAsync(Build("apps/x", T0));

        // Then it is stored
        Assert.True(id > 0);
        Assert.NotNull(await store.GetLatestBuildAsync("apps/x"));
    }

    [Fact]
    public async Task RecordBuildAsync_AllFields_RoundTrip()
    {
        // Given a build record with every field set, an odd timestamp offset and sub-second precision
        var store = await NewInitializedStoreAsync();
        var at = new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.FromHours(2)).AddTicks(1234);
        var record = new BuildRecord(
            0,
            "hello-python",
            "pipeline",
            "staging",
            ImageReference.Parse($"127.0.0.1:5001/apps/hello-python@{DigestOf("build")}"),
            ["1.2.3", "latest"],
            "1.2.3",
            DigestOf("base"),
            "alice",
            at,
            TimeSpan.FromMilliseconds(61_234));

        // When it is recorded and read back
        var id = await store.RecordBuildAsync(record);
        var read = await store.GetLatestBuildAsync("hello-python");

        // Then every field comes back, the instant exact to the tick
        Assert.NotNull(read);
        Assert.Equal(id, read.Id);
        Assert.Equal(record.Subject, read.Subject);
        Assert.Equal(record.Kind, read.Kind);
        Assert.Equal(record.Stage, read.Stage);
        Assert.Equal(record.Reference, read.Reference);
        Assert.Equal(record.Tags, read.Tags);
        Assert.Equal(record.Version, read.Version);
        Assert.Equal(record.BaseDigest, read.BaseDigest);
        Assert.Equal(record.Actor, read.Actor);
        Assert.Equal(at.UtcTicks, read.At.UtcTicks);
        Assert.Equal(TimeSpan.Zero, read.At.Offset);
        Assert.Equal(record.Duration, read.Duration);
        Assert.Equal(DigestOf("build"), read.Digest);
    }

    [Fact]
    public async Task RecordBuildAsync_BaseBuildWithoutBaseDigestOrTags_RoundTripsNulls()
    {
        // Given a base build: no base digest, no tags
        var store = await NewInitializedStoreAsync();
        var record = Build("debian-bookworm/slim", T0) with { Kind = "base", BaseDigest = null, Tags = [] };

        // When recorded and read
        await store.RecordBuildAsync(record);
        var read = await store.GetLatestBuildAsync("debian-bookworm/slim");

        // Then the nulls and the empty list come back
        Assert.NotNull(read);
        Assert.Null(read.BaseDigest);
        Assert.Empty(read.Tags);
        Assert.Equal("base", read.Kind);
    }

    [Fact]
    public async Task RecordBuildAsync_ReferenceWithoutDigest_ThrowsArgumentException()
    {
        // Given a record whose reference names only a tag
        var store = await NewInitializedStoreAsync();
        var record = Build("apps/x", T0) with { Reference = ImageReference.Parse("127.0.0.1:5001/apps/x:1") };

        // When recorded, Then it is refused with the reason
        var error = await Assert.ThrowsAsync<ArgumentException>(() => store.RecordBuildAsync(record));
        Assert.Contains("not pinned to a digest", error.Message);
    }

    [Fact]
    public async Task RecordValidationAsync_AllFieldsAndLargeDetail_RoundTrip()
    {
        // Given a validation with several results, one with a 200 KB detail
        var store = await NewInitializedStoreAsync();
        var bigDetail = string.Concat(Enumerable.Repeat("line of output ünïcödé\n", 9000));
        var record = new ValidationRecord(
            0,
            "hello-python",
            "staging",
            ImageReference.Parse($"127.0.0.1:5001/apps/hello-python@{DigestOf("v")}"),
            false,
            [
                new TestResult("command", "python runs", true, "Python 3.11.2", TimeSpan.FromMilliseconds(812)),
                new TestResult("file", "no shell history", false, bigDetail, TimeSpan.FromMilliseconds(3)),
                new TestResult("size", "under 200 MB", true, string.Empty, TimeSpan.Zero),
            ],
            "ci",
            T0,
            TimeSpan.FromMilliseconds(4567));

        // When recorded and listed
        var id = await store.RecordValidationAsync(record);
        var read = Assert.Single(await store.ListValidationsAsync("hello-python"));

        // Then everything comes back, results in order
        Assert.Equal(id, read.Id);
        Assert.Equal(record.Pipeline, read.Pipeline);
        Assert.Equal(record.Stage, read.Stage);
        Assert.Equal(record.Reference, read.Reference);
        Assert.False(read.Passed);
        Assert.Equal(record.Actor, read.Actor);
        Assert.Equal(record.At, read.At);
        Assert.Equal(record.Duration, read.Duration);
        Assert.Equal(record.Results, read.Results);
        Assert.Equal(bigDetail, read.Results[1].Detail);
    }

    [Fact]
    public async Task RecordPromotionAsync_AllFields_RoundTrip()
    {
        // Given a promotion with every field set
        var store = await NewInitializedStoreAsync();
        var digest = DigestOf("p");
        var record = new PromotionRecord(
            0,
            "hello-python",
            "staging",
            "production",
            ImageReference.Parse($"127.0.0.1:5001/apps/hello-python@{digest}"),
            ImageReference.Parse($"127.0.0.1:5002/apps/hello-python@{digest}"),
            ["1.2.3"],
            42,
            "bob",
            T0,
            5_000_000_000L,
            7,
            2);

        // When recorded and listed
        var id = await store.RecordPromotionAsync(record);
        var read = Assert.Single(await store.ListPromotionsAsync());

        // Then every field comes back
        Assert.Equal(record with { Id = id, Tags = read.Tags }, read);
        Assert.Equal(record.Tags, read.Tags);
        Assert.Equal(digest, read.Digest);
    }

    [Fact]
    public async Task RecordPromotionAsync_NoValidationId_RoundTripsNull()
    {
        // Given a promotion not tied to a validation
        var store = await NewInitializedStoreAsync();
        var digest = DigestOf("p");
        var record = new PromotionRecord(0, "x", "a", "b", ImageReference.Parse($"r1.example/x@{digest}"), ImageReference.Parse($"r2.example/x@{digest}"), [], null, "bob", T0, 0, 0, 3);

        // When recorded and read
        await store.RecordPromotionAsync(record);
        var read = Assert.Single(await store.ListPromotionsAsync("x"));

        // Then the id stays null
        Assert.Null(read.ValidationId);
        Assert.Equal(3, read.BlobsSkipped);
    }

    [Fact]
    public async Task ListBuildsAsync_SeveralBuilds_NewestFirstAndLimited()
    {
        // Given builds recorded out of time order, two at the same instant
        var store = await NewInitializedStoreAsync();
        var middle = await store.RecordBuildAsync(Build("a", T0.AddMinutes(5)));
        var oldest = await store.RecordBuildAsync(Build("a", T0));
        var newest = await store.RecordBuildAsync(Build("b", T0.AddHours(1)));
        var newestTwin = await store.RecordBuildAsync(Build("a", T0.AddHours(1)));

        // When listed with and without a limit
        var all = await store.ListBuildsAsync();
        var two = await store.ListBuildsAsync(limit: 2);

        // Then they come by time descending, the later-recorded twin first
        Assert.Equal([newestTwin, newest, middle, oldest], all.Select(b => b.Id));
        Assert.Equal([newestTwin, newest], two.Select(b => b.Id));
    }

    [Fact]
    public async Task ListBuildsAsync_SubjectFilter_OnlyThatSubject()
    {
        // Given builds of two subjects
        var store = await NewInitializedStoreAsync();
        await store.RecordBuildAsync(Build("a", T0));
        await store.RecordBuildAsync(Build("b", T0.AddMinutes(1)));
        await store.RecordBuildAsync(Build("a", T0.AddMinutes(2)));

        // When filtered by subject
        var a = await store.ListBuildsAsync("a");
        var latestB = await store.GetLatestBuildAsync("b");

        // Then only that subject's builds come back
        Assert.Equal(2, a.Count);
        Assert.All(a, b => Assert.Equal("a", b.Subject));
        Assert.Equal(T0.AddMinutes(2), a[0].At);
        Assert.Equal(T0.AddMinutes(1), latestB?.At);
        Assert.Null(await store.GetLatestBuildAsync("c"));
    }

    [Fact]
    public async Task ListValidationsAndPromotions_PipelineFilterAndLimit_NewestFirst()
    {
        // Given validations and promotions of two pipelines
        var store = await NewInitializedStoreAsync();
        for (var i = 0; i < 3; i++)
        {
            await store.RecordValidationAsync(Validation("p1", DigestOf($"d{i}"), true, T0.AddMinutes(i)));
            await store.RecordValidationAsync(Validation("p2", DigestOf($"d{i}"), true, T0.AddMinutes(i)));
            await store.RecordPromotionAsync(Promotion("p1", DigestOf($"d{i}"), T0.AddMinutes(i)));
            await store.RecordPromotionAsync(Promotion("p2", DigestOf($"d{i}"), T0.AddMinutes(i)));
        }

        // When listed by pipeline with a limit, and unfiltered
        var validations = await store.ListValidationsAsync("p1", limit: 2);
        var promotions = await store.ListPromotionsAsync("p2", limit: 2);
        var allValidations = await store.ListValidationsAsync();
        var allPromotions = await store.ListPromotionsAsync(limit: 100);

        // Then the filter, the order and the limit hold
        Assert.Equal([T0.AddMinutes(2), T0.AddMinutes(1)], validations.Select(v => v.At));
        Assert.All(validations, v => Assert.Equal("p1", v.Pipeline));
        Assert.Equal([T0.AddMinutes(2), T0.AddMinutes(1)], promotions.Select(p => p.At));
        Assert.All(promotions, p => Assert.Equal("p2", p.Pipeline));
        Assert.Equal(6, allValidations.Count);
        Assert.Equal(6, allPromotions.Count);
    }

    [Fact]
    public async Task ListBuildsAsync_ZeroLimit_Throws()
    {
        // Given a store
        var store = await NewInitializedStoreAsync();

        // When asked for zero rows, Then the caller's mistake is reported
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.ListBuildsAsync(limit: 0));
    }

    [Fact]
    public async Task FindPassingValidationAsync_NoValidation_ReturnsNull()
    {
        // Given no validation at all
        var store = await NewInitializedStoreAsync();

        // When looked up, Then there is none
        Assert.Null(await store.FindPassingValidationAsync("p", DigestOf("x")));
    }

    [Fact]
    public async Task FindPassingValidationAsync_OnlyFailed_ReturnsNull()
    {
        // Given a failed validation of the digest
        var store = await NewInitializedStoreAsync();
        await store.RecordValidationAsync(Validation("p", DigestOf("x"), false, T0));

        // When looked up, Then there is no pass
        Assert.Null(await store.FindPassingValidationAsync("p", DigestOf("x")));
    }

    [Fact]
    public async Task FindPassingValidationAsync_Passed_ReturnsThatRecordWithResults()
    {
        // Given a passing validation of the digest and one of another digest
        var store = await NewInitializedStoreAsync();
        var id = await store.RecordValidationAsync(Validation("p", DigestOf("x"), true, T0));
        await store.RecordValidationAsync(Validation("p", DigestOf("y"), true, T0.AddMinutes(1)));

        // When looked up
        var found = await store.FindPassingValidationAsync("p", DigestOf("x"));

        // Then that record comes back, with its results
        Assert.NotNull(found);
        Assert.Equal(id, found.Id);
        Assert.Equal(DigestOf("x"), found.Digest);
        Assert.Single(found.Results);
    }

    [Fact]
    public async Task FindPassingValidationAsync_TwoPasses_ReturnsNewest()
    {
        // Given two passing validations of one digest
        var store = await NewInitializedStoreAsync();
        await store.RecordValidationAsync(Validation("p", DigestOf("x"), true, T0));
        var newer = await store.RecordValidationAsync(Validation("p", DigestOf("x"), true, T0.AddMinutes(1)));

        // When looked up, Then the newest is returned
        Assert.Equal(newer, (await store.FindPassingValidationAsync("p", DigestOf("x")))?.Id);
    }

    [Fact]
    public async Task FindPassingValidationAsync_PassThenFail_ReturnsNull()
    {
        // Given a pass, then a later failure, of the same digest
        var store = await NewInitializedStoreAsync();
        await store.RecordValidationAsync(Validation("p", DigestOf("x"), true, T0));
        await store.RecordValidationAsync(Validation("p", DigestOf("x"), false, T0.AddMinutes(1)));

        // When looked up, Then the later failure revoked the pass
        Assert.Null(await store.FindPassingValidationAsync("p", DigestOf("x")));
    }

    [Fact]
    public async Task FindPassingValidationAsync_FailThenPass_ReturnsThePass()
    {
        // Given a failure, then a later pass
        var store = await NewInitializedStoreAsync();
        await store.RecordValidationAsync(Validation("p", DigestOf("x"), false, T0));
        var pass = await store.RecordValidationAsync(Validation("p", DigestOf("x"), true, T0.AddMinutes(1)));

        // When looked up, Then the pass counts
        Assert.Equal(pass, (await store.FindPassingValidationAsync("p", DigestOf("x")))?.Id);
    }

    [Fact]
    public async Task FindPassingValidationAsync_PassOfOtherPipeline_ReturnsNull()
    {
        // Given a pass of the digest for another pipeline
        var store = await NewInitializedStoreAsync();
        await store.RecordValidationAsync(Validation("other", DigestOf("x"), true, T0));

        // When looked up for this pipeline, Then it does not count
        Assert.Null(await store.FindPassingValidationAsync("p", DigestOf("x")));
    }

    [Fact]
    public async Task Store_ClosedAndReopened_KeepsEveryRecord()
    {
        // Given a store with one record of each kind, then disposed (a process exit)
        var first = NewStore();
        await first.InitializeAsync();
        await first.RecordBuildAsync(Build("a", T0));
        await first.RecordValidationAsync(Validation("a", DigestOf("x"), true, T0));
        await first.RecordPromotionAsync(Promotion("a", DigestOf("x"), T0));
        await Backend.ReleaseStoresAsync();

        // When a new instance opens the same file
        var second = NewStore();
        await second.InitializeAsync();

        // Then everything is still there
        Assert.Single(await second.ListBuildsAsync());
        Assert.NotNull(await second.FindPassingValidationAsync("a", DigestOf("x")));
        Assert.Single(await second.ListPromotionsAsync());
    }

    [Fact]
    public async Task Store_TwoInstancesOnOneFile_BothWriteConcurrently()
    {
        // Given two instances on one file (two CLI processes)
        var one = NewStore();
        var two = NewStore();
        await Task.WhenAll(one.InitializeAsync(), two.InitializeAsync());

        // When both write at the same time
        var writes = Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? one : two).RecordValidationAsync(Validation("p", DigestOf($"d{i}"), true, T0.AddSeconds(i))));
        var ids = await Task.WhenAll(writes);

        // Then every write landed with its own id, and each instance sees the other's rows
        Assert.Equal(20, ids.Distinct().Count());
        Assert.Equal(20, (await one.ListValidationsAsync()).Count);
        Assert.Equal(20, (await two.ListValidationsAsync()).Count);
    }

    [Fact]
    public async Task RecordBuildAsync_WithCacheKey_RoundTripsThroughListAndLatest()
    {
        // Given a store
        var store = await NewInitializedStoreAsync();
        var key = DigestOf("key");

        // When a build with a cache key and one without are recorded
        await store.RecordBuildAsync(CacheBuild("app", T0, "a") with { CacheKey = key });
        await store.RecordBuildAsync(CacheBuild("base/slim", T0, "b"));

        // Then each reads back with its key, or none
        Assert.Equal(key, (await store.GetLatestBuildAsync("app"))!.CacheKey);
        Assert.Null((await store.GetLatestBuildAsync("base/slim"))!.CacheKey);
        Assert.Equal([null, key], (await store.ListBuildsAsync()).Select(b => b.CacheKey).Order().ToList());
    }

    [Fact]
    public async Task FindBuildByCacheKeyAsync_SeveralBuilds_NewestOfThatSubjectAndKeyOnly()
    {
        // Given builds of two subjects under two keys
        var store = await NewInitializedStoreAsync();
        var key = DigestOf("key");
        var other = DigestOf("other");
        await store.RecordBuildAsync(CacheBuild("app", T0, "old") with { CacheKey = key });
        var newest = await store.RecordBuildAsync(CacheBuild("app", T0.AddMinutes(5), "new") with { CacheKey = key });
        await store.RecordBuildAsync(CacheBuild("app", T0.AddMinutes(10), "later-other-key") with { CacheKey = other });
        await store.RecordBuildAsync(CacheBuild("app2", T0.AddMinutes(20), "other-subject") with { CacheKey = key });

        // When looked up by subject and key
        var found = await store.FindBuildByCacheKeyAsync("app", key);

        // Then the newest build of that subject with that key answers; unknown pairs answer null
        Assert.NotNull(found);
        Assert.Equal(newest, found.Id);
        Assert.Equal(DigestOf("new"), found.Digest);
        Assert.Equal(key, found.CacheKey);
        Assert.Null(await store.FindBuildByCacheKeyAsync("app", DigestOf("never")));
        Assert.Null(await store.FindBuildByCacheKeyAsync("nope", key));
    }

    /// <summary>A new store instance on the test's database, as another process would open it.</summary>
    protected IStateStore NewStore() => Backend.NewStateStore();

    protected async Task<IStateStore> NewInitializedStoreAsync()
    {
        var store = NewStore();
        await store.InitializeAsync();
        return store;
    }

    protected static Digest DigestOf(string content) => Digest.Sha256Of(System.Text.Encoding.UTF8.GetBytes(content));

    protected static BuildRecord Build(string subject, DateTimeOffset at) =>
        new(0, subject, "pipeline", "staging", ImageReference.Parse($"127.0.0.1:5001/apps/x@{DigestOf(subject + at.Ticks)}"), ["1"], "1", DigestOf("base"), "ci", at, TimeSpan.FromSeconds(1));

    protected static ValidationRecord Validation(string pipeline, Digest digest, bool passed, DateTimeOffset at) =>
        new(0, pipeline, "staging", ImageReference.Parse($"127.0.0.1:5001/apps/{pipeline}@{digest}"), passed, [new TestResult("command", "runs", passed, "out", TimeSpan.FromMilliseconds(5))], "ci", at, TimeSpan.FromSeconds(2));

    protected static PromotionRecord Promotion(string pipeline, Digest digest, DateTimeOffset at) =>
        new(0, pipeline, "staging", "production", ImageReference.Parse($"127.0.0.1:5001/apps/{pipeline}@{digest}"), ImageReference.Parse($"127.0.0.1:5002/apps/{pipeline}@{digest}"), ["1"], null, "ci", at, 10, 1, 0);

    protected static BuildRecord CacheBuild(string subject, DateTimeOffset at, string image) =>
        new(0, subject, "pipeline", "staging", ImageReference.Parse($"127.0.0.1:5001/apps/{subject.Replace('/', '-')}@{DigestOf(image)}"), ["1"], "1", DigestOf("base"), "ci", at, TimeSpan.FromSeconds(1));
}
