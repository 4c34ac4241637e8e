using System.Text.Json;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;

namespace Orchestrator.Cli.Remote;

/// <summary>
/// Follows a daemon job live: polls its log (<c>?after=</c> the last sequence seen) and prints each line the
/// way the in-process verb would, until the job is final; then prints its result and returns its exit code.
/// Stopping (Ctrl+C) stops following only: the job is the daemon's and keeps running.
/// </summary>
internal sealed class JobFollower(DaemonClient client, CliConsole console, bool json, bool verbose)
{
    private const int FullPage = 1000;
    private readonly ConsoleJobReporter _reporter = new(Progress.ProgressRenderers.Create(console, json), verbose);

    /// <summary>Submits <paramref name="request"/>; with <paramref name="noWait"/> prints the id and returns 0, else follows it.</summary>
    public async Task<int> SubmitAsync(JobRequest request, bool noWait, CancellationToken cancellationToken)
    {
        var job = await client.SubmitJobAsync(request, RolesOf(request), cancellationToken).ConfigureAwait(false);
        if (noWait)
        {
            if (json)
            {
                JsonOutput.Write(console.Out, new SubmittedJobDocument(job.Id, job.State.ToString().ToLowerInvariant(), client.Server.ToString()), ResultJsonContext.Default.SubmittedJobDocument);
            }
            else
            {
                await console.Out.WriteLineAsync(job.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
            }

            await console.Error.WriteLineAsync($"job {job.Id} queued on {client.Server}: follow it with 'orchestrator job {job.Id} --follow'").ConfigureAwait(false);
            return ExitCodes.Success;
        }

        await console.Error.WriteLineAsync($"==> job {job.Id} ({job.Kind} {job.Pipeline}) accepted by {client.Server}; Ctrl+C stops following, not the job").ConfigureAwait(false);
        return await FollowAsync(job.Id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Prints the job's log from the start and every new line until it is final; returns its exit code.</summary>
    public async Task<int> FollowAsync(long id, CancellationToken cancellationToken)
    {
        long after = 0;
        try
        {
            while (true)
            {
                var page = await client.GetLogAsync(id, after, cancellationToken).ConfigureAwait(false);
                after = Print(page, after);
                if (page.IsFinal || (page.State is null && (await client.GetJobAsync(id, cancellationToken).ConfigureAwait(false)).IsFinal))
                {
                    // The state was read before the lines: once final, reading until a page comes back empty gets every line.
                    while (page.Entries.Count > 0)
                    {
                        page = await client.GetLogAsync(id, after, cancellationToken).ConfigureAwait(false);
                        after = Print(page, after);
                    }

                    // A live display ends, leaving its last frame, before the result or the error is written.
                    _reporter.Dispose();
                    return await FinishAsync(await client.GetJobAsync(id, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
                }

                // A full page means more is waiting: read on at once rather than fall behind a chatty build.
                if (page.Entries.Count < FullPage)
                {
                    await Task.Delay(console.Environment.PollInterval, console.Environment.Time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _reporter.Dispose();
            var message = $"stopped following job {id}; it keeps running on the daemon: follow it again with 'orchestrator job {id} --follow', cancel it with 'orchestrator job {id} --cancel'";
            await console.Error.WriteLineAsync($"orchestrator: {message}").ConfigureAwait(false);
            if (json)
            {
                JsonOutput.Write(console.Out, JsonOutput.Error(message, ExitCodes.JobFailed, null));
            }

            return ExitCodes.JobFailed;
        }
    }

    private long Print(LogPage page, long after)
    {
        foreach (var entry in page.Entries.Where(e => e.Sequence > after))
        {
            _reporter.Write(entry);
            after = entry.Sequence;
        }

        return after;
    }

    private async Task<int> FinishAsync(RemoteJob job)
    {
        var exitCode = job.ExitCode ?? (job.State == JobState.Succeeded ? ExitCodes.Success : ExitCodes.JobFailed);
        if (job.State == JobState.Succeeded)
        {
            if (json)
            {
                JsonOutput.Write(console.Out, job.Result ?? job.Raw);
            }
            else if (job.Result is { } result)
            {
                await console.Out.WriteLineAsync(HumanResult(job.Kind, result)).ConfigureAwait(false);
            }

            return exitCode;
        }

        var error = job.Error ?? $"job {job.Id} {job.State.ToString().ToLowerInvariant()}";
        await console.Error.WriteLineAsync($"orchestrator: {error}").ConfigureAwait(false);
        if (json)
        {
            // A failed validation still has its document (which tests failed); other failures have only the error.
            if (job.Result is { } document)
            {
                JsonOutput.Write(console.Out, document);
            }
            else
            {
                JsonOutput.Write(console.Out, JsonOutput.Error(error, exitCode, null));
            }

        }

        return exitCode;
    }

    /// <summary>The line the in-process verb prints for the same result document.</summary>
    internal static string HumanResult(string kind, JsonElement result)
    {
        var reference = Text(result, "reference") ?? "?";
        return kind switch
        {
            "validate" when result.TryGetProperty("tests", out var tests) && tests.ValueKind == JsonValueKind.Array =>
                $"{reference} passed {tests.GetArrayLength()} test(s)",
            "promote" when result.TryGetProperty("dryRun", out var dryRun) && dryRun.ValueKind == JsonValueKind.True =>
                $"dry run: {Text(result, "source")} can be promoted to {reference} ({Count(result, "blobsToCopy")} blob(s) to copy, {Count(result, "blobsPresent")} present, tags {Tags(result)})",
            _ => reference,
        };
    }

    /// <summary>The roles a request needs, as the daemon checks them (<see cref="JobAuthorization"/>), for refusal hints.</summary>
    internal static string RolesOf(JobRequest request) => request.Kind switch
    {
        JobKind.Build => JobAuthorization.Build,
        JobKind.Validate => JobAuthorization.Validate,
        JobKind.Promote => JobAuthorization.Promote(request.Stage ?? "STAGE"),
        _ => $"{JobAuthorization.Build}, {JobAuthorization.Validate} and promote:STAGE for every stage after the first",
    };

    private static string? Text(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static int Count(JsonElement result, string name) =>
        result.TryGetProperty("plan", out var plan) && plan.TryGetProperty(name, out var items) && items.ValueKind == JsonValueKind.Array ? items.GetArrayLength() : 0;

    private static string Tags(JsonElement result) =>
        result.TryGetProperty("plan", out var plan) && plan.TryGetProperty("tags", out var tags) && tags.ValueKind == JsonValueKind.Array
            ? string.Join(", ", tags.EnumerateArray().Select(t => Text(t, "tag")))
            : string.Empty;
}
