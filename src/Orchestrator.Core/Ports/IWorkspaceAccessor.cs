using Orchestrator.Core.Definitions;

namespace Orchestrator.Core.Ports;

/// <summary>
/// The definitions a workflow reads, asked for each time rather than captured when it was wired. The daemon
/// reloads its workspace when files change; each scope it opens (a job, a status query, a watch tick) hands
/// its workflows a <see cref="FixedWorkspace"/> over the load current at that moment, so they see the reload
/// and one run never mixes two loads. A longer-lived scope may give an accessor that follows the reloads.
/// </summary>
public interface IWorkspaceAccessor
{
    /// <summary>The definitions in force now.</summary>
    Workspace Current { get; }
}

/// <summary>An <see cref="IWorkspaceAccessor"/> over one load, for a CLI call, a job or a test.</summary>
public sealed class FixedWorkspace(Workspace workspace) : IWorkspaceAccessor
{
    public Workspace Current { get; } = workspace ?? throw new ArgumentNullException(nameof(workspace));
}
