using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// Output for people, kept apart from logging: the steps of a job as they happen. The CLI writes
/// them to standard error so standard output carries only the result (a reference, or JSON).
/// </summary>
public interface IJobReporter
{
    /// <summary>A step starts: "pushing 127.0.0.1:5001/apps/x:1.0".</summary>
    void Step(string message);

    /// <summary>A detail of the current step: a build output line, a test result.</summary>
    void Detail(string message);

    /// <summary>A raw output line of a tool (debootstrap); reporters show it only when asked to be verbose.</summary>
    void Output(string line);

    /// <summary>Engine progress (pull, push, build output); reporters may throttle or drop it.</summary>
    void Progress(EngineProgress progress);

    /// <summary>
    /// A structured progress event (a blob's bytes, a build step, a validation test) for live rendering; reporters that
    /// do not render them ignore them (the default). Byte events come already throttled (≤ 10 per second per blob).
    /// </summary>
    void Event(ProgressEvent progress)
    {
    }
}

/// <summary>A reporter that drops everything.</summary>
public sealed class NullJobReporter : IJobReporter
{
    public static NullJobReporter Instance { get; } = new();

    public void Step(string message)
    {
    }

    public void Detail(string message)
    {
    }

    public void Output(string line)
    {
    }

    public void Progress(EngineProgress progress)
    {
    }
}

// Synchronous on purpose: Progress<T> posts to the thread pool and would reorder lines.
internal sealed class ReporterProgress(IJobReporter reporter) : IProgress<EngineProgress>
{
    public void Report(EngineProgress value) => reporter.Progress(value);
}
