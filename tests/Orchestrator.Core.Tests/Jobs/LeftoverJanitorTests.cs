using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Jobs;

public sealed class LeftoverJanitorTests : IDisposable
{
    private const string Owner = "daemon:0123456789abcdef";
    private readonly WorkflowHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task OwnedEngine_ValidationContainers_CarryTheValidationLabelTheOwnerAndTheJobId()
    {
        // Given a validation with a command test and a file test, run through the engine as job 42 sees it
        _harness.Hello = _harness.Hello with { Validate = new ValidationSpec([new CommandTest("ok", ["true"], 0, null, null, TimeSpan.FromSeconds(30))], [new FileTest("/etc/os-release", true)], null, null) };
        var digest = _harness.SeedImage();
        var services = _harness.WorkflowsWith(engine: new OwnedDockerEngine(_harness.Engine, Owner, 42));

        // When the digest is validated
        await services.Validations.ValidateAsync("hello", digest);

        // Then every container it created keeps the workflow's label and also names the owner and the job
        Assert.NotEmpty(_harness.Engine.CreatedContainers);
        Assert.All(_harness.Engine.CreatedContainers, spec =>
        {
            Assert.Equal(digest.ToString(), spec.Labels![ValidationWorkflow.ContainerLabel]);
            Assert.Equal(Owner, spec.Labels[ContainerOwnership.OwnerLabel]);
            Assert.Equal("42", spec.Labels[ContainerOwnership.JobLabel]);
        });
    }

    [Fact]
    public async Task RemoveLeftovers_ContainersOfJobsNotRunning_AreRemovedAndARunningJobsAreKept()
    {
        // Given containers left by job 7 (killed mid-validation) and one of job 8, which runs now
        var leftover = await CreateAsync(new OwnedDockerEngine(_harness.Engine, Owner, 7));
        var running = await CreateAsync(new OwnedDockerEngine(_harness.Engine, Owner, 8));

        // When the janitor passes with job 8 running
        var removed = await Janitor().RemoveLeftoversAsync(new HashSet<long> { 8 });

        // Then job 7's container is removed and job 8's stays
        Assert.Equal(1, removed);
        Assert.Equal([leftover], _harness.Engine.RemovedContainers);
        Assert.DoesNotContain(running, _harness.Engine.RemovedContainers);
    }

    [Fact]
    public async Task RemoveLeftovers_ContainersOfAnotherOwnerOrWithoutOwner_AreNeverRemoved()
    {
        // Given a validation container of another daemon, one an in-process CLI run made (no owner), and one of this owner
        await CreateAsync(new OwnedDockerEngine(_harness.Engine, "daemon:fedcba9876543210", 7));
        await CreateAsync(_harness.Engine);
        var mine = await CreateAsync(new OwnedDockerEngine(_harness.Engine, Owner, 7));

        // When the janitor passes with nothing running
        var removed = await Janitor().RemoveLeftoversAsync(new HashSet<long>());

        // Then only this owner's container is removed, found by its owner label
        Assert.Equal(1, removed);
        Assert.Equal([mine], _harness.Engine.RemovedContainers);
        Assert.Contains($"ListContainers {ContainerOwnership.OwnerLabel}={Owner}", _harness.Engine.Calls);
    }

    [Fact]
    public async Task RemoveLeftovers_EngineDoesNotAnswer_ReturnsZeroWithoutThrowing()
    {
        // Given an engine whose listing fails
        var janitor = new LeftoverJanitor(new ListFailsEngine(_harness.Engine), Owner, NullLogger<LeftoverJanitor>.Instance);

        // When the janitor passes
        var removed = await janitor.RemoveLeftoversAsync(new HashSet<long>());

        // Then it removes nothing and lets the daemon go on (the next pass tries again)
        Assert.Equal(0, removed);
        Assert.Empty(_harness.Engine.RemovedContainers);
    }

    [Fact]
    public async Task RemoveLeftovers_BuildBrokeWhenTheEngineWentAway_RemovesOnlyTheBuilderStepContainersOfThatWindow()
    {
        // Given a build that broke because the engine went away (at 10:00:30, started 10:00:00), and on the engine,
        // once it answers again: a step container the builder made in that window, a running one, one made later,
        // a user's container from the window, and a validation container of this owner's running job 8
        var clock = new ManualClock(DateTimeOffset.Parse("2026-12-03T10:00:00Z"));
        var janitor = Janitor();
        _harness.Engine.BuildThrows = new UnavailableException("the Docker Engine closed the connection during the build");
        var engine = new OwnedDockerEngine(_harness.Engine, Owner, 7, (from, to) => janitor.RecordBrokenBuild(from, to), clock);
        _harness.Engine.BuildStarted = () => clock.Now = clock.Now.AddSeconds(30);
        await Assert.ThrowsAsync<UnavailableException>(() => engine.BuildImageAsync(new MemoryStream(), new ImageBuildRequest(["x:1"])));
        var step = Foreign("step", "created", "2026-12-03T10:00:20Z", "/app/greet.sh /bin/sh -c #(nop) COPY file:0123 in /app/");
        Foreign("busy", "running", "2026-12-03T10:00:10Z", "/bin/sh -c sleep 100");
        Foreign("later", "exited", "2026-12-03T10:05:00Z", "/bin/sh -c true");
        Foreign("user", "exited", "2026-12-03T10:00:15Z", "nginx -g daemon off;");
        await CreateAsync(new OwnedDockerEngine(_harness.Engine, Owner, 8));

        // When the janitor passes with job 8 running
        Assert.True(janitor.HasBrokenBuilds);
        var removed = await janitor.RemoveLeftoversAsync(new HashSet<long> { 8 });

        // Then only the builder's stopped step container of that window is removed, and the window is dealt with
        Assert.Equal(1, removed);
        Assert.Equal([step], _harness.Engine.RemovedContainers);
        Assert.False(janitor.HasBrokenBuilds);
    }

    [Fact]
    public async Task RemoveLeftovers_BuildFailedForAnotherReason_RecordsNoWindowAndRemovesNoStepContainer()
    {
        // Given a build refused by the engine (not an engine that went away), and a stopped step container on it
        var janitor = Janitor();
        _harness.Engine.BuildThrows = new EngineException("the build failed at step 3: exit code 100");
        var engine = new OwnedDockerEngine(_harness.Engine, Owner, 7, (from, to) => janitor.RecordBrokenBuild(from, to));
        await Assert.ThrowsAsync<EngineException>(() => engine.BuildImageAsync(new MemoryStream(), new ImageBuildRequest(["x:1"])));
        Foreign("step", "created", DateTimeOffset.UtcNow.ToString("O"), "/bin/sh -c false");

        // When the janitor passes
        var removed = await janitor.RemoveLeftoversAsync(new HashSet<long>());

        // Then nothing is removed: only a broken engine connection says every build on it died
        Assert.False(janitor.HasBrokenBuilds);
        Assert.Equal(0, removed);
        Assert.Empty(_harness.Engine.RemovedContainers);
    }

    [Fact]
    public void DaemonOwner_TwoStatePaths_GiveTwoOwnersAndOnePathTheSame()
    {
        // Given two state paths, one spelled two ways
        var first = ContainerOwnership.DaemonOwner("/srv/a/state.db");
        var again = ContainerOwnership.DaemonOwner("/srv/a/../a/state.db");
        var second = ContainerOwnership.DaemonOwner("/srv/b/state.db");

        // Then one store is one owner, and two stores never share one
        Assert.Equal(first, again);
        Assert.NotEqual(first, second);
        Assert.StartsWith("daemon:", first, StringComparison.Ordinal);
    }

    private string Foreign(string id, string state, string created, string command)
    {
        _harness.Engine.ForeignContainers.Add(new ContainerSummary(id, state, new Dictionary<string, string>(), DateTimeOffset.Parse(created), command));
        return id;
    }

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private LeftoverJanitor Janitor() => new(_harness.Engine, Owner, NullLogger<LeftoverJanitor>.Instance);

    private static Task<string> CreateAsync(IDockerEngine engine) =>
        engine.CreateContainerAsync(new ContainerSpec("127.0.0.1:5001/apps/hello@sha256:" + new string('1', 64), Labels: new Dictionary<string, string> { [ValidationWorkflow.ContainerLabel] = "sha256:" + new string('1', 64) }));

    /// <summary>The fake engine, except that listing containers fails as an engine that went away does.</summary>
    private sealed class ListFailsEngine(FakeDockerEngine inner) : IDockerEngine
    {
        public Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? label, CancellationToken cancellationToken = default) =>
            throw new UnavailableException("the engine at unix:///fake.sock does not answer");

        public Task<EngineVersion> GetVersionAsync(CancellationToken cancellationToken = default) => inner.GetVersionAsync(cancellationToken);

        public Task<string> ImportImageAsync(Stream rootfsTar, string repository, string tag, IReadOnlyList<string> changes, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<string> BuildImageAsync(Stream contextTar, ImageBuildRequest request, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<Digest> PushImageAsync(string repository, string tag, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task PullImageAsync(ImageReference reference, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task SaveImageAsync(string nameOrId, Stream destination, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<ImageInspect?> InspectImageAsync(string nameOrId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task TagImageAsync(string nameOrId, string repository, string tag, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task RemoveImageAsync(string nameOrId, bool force = false, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken cancellationToken = default) => inner.CreateContainerAsync(spec, cancellationToken);

        public Task StartContainerAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<long> WaitContainerAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task KillContainerAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<ContainerLogs> GetContainerLogsAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task RemoveContainerAsync(string id, bool force = true, CancellationToken cancellationToken = default) => inner.RemoveContainerAsync(id, force, cancellationToken);

        public Task<PathStat?> StatContainerPathAsync(string id, string path, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
