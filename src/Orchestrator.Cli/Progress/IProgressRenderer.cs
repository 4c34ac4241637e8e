using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Progress;

/// <summary>
/// Where a job's output for people goes on standard error: its lines (steps, details) and its structured
/// <see cref="ProgressEvent"/>s. <see cref="ProgressRenderers.Create"/> picks the live terminal renderer or plain lines.
/// Disposing ends any live display, leaving its last frame, before the verb writes its result or error.
/// </summary>
internal interface IProgressRenderer : IDisposable
{
    /// <summary>One line of text, as it is (no markup).</summary>
    void WriteLine(string line);

    /// <summary>Shows <paramref name="progress"/>: a bar, a step, a test outcome, or nothing (plain byte events).</summary>
    void Render(ProgressEvent progress);
}
