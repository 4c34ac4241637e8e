namespace Orchestrator.Core.Jobs.Documents;

/// <summary><c>release --format json</c> and <c>GET /api/releases/{pipeline}/{stage}</c>: what a cluster deploys and what vouches for it.</summary>
public sealed record ReleaseDocument(
    string Pipeline,
    string Stage,
    string Reference,
    string Repository,
    string Digest,
    IReadOnlyList<string> Tags,
    string Version,
    string? BaseDigest,
    DateTimeOffset? ValidatedAt,
    DateTimeOffset? ReleasedAt,
    string? ReleasedBy,
    bool Recorded);
