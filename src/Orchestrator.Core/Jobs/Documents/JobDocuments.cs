using System.Text.Json;

namespace Orchestrator.Core.Jobs.Documents;

/// <summary>A job the CLI submitted without waiting: its id, its state and the daemon that holds it.</summary>
public sealed record SubmittedJobDocument(long Id, string State, string Server);

/// <summary><c>jobs --json</c>: the daemon's job views as it served them.</summary>
public sealed record JobListDocument(IReadOnlyList<JsonElement> Jobs);

/// <summary><c>status PIPELINE --json</c> against a daemon: its status entries, the one asked for kept.</summary>
public sealed record PipelineEntriesDocument(IReadOnlyList<JsonElement> Pipelines);

/// <summary>
/// The body of <c>POST /api/jobs</c> as the CLI sends it: the kind (build, validate, promote, run) in lower case,
/// the digest as sha256:…, and the SHA-256 of the definition and lock the submitter holds, so the daemon runs that content.
/// </summary>
public sealed record JobSubmissionDocument(
    string Kind,
    string Pipeline,
    string? Digest,
    string? Stage,
    bool DryRun,
    bool NoCache,
    bool Attest,
    string? DefinitionSha256,
    string? LockSha256);
