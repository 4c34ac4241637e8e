using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Jobs;
using Orchestrator.Daemon.Hosting;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Api;

/// <summary>
/// Issue 11, item 9: a job runs its pipeline's definition and lock as they were when it was submitted.
/// The harness's reload reads <c>version:</c> from hello.yaml, so which version a job was handed shows
/// which content it ran.
/// </summary>
public sealed class JobContentTests : IAsyncLifetime
{
    private readonly DaemonHarness _daemon = new();
    private int _reloads;

    private string HelloFile => Path.Combine(_daemon.Root, "pipelines", "hello.yaml");

    private WorkspaceHolder Holder => _daemon.App.Services.GetRequiredService<WorkspaceHolder>();

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(HelloFile, "name: hello\nversion: 0.0.2\n");
        _daemon.Reload = async token =>
        {
            Interlocked.Increment(ref _reloads);
            var version = (await File.ReadAllLinesAsync(HelloFile, token)).Single(l => l.StartsWith("version: ", StringComparison.Ordinal))["version: ".Length..];
            var pipelines = new Dictionary<string, PipelineDefinition>(_daemon.Workspace.Pipelines, StringComparer.Ordinal);
            pipelines["hello"] = pipelines["hello"] with { Version = version };
            return _daemon.Workspace with { Pipelines = pipelines };
        };
        await _daemon.StartAsync();

        // The daemon has read 0.0.2, as its watcher's first tick would have.
        await Holder.RefreshAsync(CancellationToken.None);
    }

    public Task DisposeAsync() => _daemon.DisposeAsync().AsTask();

    [Fact]
    public async Task Post_HashesOfAnEditMadeJustNow_ReloadsAndTheJobRunsTheEdit()
    {
        // Given hello.yaml edited from 0.0.2 to 0.0.3 a moment ago, before any watch tick
        await File.WriteAllTextAsync(HelloFile, "name: hello\nversion: 0.0.3\n");
        var edited = (await DefinitionHashes.OfFilesAsync(HelloFile))!;
        var reloadsBefore = _reloads;

        // When a build is submitted at once with the edited file's hashes
        var submitted = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello", definitionSha256 = edited.Definition.ToString(), lockSha256 = (string?)null });
        var done = await _daemon.WaitForJobAsync(submitted.Id, j => j.IsFinal, "finished");

        // Then the daemon reloaded, the job was handed 0.0.3, and it records the hashes it ran
        Assert.True(_reloads > reloadsBefore);
        Assert.Equal(JobState.Succeeded, done.State);
        Assert.Equal("0.0.3", _daemon.Runner.RanVersions[submitted.Id]);
        Assert.Equal(edited, done.Request.Definition);
        var json = await DaemonHarness.JsonAsync(await _daemon.SendAsync(HttpMethod.Get, $"/api/jobs/{submitted.Id}", DaemonHarness.AdminSecret));
        Assert.Equal(edited.Definition.ToString(), json.GetProperty("definitionSha256").GetString());
    }

    [Fact]
    public async Task Post_HashesTheDaemonCannotMatch_Returns409NamingTheFileAndQueuesNothing()
    {
        // Given a definition hash the daemon's file does not have (the CLI's checkout is another one)
        var theirs = DaemonHarness.DigestOf('c').ToString();

        // When a build is submitted with it
        var response = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.AdminSecret, new { kind = "build", pipeline = "hello", definitionSha256 = theirs });

        // Then it is 409 naming the file and saying the checkouts differ, and nothing is queued
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var message = (await DaemonHarness.JsonAsync(response)).GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains(HelloFile, message);
        Assert.Contains("the definition differs", message);
        Assert.Contains("checkout is not the CLI's", message);
        Assert.Empty(await _daemon.Jobs.ListAsync(new()));
    }

    [Fact]
    public async Task Post_OnlyTheLockDiffers_Returns409NamingTheLock()
    {
        // Given the daemon's checkout has a lock file beside hello.yaml, and the CLI's has none
        await File.WriteAllTextAsync(PipelineDefinition.LockPathFor(HelloFile), "pipeline: hello\n");
        await Holder.RefreshAsync(CancellationToken.None);
        var definition = (await DefinitionHashes.OfFilesAsync(HelloFile))!.Definition;

        // When a build is submitted naming the same definition and no lock
        var response = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.AdminSecret, new { kind = "build", pipeline = "hello", definitionSha256 = definition.ToString() });

        // Then it is 409 about the lock, naming the lock file
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var message = (await DaemonHarness.JsonAsync(response)).GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("the lock differs", message);
        Assert.Contains("hello.lock.yaml", message);
        Assert.Contains("absent in your checkout", message);
    }

    [Fact]
    public async Task Post_WithoutHashes_RunsAndRecordsTheFileAsItIsOnTheDaemonsDisk()
    {
        // Given hello.yaml edited to 0.0.4 on the daemon's disk since its last load
        await File.WriteAllTextAsync(HelloFile, "name: hello\nversion: 0.0.4\n");

        // When a client that sends no hashes submits a build
        var submitted = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        var done = await _daemon.WaitForJobAsync(submitted.Id, j => j.IsFinal, "finished");

        // Then the job ran 0.0.4 and records the hashes of that content
        Assert.Equal("0.0.4", _daemon.Runner.RanVersions[submitted.Id]);
        Assert.Equal(await DefinitionHashes.OfFilesAsync(HelloFile), done.Request.Definition);
    }

    [Fact]
    public async Task Worker_DefinitionEditedAndReloadedAfterSubmission_FailsTheJobWithoutRunningIt()
    {
        // Given a build of hello holding its lane, and a second one queued behind it for 0.0.2's content
        var (first, second) = await QueueBehindABlockedBuildAsync();

        // When hello.yaml is edited again and the daemon reloads it (as a watch tick does) before the second starts
        await File.WriteAllTextAsync(HelloFile, "name: hello\nversion: 0.0.9\n");
        await Holder.RefreshAsync(CancellationToken.None);
        _daemon.Runner.Release(first);
        var done = await _daemon.WaitForJobAsync(second.Id, j => j.IsFinal, "finished");

        // Then the second fails saying the pipeline changed since it was submitted, and never ran
        Assert.Equal(JobState.Failed, done.State);
        Assert.Equal(1, done.ExitCode);
        Assert.Contains($"changed after job {second.Id} was submitted", done.Error);
        Assert.Contains("submit the job again", done.Error);
        Assert.False(_daemon.Runner.HasStarted(second.Id));
    }

    [Fact]
    public async Task Worker_DefinitionEditedButNotYetReloaded_RunsTheSubmittedContent()
    {
        // Given a build queued behind a blocked one for 0.0.2's content
        var (first, second) = await QueueBehindABlockedBuildAsync();

        // When hello.yaml is edited on disk but no reload happened before the second starts
        await File.WriteAllTextAsync(HelloFile, "name: hello\nversion: 0.0.9\n");
        _daemon.Runner.Release(first);
        await _daemon.Runner.WaitStartedAsync(second.Id);

        // Then the second was handed the content it was submitted with, 0.0.2, not the newer edit
        Assert.Equal("0.0.2", _daemon.Runner.RanVersions[second.Id]);
    }

    private async Task<(Job First, Job Second)> QueueBehindABlockedBuildAsync()
    {
        _daemon.Runner.Block = true;
        var first = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await _daemon.Runner.WaitStartedAsync(first.Id);
        var asked = (await DefinitionHashes.OfFilesAsync(HelloFile))!;
        var second = await _daemon.SubmitAsync(new { kind = "build", pipeline = "hello", definitionSha256 = asked.Definition.ToString() });
        Assert.False(_daemon.Runner.HasStarted(second.Id), "the second build must wait for the lane hello/staging");
        return (first, second);
    }

    [Theory]
    [InlineData("{\"kind\":\"build\",\"pipeline\":\"hello\",\"definitionSha256\":\"sha256:abc\"}", "'definitionSha256' is malformed")]
    [InlineData("{\"kind\":\"build\",\"pipeline\":\"hello\",\"lockSha256\":\"sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"}", "without 'definitionSha256'")]
    public async Task Post_MalformedHashes_Returns400(string body, string expected)
    {
        // Given a job body whose hashes are not usable
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");

        // When it is submitted
        var response = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.AdminSecret, content);

        // Then it is 400 saying which
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync());
    }
}
