namespace Orchestrator.Core.Jobs.Documents;

/// <summary><c>run --json</c> and a run job's result: the final digest-pinned reference and every step.</summary>
public sealed record RunDocument(
    string Pipeline,
    string Reference,
    string Digest,
    BaseBuildDocument Base,
    BuildDocument Build,
    ValidationDocument Validation,
    IReadOnlyList<PromotionDocument> Promotions);

/// <summary><c>run --all --json</c>: the runs that finished and the pipelines that failed.</summary>
public sealed record RunAllDocument(IReadOnlyList<RunDocument> Runs, IReadOnlyList<RunFailureDocument> Failed);

/// <summary>A pipeline <c>run --all</c> could not take through, and why.</summary>
public sealed record RunFailureDocument(string Pipeline, string Error);
