using Orchestrator.Core.Definitions;
using Orchestrator.Core.Engines;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Tests.Engines;

/// <summary>Placement on a pool of engines: base image first, else least busy; full engines wait; down engines are skipped.</summary>
public sealed class EnginePoolTests
{
    private const string Base = "127.0.0.1:5001/base/debian-bookworm@sha256:1111111111111111111111111111111111111111111111111111111111111111";

    private readonly PoolTestEngine _one = new();
    private readonly PoolTestEngine _two = new();
    private readonly ManualClock _clock = new();

    private EnginePool Pool(int slotsOne = 1, int slotsTwo = 1) => new(
        [(new EngineDefinition("one", "unix:///one.sock", slotsOne), _one), (new EngineDefinition("two", "unix:///two.sock", slotsTwo), _two)],
        new EnginePoolOptions { ReprobeInterval = TimeSpan.FromSeconds(10) },
        _clock);

    [Fact]
    public async Task AcquireAsync_SecondEngineHoldsTheBase_PlacedThereEvenThoughTheFirstIsIdle()
    {
        // Given two idle engines, only the second holding the base
        var pool = Pool();
        _two.Images.Add(Base);

        // When a job needing that base is placed
        using var lease = await pool.AcquireAsync(new EnginePlacement(Base));

        // Then it goes to the engine that holds it, and says why
        Assert.Equal("two", lease.Name);
        Assert.True(lease.HoldsImage);
        Assert.Same(_two, lease.Engine);
    }

    [Fact]
    public async Task AcquireAsync_NoEngineHoldsTheBase_LeastBusyByShareOfSlots()
    {
        // Given engine one with 4 slots, 1 busy (25 %), and engine two with 2 slots, both free (0 %)
        var pool = Pool(slotsOne: 4, slotsTwo: 2);
        using var first = await pool.AcquireAsync(EnginePlacement.Any);
        Assert.Equal("one", first.Name);

        // When the next two jobs are placed
        using var second = await pool.AcquireAsync(new EnginePlacement(Base));
        using var third = await pool.AcquireAsync(new EnginePlacement(Base));

        // Then the second goes to the idle engine two (0 % < 25 %), the third to one (25 % < 50 %)
        Assert.Equal(("two", "one"), (second.Name, third.Name));
        Assert.False(second.HoldsImage);
        Assert.Equal([2, 1], pool.Snapshot().Select(s => s.Busy));
    }

    [Fact]
    public async Task AcquireAsync_HoldingEngineFull_PlacedOnAFreeOne()
    {
        // Given the engine holding the base has its only slot taken
        var pool = Pool();
        _one.Images.Add(Base);
        using var busy = await pool.AcquireAsync(new EnginePlacement(Base));

        // When another job needing the base is placed
        using var lease = await pool.AcquireAsync(new EnginePlacement(Base));

        // Then it does not wait for the holder: it takes the free engine
        Assert.Equal(("one", "two"), (busy.Name, lease.Name));
    }

    [Fact]
    public async Task AcquireAsync_AllSlotsBusy_WaitsUntilOneIsReleased()
    {
        // Given both engines full
        var pool = Pool();
        var a = await pool.AcquireAsync(EnginePlacement.Any);
        using var b = await pool.AcquireAsync(EnginePlacement.Any);

        // When a third job asks, it waits; when the first job ends, it gets that slot
        var waiting = pool.AcquireAsync(EnginePlacement.Any);
        Assert.False(waiting.IsCompleted);
        a.Dispose();
        using var c = await waiting.WaitAsync(TimeSpan.FromSeconds(30));

        // Then it is on the released engine, and disposing a lease twice releases once
        Assert.Equal(a.Name, c.Name);
        a.Dispose();
        Assert.Equal([1, 1], pool.Snapshot().Select(s => s.Busy));
    }

    [Fact]
    public async Task AcquireAsync_EngineDownWhenAskedForTheBase_MarkedDownAndJobPlacedOnTheOther()
    {
        // Given engine one holds the base but stops answering
        var pool = Pool();
        _one.Images.Add(Base);
        _one.Down = true;

        // When a job needing the base is placed
        using var lease = await pool.AcquireAsync(new EnginePlacement(Base));

        // Then it lands on two, and one is reported down with the reason
        Assert.Equal("two", lease.Name);
        var one = pool.Snapshot()[0];
        Assert.False(one.Up);
        Assert.Contains("does not answer", one.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AcquireAsync_DownEngineAnswersAgainAfterReprobeInterval_TakesJobsAgain()
    {
        // Given engine one marked down
        var pool = Pool();
        pool.MarkDown("one", "connection refused");
        using var onTwo = await pool.AcquireAsync(EnginePlacement.Any);
        Assert.Equal("two", onTwo.Name);

        // When it is placed again before the re-probe interval, one is not asked; after it, one answers and takes the job
        _clock.Advance(TimeSpan.FromSeconds(11));
        using var again = await pool.AcquireAsync(EnginePlacement.Any);

        // Then
        Assert.Equal("one", again.Name);
        Assert.True(pool.Snapshot()[0].Up);
        Assert.Null(pool.Snapshot()[0].Error);
    }

    [Fact]
    public async Task AcquireAsync_EveryEngineDownOrExcluded_UnavailableNamingEach()
    {
        // Given one down (and still not answering) and two excluded (it already failed this job)
        var pool = Pool();
        pool.MarkDown("one", "connection refused");
        _one.Down = true;

        // When placed
        var failure = await Assert.ThrowsAsync<UnavailableException>(() => pool.AcquireAsync(new EnginePlacement(null, new HashSet<string> { "two" })));

        // Then the message names both engines and what to do
        Assert.Contains("one (unix:///one.sock) is down: the engine at unix:///test.sock does not answer", failure.Message, StringComparison.Ordinal);
        Assert.Contains("two already failed this job", failure.Message, StringComparison.Ordinal);
        Assert.Contains("docker -H ENDPOINT version", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AcquireAsync_EveryEngineMarkedDownButOneAnswersNow_ProbedAtOnceAndPlaced()
    {
        // Given both engines marked down a moment ago, and one answering again (restarted) before the re-probe interval
        var pool = Pool();
        pool.MarkDown("one", "connection refused");
        pool.MarkDown("two", "connection refused");
        _two.Down = true;

        // When a job is placed
        using var lease = await pool.AcquireAsync(EnginePlacement.Any);

        // Then the engines were asked at once rather than the job failing: it runs on the one that answers
        Assert.Equal("one", lease.Name);
        Assert.Equal([true, false], pool.Snapshot().Select(s => s.Up));
    }

    [Fact]
    public async Task AcquireAsync_AnswerCachedBriefly_EngineAskedOncePerImage()
    {
        // Given a pool where nobody holds the base
        var pool = Pool(slotsOne: 3, slotsTwo: 3);

        // When three jobs needing it are placed within the cache time
        for (var i = 0; i < 3; i++)
        {
            (await pool.AcquireAsync(new EnginePlacement(Base))).Dispose();
        }

        // Then each engine was asked once; after the cache time, again
        Assert.Equal((1, 1), (_one.Inspects, _two.Inspects));
        _clock.Advance(TimeSpan.FromSeconds(31));
        (await pool.AcquireAsync(new EnginePlacement(Base))).Dispose();
        Assert.Equal((2, 2), (_one.Inspects, _two.Inspects));
    }

    [Fact]
    public async Task ProbeAsync_EngineStopsAnswering_MarkedDownAndUpAgainWhenItAnswers()
    {
        // Given a pool with both up
        var pool = Pool();

        // When two stops answering and is probed, then answers again and is probed
        _two.Down = true;
        var downAnswer = await pool.ProbeAsync("two", TimeSpan.FromSeconds(3));
        var whileDown = pool.Snapshot()[1];
        _two.Down = false;
        var upAnswer = await pool.ProbeAsync("two", TimeSpan.FromSeconds(3));

        // Then
        Assert.False(downAnswer);
        Assert.False(whileDown.Up);
        Assert.True(upAnswer);
        Assert.True(pool.Snapshot()[1].Up);
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
