using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Core.Jobs;
using Orchestrator.Daemon.Api;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Dashboard;

/// <summary><c>GET /api/jobs/{id}/events</c>: a job's log and state as server-sent events until it ends.</summary>
public sealed class JobEventStreamTests : IAsyncLifetime
{
    private readonly DaemonHarness _daemon = new();

    public Task InitializeAsync() => _daemon.StartAsync();

    public Task DisposeAsync() => _daemon.DisposeAsync().AsTask();

    private sealed record Event(string Name, string? Id, JsonElement Data);

    private async Task<(HttpResponseMessage Response, StreamReader Reader)> OpenAsync(long id, string query = "", string? secret = DaemonHarness.AdminSecret)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/jobs/{id}/events{query}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        var response = await _daemon.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return (response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    /// <summary>The next event (comments skipped), or null at the end of the stream.</summary>
    private static async Task<Event?> NextAsync(StreamReader reader)
    {
        string? name = null, id = null, data = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.Length == 0)
            {
                if (data is not null)
                {
                    return new Event(name ?? "message", id, JsonDocument.Parse(data).RootElement.Clone());
                }

                continue;
            }

            if (line.StartsWith(':'))
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var value = line[(colon + 1)..].TrimStart(' ');
            switch (line[..colon])
            {
                case "event": name = value; break;
                case "id": id = value; break;
                case "data": data = value; break;
            }
        }

        return null;
    }

    private static async Task<Event> NextOfAsync(StreamReader reader, string name)
    {
        while (await NextAsync(reader) is { } next)
        {
            if (next.Name == name)
            {
                return next;
            }
        }

        throw new InvalidOperationException($"the stream ended before a '{name}' event");
    }

    [Fact]
    public async Task Events_RunningJobThatLogsAndFinishes_StreamsEachLineLiveThenEndsWithTheFinalState()
    {
        // Given a running job that is held open
        _daemon.Runner.Block = true;
        var job = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await _daemon.Runner.WaitStartedAsync(job.Id);

        // When its events are followed
        var (response, reader) = await OpenAsync(job.Id);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("running", (await NextOfAsync(reader, "state")).Data.GetProperty("state").GetString());

        // Then a line written now arrives while the job still runs, with its sequence as the event id
        var written = await _daemon.Jobs.AppendLogAsync(job.Id, "step", "pushing <layer> \"1/2\"\nsecond line");
        var line = await NextOfAsync(reader, "log");
        Assert.Equal(written.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture), line.Id);
        Assert.Equal("pushing <layer> \"1/2\"\nsecond line", line.Data.GetProperty("message").GetString());
        Assert.Equal("step", line.Data.GetProperty("kind").GetString());

        // And when the job ends, the final state comes as 'end' and the response finishes
        _daemon.Runner.Release(job);
        var end = await NextOfAsync(reader, "end");
        Assert.Equal("succeeded", end.Data.GetProperty("state").GetString());
        Assert.Equal(0, end.Data.GetProperty("exitCode").GetInt32());
        Assert.Null(await NextAsync(reader));
        Assert.Equal(0, _daemon.App.Services.GetRequiredService<JobChangeFeed>().Watchers);
    }

    [Fact]
    public async Task Events_FinishedJobAfterN_SendsOnlyLaterLinesThenEnds()
    {
        // Given a finished job with three lines of its own
        var job = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await _daemon.WaitForJobAsync(job.Id, j => j.IsFinal, "finished");
        var first = await _daemon.Jobs.AppendLogAsync(job.Id, "detail", "one");
        await _daemon.Jobs.AppendLogAsync(job.Id, "detail", "two");
        await _daemon.Jobs.AppendLogAsync(job.Id, "detail", "three");

        // When followed after the first of them
        var (_, reader) = await OpenAsync(job.Id, $"?after={first.Sequence}");
        var events = new List<Event>();
        while (await NextAsync(reader) is { } next)
        {
            events.Add(next);
        }

        // Then only the later lines come, once each, then the state and 'end'
        Assert.Equal(["two", "three"], events.Where(e => e.Name == "log").Select(e => e.Data.GetProperty("message").GetString()));
        Assert.Equal("end", events[^1].Name);
        Assert.Equal("succeeded", events[^1].Data.GetProperty("state").GetString());
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData("not-a-configured-secret-4242", HttpStatusCode.Unauthorized)]
    [InlineData(DaemonHarness.BuilderSecret, HttpStatusCode.Forbidden)]
    public async Task Events_WithoutReadRole_Refused(string? secret, HttpStatusCode expected)
    {
        // Given a job
        var job = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });

        // When its events are asked for without a token, with an unknown one, or with one lacking 'read'
        var (response, _) = await OpenAsync(job.Id, secret: secret);

        // Then it is refused as JSON, not streamed
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData(999_999, "", HttpStatusCode.NotFound, "no job 999999")]
    [InlineData(1, "?after=-1", HttpStatusCode.BadRequest, "log sequence number")]
    [InlineData(1, "?after=abc", HttpStatusCode.BadRequest, "not 'abc'")]
    public async Task Events_UnknownJobOrBadAfter_RefusedWithMessage(long id, string query, HttpStatusCode expected, string inMessage)
    {
        // Given one job (id 1)
        await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });

        // When events are asked for a job that does not exist, or after a malformed sequence
        var (response, reader) = await OpenAsync(id, query);

        // Then the answer says what is wrong
        Assert.Equal(expected, response.StatusCode);
        var error = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement.GetProperty("error");
        Assert.Contains(inMessage, error.GetProperty("message").GetString());
    }
}
