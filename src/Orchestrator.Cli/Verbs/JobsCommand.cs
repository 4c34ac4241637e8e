using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Cli.Remote;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Verbs;

/// <summary><c>orchestrator jobs</c>: the daemon's jobs, newest first (<c>GET /api/jobs</c>); there are no jobs without a daemon.</summary>
internal sealed class JobsCommand : VerbCommand
{
    private readonly Option<string?> _pipeline = new("--pipeline") { Description = "Only this pipeline's jobs" };
    private readonly Option<string?> _stage = new("--stage") { Description = "Only jobs in this stage (promotions by target stage)" };
    private readonly Option<string?> _state = new("--state") { Description = "Only jobs in this state: queued, running, succeeded, failed, cancelled" };
    private readonly Option<string?> _kind = new("--kind") { Description = "Only jobs of this kind: build, validate, promote, run" };
    private readonly Option<int> _limit = new("--limit") { Description = "At most this many (1 to 1000)", DefaultValueFactory = _ => 20 };

    public JobsCommand(CliConsole console)
        : base("jobs", "List the daemon's jobs, newest first: id, kind, pipeline, stage, state, attempt, who asked, when, how long", console)
    {
        Options.Add(_pipeline);
        Options.Add(_stage);
        Options.Add(_state);
        Options.Add(_kind);
        Options.Add(_limit);
    }

    protected override RemoteMode Remote => RemoteMode.Required;

    protected override Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    protected override async Task<int> ExecuteRemoteAsync(ParseResult parseResult, DaemonClient daemon, CancellationToken cancellationToken)
    {
        var limit = parseResult.GetValue(_limit);
        if (limit is < 1 or > 1000)
        {
            throw new InputException($"--limit must be from 1 to 1000, not {limit}");
        }

        var filter = new JobFilter(
            parseResult.GetValue(_pipeline),
            parseResult.GetValue(_stage),
            ParseEnum<JobState>(parseResult.GetValue(_state), "--state", "queued, running, succeeded, failed, cancelled"),
            ParseEnum<JobKind>(parseResult.GetValue(_kind), "--kind", "build, validate, promote, run"),
            limit);
        var jobs = await daemon.ListJobsAsync(filter, cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(CliOptions.Json))
        {
            JsonOutput.Write(Console.Out, new JobListDocument([.. jobs.Select(j => j.Raw)]), ResultJsonContext.Default.JobListDocument);
            return ExitCodes.Success;
        }

        var now = Console.Environment.Time.GetUtcNow();
        var table = new TextTable("ID", "KIND", "PIPELINE", "STAGE", "STATE", "ATTEMPT", "REQUESTED BY", "CREATED", "DURATION");
        foreach (var job in jobs)
        {
            table.Add(job.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), job.Kind, job.Pipeline, job.Stage, StateText(job),
                job.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture), job.RequestedBy, TextTable.Time(job.CreatedAt), DurationText(job, now));
        }

        table.Write(Console.Out);
        if (jobs.Count == 0)
        {
            await Console.Error.WriteLineAsync("no jobs match").ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }

    internal static string StateText(RemoteJob job) =>
        job.State.ToString().ToLowerInvariant() + (job.CancelRequested && !job.IsFinal ? " (cancelling)" : string.Empty);

    internal static string? DurationText(RemoteJob job, DateTimeOffset now) => job.StartedAt is { } started
        ? TextTable.Duration((job.FinishedAt ?? now) - started)
        : null;

    private static T? ParseEnum<T>(string? value, string option, string allowed)
        where T : struct, Enum =>
        value is null ? null
        : Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && !int.TryParse(value, out _) ? parsed
        : throw new InputException($"{option} '{value}' is not one of {allowed}");
}
