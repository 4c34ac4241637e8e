using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Tests.Fakes;

/// <summary>An append-only in-memory state store; ids start at 1 per kind.</summary>
internal sealed class FakeStateStore : IStateStore
{
    public List<BuildRecord> Builds { get; } = [];

    public List<ValidationRecord> Validations { get; } = [];

    public List<PromotionRecord> Promotions { get; } = [];

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<long> RecordBuildAsync(BuildRecord record, CancellationToken cancellationToken = default)
    {
        Builds.Add(record with { Id = Builds.Count + 1 });
        return Task.FromResult((long)Builds.Count);
    }

    public Task<long> RecordValidationAsync(ValidationRecord record, CancellationToken cancellationToken = default)
    {
        Validations.Add(record with { Id = Validations.Count + 1 });
        return Task.FromResult((long)Validations.Count);
    }

    /// <summary>When set, the next promotion record fails with it (then it is cleared), as a full disk or a lost database would.</summary>
    public Exception? RecordPromotionThrowsOnce { get; set; }

    public Task<long> RecordPromotionAsync(PromotionRecord record, CancellationToken cancellationToken = default)
    {
        if (RecordPromotionThrowsOnce is { } failure)
        {
            RecordPromotionThrowsOnce = null;
            throw failure;
        }

        Promotions.Add(record with { Id = Promotions.Count + 1 });
        return Task.FromResult((long)Promotions.Count);
    }

    /// <summary>Appends a validation of <paramref name="reference"/>, as a previous run would have.</summary>
    public ValidationRecord AddValidation(string pipeline, ImageReference reference, bool passed, DateTimeOffset at)
    {
        var record = new ValidationRecord(Validations.Count + 1, pipeline, "staging", reference, passed, [], "earlier", at, TimeSpan.FromSeconds(1));
        Validations.Add(record);
        return record;
    }

    public Task<BuildRecord?> GetLatestBuildAsync(string subject, CancellationToken cancellationToken = default) =>
        Task.FromResult(Builds.LastOrDefault(b => b.Subject == subject));

    public Task<IReadOnlyList<BuildRecord>> ListBuildsAsync(string? subject = null, int limit = 100, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<BuildRecord>>(Builds.Where(b => subject is null || b.Subject == subject).Reverse().Take(limit).ToList());

    public Task<ValidationRecord?> FindPassingValidationAsync(string pipeline, Digest digest, CancellationToken cancellationToken = default) =>
        Task.FromResult(Validations.LastOrDefault(v => v.Pipeline == pipeline && v.Digest == digest && v.Passed));

    public Task<IReadOnlyList<ValidationRecord>> ListValidationsAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<ValidationRecord>>(Validations.Where(v => pipeline is null || v.Pipeline == pipeline).Reverse().Take(limit).ToList());

    public Task<BuildRecord?> FindBuildByCacheKeyAsync(string subject, Digest cacheKey, CancellationToken cancellationToken = default) =>
        Task.FromResult(Builds.LastOrDefault(b => b.Subject == subject && b.CacheKey == cacheKey));

    public Task<IReadOnlyList<PromotionRecord>> ListPromotionsAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<PromotionRecord>>(Promotions.Where(p => pipeline is null || p.Pipeline == pipeline).Reverse().Take(limit).ToList());
}
