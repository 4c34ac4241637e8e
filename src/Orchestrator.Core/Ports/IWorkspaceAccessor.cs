using Orchestrator.Core.Definitions;

namespace Orchestrator.Core.Ports;

/// <summary>
/// The definitions a workflow reads, asked for each time rather than captured: the daemon reloads its
/// workspace when files change, and a long-lived workflow (status queries, the watcher's lock check)
/// must see the reload. A job or a CLI call gets a <see cref="FixedWorkspace"/> so one run never mixes
/// two loads.
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
