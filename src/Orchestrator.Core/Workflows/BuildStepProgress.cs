using System.Globalization;
using System.Text.RegularExpressions;
using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// Watches an engine build's output (Engine API <c>POST /build</c>, the classic builder's <c>Step n/N : INSTRUCTION</c>
/// stream lines) and reports each step as a <see cref="ProgressEvent"/>: started when its line comes, finished (with
/// its elapsed time) when the next one comes or <see cref="Complete"/> is called. Every message is also passed on to
/// <paramref name="inner"/> unchanged, so the engine output is reported as before.
/// </summary>
public sealed partial class BuildStepProgress(IJobReporter reporter, IProgress<EngineProgress> inner, TimeProvider time) : IProgress<EngineProgress>
{
    private readonly Lock _gate = new();
    private (int Number, int Count, string Instruction, long Started)? _current;

    public void Report(EngineProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Stream is { } stream && StepLine().Match(stream) is { Success: true } match)
        {
            var number = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            var count = int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
            var instruction = match.Groups[3].Value.Trim();
            lock (_gate)
            {
                EndCurrent(succeeded: true);
                _current = (number, count, instruction, time.GetTimestamp());
                reporter.Event(ProgressEvent.StepStarted(number, count, instruction));
            }
        }

        inner.Report(value);
    }

    /// <summary>Ends the running step: finished when the build <paramref name="succeeded"/>, failed otherwise. Idempotent.</summary>
    public void Complete(bool succeeded)
    {
        lock (_gate)
        {
            EndCurrent(succeeded);
        }
    }

    private void EndCurrent(bool succeeded)
    {
        if (_current is { } step)
        {
            _current = null;
            reporter.Event(ProgressEvent.StepEnded(step.Number, step.Count, step.Instruction, succeeded, time.GetElapsedTime(step.Started)));
        }
    }

    [GeneratedRegex(@"^Step (\d+)/(\d+) : ([^\r\n]*)", RegexOptions.CultureInvariant)]
    private static partial Regex StepLine();
}
