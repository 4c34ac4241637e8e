namespace Orchestrator.Core.Jobs.Documents;

/// <summary><c>history --json</c> and <c>GET /api/pipelines/{name}/history</c>, newest first.</summary>
public sealed record HistoryDocument(string Pipeline, IReadOnlyList<HistoryEntryDocument> History);

/// <summary>A build, validation or promotion; <c>passed</c> only for a validation, <c>tests</c> (each test's result and output) too.</summary>
public sealed record HistoryEntryDocument(DateTimeOffset At, string Kind, string Stage, string Digest, string Actor, bool? Passed, string Summary, IReadOnlyList<TestDocument>? Tests = null);
