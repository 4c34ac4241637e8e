using Orchestrator.Core.References;

namespace Orchestrator.Core.Ports;

/// <summary>
/// The persisted record of what Orchestrator did: builds, validations, promotions (who, when, what
/// digest, result). Implemented by Orchestrator.State on SQLite. Records are append-only: a rerun
/// adds a record, it never rewrites one.
/// </summary>
public interface IStateStore
{
    /// <summary>Creates or migrates the schema; safe to call on every start.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Appends a build record; returns its id.</summary>
    Task<long> RecordBuildAsync(BuildRecord record, CancellationToken cancellationToken = default);

    /// <summary>Appends a validation record with every test's result; returns its id.</summary>
    Task<long> RecordValidationAsync(ValidationRecord record, CancellationToken cancellationToken = default);

    /// <summary>Appends a promotion record; returns its id.</summary>
    Task<long> RecordPromotionAsync(PromotionRecord record, CancellationToken cancellationToken = default);

    /// <summary>The latest build of <paramref name="subject"/> (a pipeline, or <c>BASE/VARIANT</c> such as <c>debian-bookworm/slim</c>), or null.</summary>
    Task<BuildRecord?> GetLatestBuildAsync(string subject, CancellationToken cancellationToken = default);

    /// <summary>The builds, newest first; all subjects when <paramref name="subject"/> is null.</summary>
    Task<IReadOnlyList<BuildRecord>> ListBuildsAsync(string? subject = null, int limit = 100, CancellationToken cancellationToken = default);

    /// <summary>The newest passing validation of <paramref name="digest"/> for <paramref name="pipeline"/>, or null.</summary>
    Task<ValidationRecord?> FindPassingValidationAsync(string pipeline, Digest digest, CancellationToken cancellationToken = default);

    /// <summary>The validations, newest first; all pipelines when null.</summary>
    Task<IReadOnlyList<ValidationRecord>> ListValidationsAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default);

    /// <summary>The promotions, newest first; all pipelines when null.</summary>
    Task<IReadOnlyList<PromotionRecord>> ListPromotionsAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default);

    /// <summary>
    /// The newest build of <paramref name="subject"/> recorded with <paramref name="cacheKey"/> (see
    /// <see cref="Workflows.BuildCacheKey"/>), or null. A store without a build cache always answers null,
    /// which makes every build a cache miss.
    /// </summary>
    Task<BuildRecord?> FindBuildByCacheKeyAsync(string subject, Digest cacheKey, CancellationToken cancellationToken = default) =>
        Task.FromResult<BuildRecord?>(null);

    /// <summary>
    /// A cheap token that changes whenever a record is added (records are append-only), from any process;
    /// readers cache views of the records under it. Null means the store cannot say, so nothing may be cached.
    /// </summary>
    Task<string?> GetChangeTokenAsync(CancellationToken cancellationToken = default) => Task.FromResult<string?>(null);
}

/// <summary>A build of a pipeline or a base variant, pushed to a stage.</summary>
/// <param name="Id">Store id; 0 before it is recorded.</param>
/// <param name="Subject">The pipeline name, or <c>BASE/VARIANT</c> for a base build.</param>
/// <param name="Kind"><c>pipeline</c> or <c>base</c>.</param>
/// <param name="Stage">The stage it was pushed to.</param>
/// <param name="Reference">The digest-pinned reference, <c>127.0.0.1:5001/apps/x@sha256:…</c>.</param>
/// <param name="Tags">Tags pushed.</param>
/// <param name="Version">The pipeline version, or the base suite.</param>
/// <param name="BaseDigest">The base image digest it was built on, or null for a base.</param>
/// <param name="Actor">Who ran it.</param>
/// <param name="At">When it finished.</param>
/// <param name="Duration">How long it took.</param>
public sealed record BuildRecord(
    long Id,
    string Subject,
    string Kind,
    string Stage,
    ImageReference Reference,
    IReadOnlyList<string> Tags,
    string Version,
    Digest? BaseDigest,
    string Actor,
    DateTimeOffset At,
    TimeSpan Duration)
{
    public Digest Digest => Reference.Digest!;

    /// <summary>The build cache key of its inputs (<see cref="Workflows.BuildCacheKey"/>), or null (bases, older records). <value>The default is null.</value></summary>
    public Digest? CacheKey { get; init; }
}

/// <summary>A validation of one digest.</summary>
public sealed record ValidationRecord(
    long Id,
    string Pipeline,
    string Stage,
    ImageReference Reference,
    bool Passed,
    IReadOnlyList<TestResult> Results,
    string Actor,
    DateTimeOffset At,
    TimeSpan Duration)
{
    public Digest Digest => Reference.Digest!;
}

/// <summary>One test's result: kind (<c>command</c>, <c>file</c>, <c>metadata</c>, <c>size</c>), name, outcome and what it saw.</summary>
public sealed record TestResult(string Kind, string Name, bool Passed, string Detail, TimeSpan Duration);

/// <summary>A promotion of one digest from one stage to the next.</summary>
public sealed record PromotionRecord(
    long Id,
    string Pipeline,
    string FromStage,
    string ToStage,
    ImageReference Source,
    ImageReference Target,
    IReadOnlyList<string> Tags,
    long? ValidationId,
    string Actor,
    DateTimeOffset At,
    long BytesCopied,
    int BlobsCopied,
    int BlobsSkipped)
{
    public Digest Digest => Target.Digest!;
}
