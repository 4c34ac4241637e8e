using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Cli.Remote;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Verbs;

/// <summary>
/// <c>orchestrator job ID</c>: one daemon job with its log; <c>--follow</c> follows it to the end and exits with
/// its exit code; <c>--cancel</c> cancels it (stopping a follow with Ctrl+C never does).
/// </summary>
internal sealed class JobCommand : VerbCommand
{
    private readonly Argument<long> _id = new("id") { Description = "The job id, as 'jobs' lists it or --no-wait printed it" };
    private readonly Option<bool> _follow = new("--follow", "-f") { Description = "Follow the log until the job ends; exit with the job's exit code" };
    private readonly Option<bool> _cancel = new("--cancel") { Description = "Cancel the job: a queued one at once, a running one at its next safe point (no tag is set after it)" };

    public JobCommand(CliConsole console)
        : base("job", "Show one of the daemon's jobs and its log; --follow to follow it live, --cancel to cancel it", console)
    {
        Arguments.Add(_id);
        Options.Add(_follow);
        Options.Add(_cancel);
    }

    protected override RemoteMode Remote => RemoteMode.Required;

    protected override Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    protected override async Task<int> ExecuteRemoteAsync(ParseResult parseResult, DaemonClient daemon, CancellationToken cancellationToken)
    {
        var id = parseResult.GetValue(_id);
        var json = parseResult.GetValue(CliOptions.Json);
        if (parseResult.GetValue(_cancel) && parseResult.GetValue(_follow))
        {
            throw new InputException("--cancel and --follow do not go together: cancel, then 'orchestrator job ID --follow' to watch it stop");
        }

        if (parseResult.GetValue(_cancel))
        {
            var before = await daemon.GetJobAsync(id, cancellationToken).ConfigureAwait(false);
            var after = await daemon.CancelJobAsync(id, cancellationToken).ConfigureAwait(false);
            var message = before.IsFinal
                ? $"job {id} already ended ({before.State.ToString().ToLowerInvariant()}); nothing to cancel"
                : after.State == JobState.Cancelled
                    ? $"job {id} cancelled before it started"
                    : $"job {id}: cancel requested; it stops at its next safe point (follow it with 'orchestrator job {id} --follow')";
            if (json)
            {
                JsonOutput.Write(Console.Out, after.Raw);
            }
            else
            {
                await Console.Out.WriteLineAsync(message).ConfigureAwait(false);
            }

            return ExitCodes.Success;
        }

        if (parseResult.GetValue(_follow))
        {
            return await new JobFollower(daemon, Console, json, parseResult.GetValue(CliOptions.Verbose)).FollowAsync(id, cancellationToken).ConfigureAwait(false);
        }

        var job = await daemon.GetJobAsync(id, cancellationToken).ConfigureAwait(false);
        if (json)
        {
            JsonOutput.Write(Console.Out, job.Raw);
            return ExitCodes.Success;
        }

        await WriteDetailsAsync(job).ConfigureAwait(false);
        var log = new List<JobLogEntry>();
        for (long last = 0; ;)
        {
            var page = await daemon.GetLogAsync(id, last, cancellationToken).ConfigureAwait(false);
            var fresh = page.Entries.Where(e => e.Sequence > last).ToList();
            if (fresh.Count == 0)
            {
                break;
            }

            log.AddRange(fresh);
            last = fresh[^1].Sequence;
        }

        await Console.Out.WriteLineAsync($"log ({log.Count} line(s)):").ConfigureAwait(false);
        foreach (var entry in log)
        {
            var text = entry.Kind == "step" ? $"==> {entry.Message}" : $"    {entry.Message}";
            await Console.Out.WriteLineAsync($"  {TextTable.Time(entry.At)}  {text}").ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }

    private async Task WriteDetailsAsync(RemoteJob job)
    {
        var now = Console.Environment.Time.GetUtcNow();
        var lines = new List<(string Name, string? Value)>
        {
            ("job", job.Id.ToString(CultureInfo.InvariantCulture)),
            ("kind", job.Kind),
            ("pipeline", job.Pipeline),
            ("stage", job.Stage),
            ("digest", job.Digest),
            ("state", JobsCommand.StateText(job)),
            ("attempt", job.Attempt.ToString(CultureInfo.InvariantCulture)),
            ("requested by", job.RequestedBy),
            ("created", TextTable.Time(job.CreatedAt)),
            ("started", TextTable.Time(job.StartedAt)),
            ("finished", TextTable.Time(job.FinishedAt)),
            ("duration", JobsCommand.DurationText(job, now)),
            ("exit code", job.ExitCode?.ToString(CultureInfo.InvariantCulture)),
            ("error", job.Error),
            ("engine", job.Result is { ValueKind: System.Text.Json.JsonValueKind.Object } placed && placed.TryGetProperty("engine", out var engine) ? engine.GetString() : null),
            ("result", job.State == JobState.Succeeded && job.Result is { } result ? JobFollower.HumanResult(job.Kind, result) : null),
        };
        foreach (var (name, value) in lines.Where(l => l.Value is not null))
        {
            await Console.Out.WriteLineAsync($"{name + ":",-14}{value}").ConfigureAwait(false);
        }
    }
}
