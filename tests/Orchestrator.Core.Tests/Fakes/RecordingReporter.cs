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
