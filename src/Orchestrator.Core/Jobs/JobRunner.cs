using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Jobs;

/// <summary>How a job ended: its final state, the CLI exit code it maps to, the error and the result document.</summary>
public sealed record JobOutcome(JobState State, int ExitCode, string? Error, string? ResultJson);

/// <summary>What the worker hands one job: the definitions it runs on (taken when it started) and the engine that labels its containers as its own.</summary>
public sealed record JobContext(Workspace Workspace, IDockerEngine Engine)
{
    /// <summary>
    /// The pool builds, validations and runs are placed on (issue 14, item 3); null runs every job on <see cref="Engine"/>.
    /// <value>The default is null.</value>
    /// </summary>
    public IEnginePool? Engines { get; init; }

    /// <summary>
    /// Wraps the engine a job was placed on (its name, its client) as this job's own, e.g. an
    /// <see cref="OwnedDockerEngine"/> labelling its containers; null uses the pool's client as it is. <value>The default is null.</value>
    /// </summary>
    public Func<string, IDockerEngine, IDockerEngine>? OwnEngine { get; init; }
}

/// <summary>
/// Runs one claimed job through the workflows, with the job's log as its reporter and the submitter as
/// its actor, and maps the outcome the way the CLI maps a verb's: succeeded 0, failed or refused 1, bad
/// input 2, cancelled 1. Never throws for a job's own failure; the caller stores the outcome.
/// </summary>
public sealed partial class JobRunner(IJobStore store, WorkflowGraph workflows, ILogger<JobRunner> logger)
{
    // A promotion, and with Attest its record attached as an in-toto statement: the document is the CLI's
    // promote --json, with "statement" naming the referrer as 'promote --attest' prints it in-process.
    private static async Task<PromotionDocument> PromoteAsync(PromotionWorkflow workflow, JobRequest request, CancellationToken cancellationToken)
    {
        var result = await workflow.PromoteAsync(request.Pipeline, Require(request.Digest), request.Stage, request.DryRun, cancellationToken).ConfigureAwait(false);
        if (!request.Attest || result.DryRun)
        {
            return ResultDocuments.Promotion(result);
        }

        var statement = await workflow.AttestAsync(result.Pipeline, result.PromotionId, cancellationToken).ConfigureAwait(false);
        return ResultDocuments.Promotion(result) with { Statement = statement.ToString() };
    }

    /// <summary>What is true after a job of <paramref name="kind"/> was cancelled, said for that kind.</summary>
    public static string CancelledMessage(JobKind kind) => kind switch
    {
        // The build records itself last, after its image, tags and SBOM are in the stage.
        JobKind.Build => "cancelled; the build was not recorded (if its push had finished, the stage's tags may already name the new image): build again to record it",
        JobKind.Validate => "cancelled; no validation was recorded, so the digest counts as not validated: validate it again",
        JobKind.Promote => "cancelled; tags are only set after every manifest is verified, so nothing half-promoted is tagged: promote again to finish the copy",
        _ => "cancelled; steps that finished are recorded (build, validation, promotions to earlier stages), a promotion cut short tagged nothing: run again to continue",
    };

    /// <summary>Runs <paramref name="job"/>; <paramref name="cancellationToken"/> is the job's cancel (or the daemon stopping).</summary>
    public async Task<JobOutcome> RunAsync(Job job, JobContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(context);
        await using var reporter = new JobLogReporter(store, job.Id, logger);
        var request = job.Request;
        var placed = new StrongBox<string?>();
        try
        {
            reporter.Step($"{request.Kind.ToString().ToLowerInvariant()} {request.Pipeline} (job {job.Id}, attempt {job.Attempt}, by {job.RequestedBy})");
            var json = context.Engines is { } pool && UsesEngine(request.Kind)
                ? await RunPlacedAsync(job, context, pool, reporter, placed, cancellationToken).ConfigureAwait(false)
                : await ExecuteAsync(job, context, context.Engine, reporter, cancellationToken).ConfigureAwait(false);
            reporter.Step("done");
            return new JobOutcome(JobState.Succeeded, ExitCodes.Success, null, WithEngine(json, placed.Value));
        }
        catch (ValidationFailedException failed)
        {
            reporter.Step($"failed: {failed.Message}");
            return new JobOutcome(JobState.Failed, failed.ExitCode, failed.Message, WithEngine(ResultDocuments.Serialize(ResultDocuments.Validation(failed.Result), ResultJsonContext.Default.ValidationDocument), placed.Value));
        }
        catch (OrchestratorException failed)
        {
            reporter.Step($"failed: {failed.Message}");
            return new JobOutcome(JobState.Failed, failed.ExitCode, failed.Message, null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            reporter.Step("cancelled");
            return new JobOutcome(JobState.Cancelled, ExitCodes.JobFailed, CancelledMessage(request.Kind), null);
        }
        catch (Exception unexpected)
        {
            LogUnexpected(unexpected, job.Id);
            reporter.Step($"failed: unexpected {unexpected.GetType().Name}: {unexpected.Message}");
            return new JobOutcome(JobState.Failed, ExitCodes.JobFailed, $"unexpected {unexpected.GetType().Name}: {unexpected.Message}", null);
        }
    }

    /// <summary>Builds, validations and runs use an engine; a promotion copies registry to registry and takes no slot.</summary>
    internal static bool UsesEngine(JobKind kind) => kind is JobKind.Build or JobKind.Validate or JobKind.Run;

    /// <summary>
    /// <paramref name="resultJson"/> (an object) with <c>"engine": NAME</c> added last, so the record says where the job ran;
    /// the rest of the text is kept byte for byte. Unchanged when the job was not placed.
    /// </summary>
    internal static string? WithEngine(string? resultJson, string? engine)
    {
        if (engine is null || resultJson is null)
        {
            return resultJson;
        }

        var text = resultJson.TrimEnd();
        if (!text.StartsWith('{') || !text.EndsWith('}'))
        {
            return resultJson;
        }

        var body = text[..^1].TrimEnd();
        var name = System.Text.Json.JsonEncodedText.Encode(engine).ToString();
        return body == "{" ? $"{{\"engine\":\"{name}\"}}" : $"{body},\"engine\":\"{name}\"}}";
    }

    // The job on a slot of the pool. When the engine it ran on stops answering (a probe after the failure gets no answer), that
    // engine is marked down and the job is placed once more, on another engine: every step is idempotent, so a rerun ends the same.
    private async Task<string> RunPlacedAsync(Job job, JobContext context, IEnginePool pool, JobLogReporter reporter, StrongBox<string?> placed, CancellationToken cancellationToken)
    {
        var image = PlacementImage(context.Workspace, job.Request);
        var excluded = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var lease = await pool.AcquireAsync(new EnginePlacement(image, excluded), cancellationToken).ConfigureAwait(false);
            await using (lease.ConfigureAwait(false))
            {
                placed.Value = lease.Name;
                reporter.Step($"on engine {lease.Name} ({lease.Endpoint}){(lease.HoldsImage ? $", which holds {image}" : string.Empty)}");
                var engine = context.OwnEngine?.Invoke(lease.Name, lease.Engine) ?? lease.Engine;
                try
                {
                    return await ExecuteAsync(job, context, engine, reporter, cancellationToken).ConfigureAwait(false);
                }
                catch (OrchestratorException failure) when (failure is not ValidationFailedException && excluded.Count == 0 && pool.Names.Count > 1 && !cancellationToken.IsCancellationRequested)
                {
                    if (await pool.ProbeAsync(lease.Name, EngineProbeTimeout, cancellationToken).ConfigureAwait(false))
                    {
                        throw;
                    }

                    excluded.Add(lease.Name);
                    LogEngineLost(job.Id, lease.Name, failure.Message);
                    reporter.Step($"engine {lease.Name} stopped answering ({failure.Message}): placing the job on another engine");
                }
            }
        }
    }

    /// <summary>How long the engine a job failed on gets to answer before the job moves to another. <value>3 s.</value></summary>
    internal static TimeSpan EngineProbeTimeout { get; set; } = TimeSpan.FromSeconds(3);

    // The image the job starts from, by digest, so the pool prefers an engine that holds it: a build's (or run's) locked
    // base, a validation's image in the first stage. Null when it cannot be told yet (the job then reports why itself).
    private static string? PlacementImage(Workspace workspace, JobRequest request)
    {
        if (!workspace.Pipelines.TryGetValue(request.Pipeline, out var pipeline))
        {
            return null;
        }

        return request.Kind switch
        {
            JobKind.Build or JobKind.Run => pipeline.Lock?.Base is { } locked ? locked.Reference.WithDigest(locked.Digest).ToString() : null,
            JobKind.Validate when request.Digest is { } digest => ImageReference.Create(workspace.Config.FirstStage.Registry.Host, pipeline.Repository, digest: digest).ToString(),
            _ => null,
        };
    }

    private async Task<string> ExecuteAsync(Job job, JobContext context, IDockerEngine engine, JobLogReporter reporter, CancellationToken cancellationToken)
    {
        var request = job.Request;
        var scoped = workflows.Create(new WorkflowScope(new FixedWorkspace(context.Workspace), reporter, new FixedActor(job.RequestedBy), engine));
        return request.Kind switch
        {
            JobKind.Build => ResultDocuments.Serialize(
                ResultDocuments.Build(await scoped.Builds.BuildAsync(request.Pipeline, buildMissingBase: true, request.NoCache, cancellationToken).ConfigureAwait(false)),
                ResultJsonContext.Default.BuildDocument),
            JobKind.Validate => ResultDocuments.Serialize(
                ResultDocuments.Validation(await ValidateAsync(scoped.Validations, context.Workspace, request, cancellationToken).ConfigureAwait(false)),
                ResultJsonContext.Default.ValidationDocument),
            JobKind.Promote => ResultDocuments.Serialize(
                await PromoteAsync(scoped.Promotions, request, cancellationToken).ConfigureAwait(false),
                ResultJsonContext.Default.PromotionDocument),
            JobKind.Run => ResultDocuments.Serialize(
                ResultDocuments.Run(await scoped.Runs.RunAsync(request.Pipeline, request.NoCache, cancellationToken).ConfigureAwait(false)),
                ResultJsonContext.Default.RunDocument),
            _ => throw new InputException($"unknown job kind {request.Kind}"),
        };
    }

    private async Task<ValidationResult> ValidateAsync(ValidationWorkflow validations, Workspace workspace, JobRequest request, CancellationToken cancellationToken)
    {
        var digest = request.Digest
            ?? (await workflows.State.GetLatestBuildAsync(workspace.GetPipeline(request.Pipeline).Name, cancellationToken).ConfigureAwait(false))?.Digest
            ?? throw new InputException($"no build of '{request.Pipeline}' is recorded: give a digest, or build it first");
        var result = await validations.ValidateAsync(request.Pipeline, digest, cancellationToken).ConfigureAwait(false);
        return result.Passed ? result : throw new ValidationFailedException(result);
    }

    private static Digest Require(Digest? digest) =>
        digest ?? throw new InputException("a promote job needs a digest: the validated digest to promote");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: engine {Engine} stopped answering ({Reason}); placing the job on another engine")]
    private partial void LogEngineLost(long jobId, string engine, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed unexpectedly")]
    private partial void LogUnexpected(Exception exception, long jobId);

    private sealed class FixedActor(string actor) : IActorProvider
    {
        public string Actor => actor;
    }
}

/// <summary>
/// A reporter that appends to a job's log. Reporters are synchronous and the store is not, so lines go
/// through a channel drained in order by one writer; disposing waits for the last line. Engine progress
/// is thinned to status changes so a layer upload does not write a line per chunk.
/// </summary>
internal sealed partial class JobLogReporter : IJobReporter, IAsyncDisposable
{
    private readonly Channel<(string Kind, string Message)> _lines = Channel.CreateUnbounded<(string, string)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, string> _lastStatus = new(StringComparer.Ordinal);
    private readonly Task _writer;
    private readonly ILogger _logger;

    public JobLogReporter(IJobStore store, long jobId, ILogger logger)
    {
        _logger = logger;
        _writer = Task.Run(async () =>
        {
            await foreach (var (kind, message) in _lines.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                try
                {
                    await store.AppendLogAsync(jobId, kind, message).ConfigureAwait(false);
                }
                catch (Exception exception)
                {
                    // A log line lost must never fail the job it describes.
                    LogAppendFailed(exception, jobId);
                }
            }
        });
    }

    public void Step(string message) => _lines.Writer.TryWrite(("step", message));

    public void Detail(string message) => _lines.Writer.TryWrite(("detail", message));

    public void Output(string line) => _lines.Writer.TryWrite(("output", line));

    // Structured progress, kept as JSON so a CLI following the job renders it as it would in-process.
    public void Event(ProgressEvent progress) =>
        _lines.Writer.TryWrite((ProgressEvent.LogKind, System.Text.Json.JsonSerializer.Serialize(progress, ProgressJsonContext.Default.ProgressEvent)));

    public void Progress(EngineProgress progress)
    {
        if (progress.Stream is { } stream && !string.IsNullOrWhiteSpace(stream))
        {
            _lines.Writer.TryWrite(("output", stream.TrimEnd('\n', '\r')));
            return;
        }

        if (progress.Status is not { } status)
        {
            return;
        }

        var key = progress.Id ?? string.Empty;
        lock (_lastStatus)
        {
            if (_lastStatus.TryGetValue(key, out var last) && last == status)
            {
                return;
            }

            _lastStatus[key] = status;
        }

        var total = progress.Total is > 0 ? $" ({ImageSize.Format(progress.Total.Value)})" : string.Empty;
        _lines.Writer.TryWrite(("progress", $"{(progress.Id is null ? string.Empty : progress.Id + ": ")}{status}{total}"));
    }

    public async ValueTask DisposeAsync()
    {
        _lines.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not append to the log of job {JobId}")]
    private partial void LogAppendFailed(Exception exception, long jobId);
}
