using Orchestrator.Core.Ports;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Fakes;

/// <summary>Records everything a workflow reports.</summary>
internal sealed class RecordingReporter : IJobReporter
{
    public List<string> Steps { get; } = [];

    public List<string> Details { get; } = [];

    public List<string> Outputs { get; } = [];

    public List<EngineProgress> ProgressMessages { get; } = [];

    public void Step(string message) => Steps.Add(message);

    public void Detail(string message) => Details.Add(message);

    public void Output(string line) => Outputs.Add(line);

    public void Progress(EngineProgress progress) => ProgressMessages.Add(progress);

    public List<ProgressEvent> Events { get; } = [];

    public void Event(ProgressEvent progress)
    {
        lock (Events)
        {
            Events.Add(progress);
        }
    }
}

/// <summary>A monotonic clock (<see cref="TimeProvider.GetTimestamp"/>) that moves only when a test advances it.</summary>
internal sealed class SteppedClock : TimeProvider
{
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>A clock that says what it is told.</summary>
internal sealed class FakeTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}

internal sealed class FixedActorProvider(string actor) : IActorProvider
{
    public string Actor { get; } = actor;
}
