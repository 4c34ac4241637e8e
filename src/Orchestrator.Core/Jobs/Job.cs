using Orchestrator.Core.References;

namespace Orchestrator.Core.Jobs;

/// <summary>What a job does.</summary>
public enum JobKind
{
    /// <summary>Build a pipeline and push it to the first stage.</summary>
    Build,

    /// <summary>Validate a digest in the first stage.</summary>
    Validate,

    /// <summary>Promote a validated digest to a stage.</summary>
    Promote,

    /// <summary>Build, validate and promote through every stage.</summary>
    Run,
}

/// <summary>Where a job is in its life. Queued and Running are live; the others are final and never change again.</summary>
public enum JobState
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>A request for work, as a client submits it (<c>POST /api/jobs</c>).</summary>
/// <param name="Kind">What to do.</param>
/// <param name="Pipeline">The pipeline.</param>
/// <param name="Digest">The digest, for validate and promote (required for promote).</param>
/// <param name="Stage">The target stage, for promote (default: the stage after the first).</param>
/// <param name="DryRun">Promote only: plan, and fail exactly when the promotion would.</param>
/// <param name="NoCache">Build and run only: ignore the engine's layer cache.</param>
/// <param name="Attest">Promote only (not with <paramref name="DryRun"/>): also attach the promotion record to the target digest as an in-toto statement referrer.</param>
public sealed record JobRequest(JobKind Kind, string Pipeline, Digest? Digest = null, string? Stage = null, bool DryRun = false, bool NoCache = false, bool Attest = false)
{
    /// <summary>
    /// The pipeline's definition and lock as the job must run them (sent by the CLI, else the daemon's at
    /// submission); the worker refuses to run other content. Null for jobs stored before hashes existed.
    /// <value>The default is null.</value>
    /// </summary>
    public Definitions.DefinitionHashes? Definition { get; init; }
}

/// <summary>A job, as stored: the request, who asked, where it is, and how it ended.</summary>
/// <param name="Id">Store id, increasing.</param>
/// <param name="Request">What was asked.</param>
/// <param name="RequestedBy">The token name (or OS user) that submitted it.</param>
/// <param name="State">Where it is.</param>
/// <param name="CreatedAt">When it was accepted.</param>
/// <param name="StartedAt">When its current attempt started, or null while queued.</param>
/// <param name="FinishedAt">When it reached a final state, or null.</param>
/// <param name="Attempt">1 for the first run; more when a daemon restart re-ran an interrupted job.</param>
/// <param name="CancelRequested">True once a cancel was asked for a running job.</param>
/// <param name="Error">Why it failed or was cancelled, or null.</param>
/// <param name="ExitCode">The CLI exit code its outcome maps to (0, 1, 2), or null while live.</param>
/// <param name="ResultJson">The outcome as JSON (the same shape as the CLI's --json), or null.</param>
public sealed record Job(
    long Id,
    JobRequest Request,
    string RequestedBy,
    JobState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    int Attempt,
    bool CancelRequested,
    string? Error,
    int? ExitCode,
    string? ResultJson)
{
    public bool IsFinal => State is JobState.Succeeded or JobState.Failed or JobState.Cancelled;

    /// <summary>
    /// The lane the job runs in: one job at a time per pipeline and stage. Build and validate work in the
    /// first stage, promote in its target stage; a run touches every stage, so it takes the whole pipeline.
    /// </summary>
    public string Lane(string firstStage, string defaultPromotionStage) => Request.Kind switch
    {
        JobKind.Run => $"{Request.Pipeline}/*",
        JobKind.Promote => $"{Request.Pipeline}/{Request.Stage ?? defaultPromotionStage}",
        _ => $"{Request.Pipeline}/{firstStage}",
    };
}

/// <summary>One line of a job's log. <see cref="Kind"/> is <c>step</c>, <c>detail</c>, <c>output</c> or <c>progress</c>.</summary>
/// <param name="Sequence">Increasing within the job, from 1; clients poll with <c>after=</c> the last one they saw.</param>
/// <param name="At">When it was written.</param>
/// <param name="Kind">step, detail, output, progress.</param>
/// <param name="Message">The text.</param>
public sealed record JobLogEntry(long Sequence, DateTimeOffset At, string Kind, string Message);

/// <summary>A filter for listing jobs; null members do not filter.</summary>
public sealed record JobFilter(string? Pipeline = null, string? Stage = null, JobState? State = null, JobKind? Kind = null, int Limit = 100);
