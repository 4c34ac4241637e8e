using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Locks;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;
using Orchestrator.Daemon.Tests.Fakes;
using Orchestrator.Daemon.Workers;

namespace Orchestrator.Daemon.Tests.Workers;

public sealed class PipelineWatcherTests : IAsyncDisposable
{
    private readonly DaemonHarness _daemon;

    public PipelineWatcherTests()
    {
        _daemon = new DaemonHarness(helloAuto: AutoMode.Build);
        _daemon.Runner.Block = true;
    }

    private PipelineWatcher Watcher => _daemon.App.Services.GetRequiredService<PipelineWatcher>();

    private string HelloFile => _daemon.Workspace.Pipelines["hello"].SourceFile;

    public ValueTask DisposeAsync() => _daemon.DisposeAsync();

    [Fact]
    public async Task Watch_AutoBuildPipelineFileChanges_MarksChangedAndQueuesOneBuild()
    {
        // Given a baseline taken, with nothing changed and nothing queued
        await _daemon.StartAsync();
        await Watcher.CheckOnceAsync();
        Assert.Null(await ChangedReasonAsync("hello"));
        Assert.Empty(await _daemon.Jobs.ListAsync(new()));

        // When hello.yaml changes
        await File.AppendAllTextAsync(HelloFile, "version: 1.0.1\n");
        await Watcher.CheckOnceAsync();

        // Then hello is changed with the reason, and one build is queued by the watcher
        Assert.Contains("hello.yaml changed", await ChangedReasonAsync("hello"));
        var build = Assert.Single(await _daemon.Jobs.ListAsync(new JobFilter(Pipeline: "hello")));
        Assert.Equal(JobKind.Build, build.Request.Kind);
        Assert.Equal("watch", build.RequestedBy);

        // When it changes again while that build runs
        await _daemon.Runner.WaitStartedAsync(build.Id);
        await File.AppendAllTextAsync(HelloFile, "# again\n");
        await Watcher.CheckOnceAsync();

        // Then no second build is queued
        Assert.Single(await _daemon.Jobs.ListAsync(new JobFilter(Pipeline: "hello")));

        // When the build succeeds, hello is no longer changed
        _daemon.Runner.Release(build);
        await _daemon.WaitForJobAsync(build.Id, j => j.State == JobState.Succeeded, "succeeded");
        Assert.Null(await ChangedReasonAsync("hello"));
    }

    [Fact]
    public async Task Watch_RunningOnItsInterval_NoticesAnEditByItselfWhenTheIntervalPasses()
    {
        // Given the watcher running every 30 s on a clock the test moves, with its baseline taken at start
        var time = new FakeTimeProvider();
        await using var daemon = new DaemonHarness(helloAuto: AutoMode.Build, time: time) { StartWatcher = true, WatchInterval = TimeSpan.FromSeconds(30) };
        daemon.Runner.Block = true;
        await daemon.StartAsync();
        var ticks = daemon.App.Services.GetRequiredService<PipelineWatcher>().Ticks;
        await ticks.WaitForAsync(1).WaitAsync(TimeSpan.FromSeconds(15));

        // When hello.yaml is edited and the clock moves on by the interval
        await File.AppendAllTextAsync(daemon.Workspace.Pipelines["hello"].SourceFile, "# edited\n");
        var second = ticks.WaitForAsync(2);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!second.IsCompleted)
        {
            // Moved again until the tick runs: the watcher may not have armed its delay yet when the clock first moves.
            Assert.True(DateTime.UtcNow < deadline, "the watcher never ticked again when its interval passed");
            time.Advance(TimeSpan.FromSeconds(30));
            await Task.WhenAny(second, Task.Delay(20));
        }

        // Then its own tick queued a build of hello, requested by the watcher, without anyone asking
        var build = Assert.Single(await daemon.Jobs.ListAsync(new JobFilter(Pipeline: "hello")));
        Assert.Equal(("watch", JobKind.Build), (build.RequestedBy, build.Request.Kind));
    }

    [Fact]
    public async Task Watch_CopiedFileOfAutoNonePipeline_MarksChangedOnly()
    {
        // Given other (auto: none) copies a file and a baseline is taken
        var source = Path.Combine(_daemon.Root, "pipelines", "other.txt");
        await File.WriteAllTextAsync(source, "1");
        _daemon.Workspace = WithOther(_daemon.Workspace, p => p with { Files = [new FileCopy(source, "/other.txt")] });
        await _daemon.StartAsync();
        await Watcher.CheckOnceAsync();

        // When the copied file changes
        await File.WriteAllTextAsync(source, "2");
        await Watcher.CheckOnceAsync();

        // Then other is changed, hello is not, and nothing is queued
        Assert.Equal("a file it copies changed", await ChangedReasonAsync("other"));
        Assert.Null(await ChangedReasonAsync("hello"));
        Assert.Empty(await _daemon.Jobs.ListAsync(new()));
    }

    [Fact]
    public async Task Watch_PythonProjectFileOrBuildBaseChanges_MarksChangedNamingIt()
    {
        // Given other is a Python pipeline building its project on the full variant, and a baseline is taken
        var project = Path.Combine(_daemon.Root, "pipelines", "other-app");
        Directory.CreateDirectory(project);
        await File.WriteAllTextAsync(Path.Combine(project, "pyproject.toml"), "[project]\nname = \"other\"\nversion = \"1\"\n");
        _daemon.Workspace = WithOther(_daemon.Workspace, p => p with
        {
            Python = new PythonSpec(project, null, [], null, [], null, null, new BaseVariantRef("debian-bookworm", "full"), [new AptPackage("python3-pip", "23.0.1+dfsg-1")]),
        });
        var staging = _daemon.Registries.For(DaemonHarness.StagingHost);
        staging.Manifests[(DaemonHarness.BaseRepository, "full")] = DaemonHarness.DigestOf('a');
        await _daemon.StartAsync();
        await Watcher.CheckOnceAsync();

        // When a project file changes, Then other is changed for it
        await File.WriteAllTextAsync(Path.Combine(project, "pyproject.toml"), "[project]\nname = \"other\"\nversion = \"2\"\n");
        await Watcher.CheckOnceAsync();
        Assert.Equal("a file it copies changed", await ChangedReasonAsync("other"));

        // When the build base moves in staging, Then the reason names the build base
        staging.Manifests[(DaemonHarness.BaseRepository, "full")] = DaemonHarness.DigestOf('b');
        await Watcher.CheckOnceAsync();
        Assert.Contains("build base debian-bookworm/full moved from sha256:aaaaaaaaaaaa to sha256:bbbbbbbbbbbb", await ChangedReasonAsync("other"));
        Assert.Null(await ChangedReasonAsync("hello"));
    }

    [Fact]
    public async Task Watch_LockFileAppears_MarksChanged()
    {
        // Given a baseline without pipelines/other.lock.yaml
        await _daemon.StartAsync();
        await Watcher.CheckOnceAsync();

        // When the lock file appears
        await File.WriteAllTextAsync(Path.Combine(_daemon.Root, "pipelines", "other.lock.yaml"), "packages: {}\n");
        await Watcher.CheckOnceAsync();

        // Then other is changed for it
        Assert.Equal("a lock file appeared", await ChangedReasonAsync("other"));
    }

    [Fact]
    public async Task Watch_BaseDigestMovesInStaging_MarksBothPipelinesChanged()
    {
        // Given the base slim variant at one digest in staging
        var staging = _daemon.Registries.For(DaemonHarness.StagingHost);
        staging.Manifests[(DaemonHarness.BaseRepository, "slim")] = DaemonHarness.DigestOf('a');
        await _daemon.StartAsync();
        await Watcher.CheckOnceAsync();

        // When it moves to another digest
        staging.Manifests[(DaemonHarness.BaseRepository, "slim")] = DaemonHarness.DigestOf('b');
        await Watcher.CheckOnceAsync();

        // Then both pipelines on it are changed, naming the move
        Assert.Contains("base debian-bookworm/slim moved from sha256:aaaaaaaaaaaa to sha256:bbbbbbbbbbbb", await ChangedReasonAsync("other"));
        Assert.NotNull(await ChangedReasonAsync("hello"));
    }

    [Fact]
    public async Task Watch_RegistryUnreachable_IsNotAChange()
    {
        // Given a baseline with the base digest known
        var staging = _daemon.Registries.For(DaemonHarness.StagingHost);
        staging.Manifests[(DaemonHarness.BaseRepository, "slim")] = DaemonHarness.DigestOf('a');
        await _daemon.StartAsync();
        await Watcher.CheckOnceAsync();

        // When staging stops answering for a tick, then answers again unchanged
        staging.Up = false;
        await Watcher.CheckOnceAsync();
        staging.Up = true;
        await Watcher.CheckOnceAsync();

        // Then nothing is changed and nothing queued
        Assert.Null(await ChangedReasonAsync("other"));
        Assert.Empty(await _daemon.Jobs.ListAsync(new()));
    }

    [Fact]
    public async Task Watch_BrokenDefinitionsOnReload_KeepsTheLastGoodOnes()
    {
        // Given a reload that fails with a definition error
        _daemon.Reload = _ => throw new DefinitionException([new DefinitionError("pipelines/hello.yaml", 3, 1, "mapping values are not allowed here", "fix the indentation")]);
        await _daemon.StartAsync();

        // When the watcher ticks
        await Watcher.CheckOnceAsync();
        await File.AppendAllTextAsync(HelloFile, "# edit\n");
        await Watcher.CheckOnceAsync();

        // Then it warns, keeps watching on the last good definitions, and still notices the edit
        Assert.Contains(_daemon.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("could not be reloaded"));
        Assert.Contains("hello.yaml changed", await ChangedReasonAsync("hello"));
        var jobs = await DaemonHarness.JsonAsync(await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.CiSecret, new { kind = "build", pipeline = "other" }));
        Assert.Equal("other", jobs.GetProperty("pipeline").GetString());
    }

    [Fact]
    public async Task Watch_ReloadAddsPipeline_TheApiAcceptsIt()
    {
        // Given a baseline, then a reload that brings a third pipeline
        await _daemon.StartAsync();
        await Watcher.CheckOnceAsync();
        var third = DaemonHarness.Pipeline("third", Path.Combine(_daemon.Root, "pipelines", "third.yaml"), []);
        await File.WriteAllTextAsync(third.SourceFile, "name: third\n");
        var reloaded = _daemon.Workspace with { Pipelines = new Dictionary<string, PipelineDefinition>(_daemon.Workspace.Pipelines) { ["third"] = third } };
        _daemon.Reload = _ => Task.FromResult(reloaded);
        await _daemon.StopAsync();
        await _daemon.StartAsync();
        await Watcher.CheckOnceAsync();

        // When a build of it is submitted
        var response = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.CiSecret, new { kind = "build", pipeline = "third" });

        // Then it is accepted
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
    }

    [Theory]
    [InlineData("fresh")]
    [InlineData("version bumped only")]
    [InlineData("package pin moved")]
    [InlineData("base moved")]
    [InlineData("no lock")]
    [InlineData("base not built")]
    public async Task Watch_AnyLockSituation_StaleIsExactlyWhatLockCheckAnswers(string situation)
    {
        // Given pipeline other pinning hello=2.10-3, locked on base digest a, then put in one situation
        var staging = _daemon.Registries.For(DaemonHarness.StagingHost);
        staging.Manifests[(DaemonHarness.BaseRepository, "slim")] = DaemonHarness.DigestOf('a');
        var pinned = _daemon.Workspace.Pipelines["other"] with { AptPackages = [new AptPackage("hello", "2.10-3")] };
        var pipelineLock = new PipelineLock(
            PipelineLock.CurrentVersion, "other", InputsChecksum.Compute(pinned),
            new LockedBase("debian-bookworm/slim", ImageReference.Parse("127.0.0.1:5001/base/debian-bookworm:slim"), DaemonHarness.DigestOf('a')),
            1_700_000_000, [new LockedPackage("hello", "2.10-3", "amd64", new string('c', 64), Direct: true)]);
        var other = situation switch
        {
            "version bumped only" => pinned with { Version = "2.0.0", Tags = ["2.0.0"], Lock = pipelineLock },
            "package pin moved" => pinned with { AptPackages = [new AptPackage("hello", "2.10-4")], Lock = pipelineLock },
            "no lock" => pinned,
            _ => pinned with { Lock = pipelineLock },
        };
        if (situation == "base moved")
        {
            staging.Manifests[(DaemonHarness.BaseRepository, "slim")] = DaemonHarness.DigestOf('b');
        }
        else if (situation == "base not built")
        {
            staging.Manifests.TryRemove((DaemonHarness.BaseRepository, "slim"), out _);
        }

        _daemon.Workspace = WithOther(_daemon.Workspace, _ => other);
        await _daemon.StartAsync();

        // When the watcher ticks, and lock --check's own check runs on the same definitions and registry
        await Watcher.CheckOnceAsync();
        string? lockCheck;
        try
        {
            var status = await _daemon.Services.Create(new WorkflowScope(new FixedWorkspace(_daemon.Workspace), NullJobReporter.Instance, new EnvironmentActorProvider())).Locks.CheckAsync("other");
            lockCheck = status.IsFresh ? null : status.Message;
        }
        catch (OrchestratorException refused)
        {
            lockCheck = refused.Message;
        }

        // Then the daemon's stale answer is the same: fresh both, or stale both with the very same message
        var entry = (await DaemonHarness.JsonAsync(await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines", DaemonHarness.CiSecret)))
            .GetProperty("pipelines").EnumerateArray().Single(p => p.GetProperty("pipeline").GetString() == "other");
        Assert.Equal(lockCheck is not null, entry.GetProperty("stale").GetBoolean());
        Assert.Equal(lockCheck, entry.GetProperty("staleReason").ValueKind == JsonValueKind.String ? entry.GetProperty("staleReason").GetString() : null);
        Assert.Equal(situation is "fresh" or "version bumped only", lockCheck is null);
    }

    private async Task<string?> ChangedReasonAsync(string pipeline)
    {
        var json = await DaemonHarness.JsonAsync(await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines", DaemonHarness.CiSecret));
        var entry = json.GetProperty("pipelines").EnumerateArray().Single(p => p.GetProperty("pipeline").GetString() == pipeline);
        var changed = entry.GetProperty("changed").GetBoolean();
        var reason = entry.GetProperty("changedReason");
        Assert.Equal(changed, reason.ValueKind == JsonValueKind.String);
        return changed ? reason.GetString() : null;
    }

    private static Workspace WithOther(Workspace workspace, Func<PipelineDefinition, PipelineDefinition> change) =>
        workspace with { Pipelines = new Dictionary<string, PipelineDefinition>(workspace.Pipelines) { ["other"] = change(workspace.Pipelines["other"]) } };
}
