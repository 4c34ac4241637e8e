using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Workflows;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Workers;

/// <summary>The worker's janitor: containers a killed daemon left are removed at start and after each job.</summary>
public sealed class LeftoverContainerTests
{
    [Fact]
    public async Task Start_ValidationContainerOfAKilledDaemonsJob_IsRemovedAndOtherOwnersAreKept()
    {
        // Given the engine holds a validation container of job 41 of this daemon's store (left by a kill),
        // one of another daemon's store, and one without an owner (an in-process CLI run)
        await using var daemon = new DaemonHarness();
        var owner = ContainerOwnership.DaemonOwner(daemon.Workspace.Config.StatePath);
        var leftover = Seed(daemon.Engine, owner, 41);
        var foreign = Seed(daemon.Engine, ContainerOwnership.DaemonOwner(daemon.Workspace.Config.StatePath + ".other"), 41);
        var unowned = Seed(daemon.Engine, owner: null, jobId: null);
        var removed = RemovalOf(daemon.Engine, leftover);

        // When the daemon starts and then runs a job to its end (a second janitor pass)
        await daemon.StartAsync();
        await removed.WaitAsync(TimeSpan.FromSeconds(15));
        var job = await daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await daemon.WaitForJobAsync(job.Id, j => j.IsFinal, "finished");

        // Then only this daemon's leftover was removed
        Assert.Equal([leftover], daemon.Engine.Removed);
        Assert.True(daemon.Engine.Containers.ContainsKey(foreign));
        Assert.True(daemon.Engine.Containers.ContainsKey(unowned));
    }

    [Fact]
    public async Task AfterJob_ContainersTheJobLeft_AreRemovedWhileARunningJobsStay()
    {
        // Given jobs that each create a container through the engine the worker hands them, and never remove it
        await using var daemon = new DaemonHarness(concurrency: 2);
        daemon.Runner.Block = true;
        daemon.Runner.OnStart = async (job, services) =>
            await services.Engine.CreateContainerAsync(new ContainerSpec("img", Labels: new Dictionary<string, string> { [ValidationWorkflow.ContainerLabel] = "sha256:x" }));
        await daemon.StartAsync();

        // When a build of other (kept running) and a build of hello run, and the hello build ends
        var running = await daemon.SubmitAsync(new { kind = "build", pipeline = "other" });
        var ending = await daemon.SubmitAsync(new { kind = "build", pipeline = "hello" });
        await daemon.Runner.WaitStartedAsync(running.Id);
        await daemon.Runner.WaitStartedAsync(ending.Id);
        var endingContainer = ContainerOf(daemon.Engine, ending.Id);
        var runningContainer = ContainerOf(daemon.Engine, running.Id);
        var endingRemoved = RemovalOf(daemon.Engine, endingContainer);
        daemon.Runner.Release(ending);
        await endingRemoved.WaitAsync(TimeSpan.FromSeconds(15));

        // Then the ended job's container is gone and the running job's stays
        Assert.DoesNotContain(runningContainer, daemon.Engine.Removed);
        Assert.True(daemon.Engine.Containers.ContainsKey(runningContainer));

        // And when that job ends too, its container goes
        var runningRemoved = RemovalOf(daemon.Engine, runningContainer);
        daemon.Runner.Release(running);
        await runningRemoved.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Empty(daemon.Engine.Containers);
    }

    private static string Seed(FakeEngine engine, string? owner, long? jobId)
    {
        var labels = new Dictionary<string, string> { [ValidationWorkflow.ContainerLabel] = "sha256:" + new string('1', 64) };
        if (owner is not null)
        {
            labels[ContainerOwnership.OwnerLabel] = owner;
            labels[ContainerOwnership.JobLabel] = jobId!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var id = $"seeded-{Guid.NewGuid():N}";
        engine.Containers[id] = labels;
        return id;
    }

    private static string ContainerOf(FakeEngine engine, long jobId) =>
        engine.Containers.Single(c => c.Value.TryGetValue(ContainerOwnership.JobLabel, out var job) && job == jobId.ToString(System.Globalization.CultureInfo.InvariantCulture)).Key;

    /// <summary>Completes when <paramref name="id"/> is removed (at once if it already was).</summary>
    private static Task RemovalOf(FakeEngine engine, string id)
    {
        var removed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.ContainerRemoved += removedId =>
        {
            if (removedId == id)
            {
                removed.TrySetResult();
            }
        };
        if (engine.Removed.Contains(id))
        {
            removed.TrySetResult();
        }

        return removed.Task;
    }
}
