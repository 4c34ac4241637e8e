using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Engines;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Engines;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Jobs;

/// <summary>The job runner on a pool of engines: placement, the engine in the record, one retry elsewhere when the engine is lost.</summary>
public sealed class JobRunnerPlacementTests : IDisposable
{
    private readonly WorkflowHarness _harness = new();
    private readonly LosableEngine _one;
    private readonly LosableEngine _two;
    private readonly EnginePool _pool;
    private readonly LogOnlyJobStore _store = new();

    public JobRunnerPlacementTests()
    {
        _one = new LosableEngine(new FakeDockerEngine(_harness.Registries));
        _two = new LosableEngine(_harness.Engine);
        _pool = new EnginePool([(new EngineDefinition("one", "unix:///one.sock", 1), _one), (new EngineDefinition("two", "unix:///two.sock", 1), _two)]);
    }

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task RunAsync_ValidateWhereTheSecondEngineHoldsTheImage_RunsThereAndRecordsIt()
    {
        // Given a digest in staging that engine two already pulled
        var digest = _harness.SeedImage();
        var image = ImageReference.Create(WorkflowHarness.StagingHost, WorkflowHarness.PipelineRepository, digest: digest);
        await _two.PullImageAsync(image);
        var callsBefore = _one.Calls;

        // When a validate job of it runs on the pool
        var outcome = await RunAsync(new JobRequest(JobKind.Validate, "hello", digest));

        // Then it succeeded on engine two, which holds the image; engine one was not used; the record says "engine": "two"
        Assert.Equal(JobState.Succeeded, outcome.State);
        Assert.Equal(callsBefore, _one.Calls);
        using var result = JsonDocument.Parse(outcome.ResultJson!);
        Assert.Equal("two", result.RootElement.GetProperty("engine").GetString());
        Assert.Equal(digest.ToString(), result.RootElement.GetProperty("digest").GetString());
        Assert.Contains(_store.Lines, l => l == $"on engine two (unix:///two.sock), which holds {image}");
        Assert.Equal([0, 0], _pool.Snapshot().Select(s => s.Busy));
    }

    [Fact]
    public async Task RunAsync_EngineLostMidJob_MarkedDownAndTheJobRunsOnTheOther()
    {
        // Given engine one (first, so chosen for a job no engine holds the image of) stops answering once the job is on it
        var digest = _harness.SeedImage();
        _one.Lost = true;

        // When a validate job runs
        var outcome = await RunAsync(new JobRequest(JobKind.Validate, "hello", digest));

        // Then it failed over: succeeded on engine two, engine one marked down with the reason, the log says so
        Assert.Equal(JobState.Succeeded, outcome.State);
        using var result = JsonDocument.Parse(outcome.ResultJson!);
        Assert.Equal("two", result.RootElement.GetProperty("engine").GetString());
        var one = _pool.Snapshot()[0];
        Assert.False(one.Up);
        Assert.Contains("connection refused", one.Error, StringComparison.Ordinal);
        Assert.Contains(_store.Lines, l => l.StartsWith("engine one stopped answering", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_JobFailsButTheEngineStillAnswers_NotRetriedElsewhere()
    {
        // Given a digest staging does not have: the pull fails with the engine answering
        var digest = Digest.Parse("sha256:" + new string('9', 64));

        // When a validate job of it runs
        var outcome = await RunAsync(new JobRequest(JobKind.Validate, "hello", digest));

        // Then it failed once, on engine one, which stays up; engine two was never used
        Assert.Equal(JobState.Failed, outcome.State);
        Assert.Equal(0, _two.Calls);
        Assert.All(_pool.Snapshot(), s => Assert.True(s.Up));
        Assert.DoesNotContain(_store.Lines, l => l.Contains("stopped answering", StringComparison.Ordinal));
    }

    [Fact]
    public void WithEngine_AddsTheFieldLastAndKeepsTheRestByteForByte()
    {
        Assert.Equal("""{"digest":"sha256:1","x":"a+b","engine":"two"}""", JobRunner.WithEngine("""{"digest":"sha256:1","x":"a+b"}""", "two"));
        Assert.Equal("""{"engine":"two"}""", JobRunner.WithEngine("{}", "two"));
        Assert.Equal("{}", JobRunner.WithEngine("{}", null));
        Assert.Null(JobRunner.WithEngine(null, "two"));
    }

    private async Task<JobOutcome> RunAsync(JobRequest request)
    {
        var graph = new WorkflowGraph(_harness.Engine, _harness.Registries, _harness.Copier, _harness.State, _harness.Rootfs, _harness.Time, NullLoggerFactory.Instance);
        var runner = new JobRunner(_store, graph, NullLogger<JobRunner>.Instance);
        var now = WorkflowHarness.Now;
        var job = new Job(1, request, WorkflowHarness.Actor, JobState.Running, now, now, null, 1, false, null, null, null);
        return await runner.RunAsync(job, new JobContext(_harness.Workspace, _harness.Engine) { Engines = _pool }, CancellationToken.None);
    }

    /// <summary>A job store that only keeps the log, which is all the runner writes.</summary>
    private sealed class LogOnlyJobStore : IJobStore
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public Task<JobLogEntry> AppendLogAsync(long id, string kind, string message, CancellationToken cancellationToken = default)
        {
            _lines.Enqueue(message);
            return Task.FromResult(new JobLogEntry(_lines.Count, WorkflowHarness.Now, kind, message));
        }

        public Task InitializeAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<Job> EnqueueAsync(JobRequest request, string requestedBy, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<Job?> GetAsync(long id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<Job>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<Job?> ClaimNextAsync(Func<Job, string> laneOf, IReadOnlySet<string> busyLanes, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<JobLogEntry>> GetLogAsync(long id, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<bool> CompleteAsync(long id, JobState finalState, int exitCode, string? error, string? resultJson, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<Job?> RequestCancelAsync(long id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<int> RequeueInterruptedAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
