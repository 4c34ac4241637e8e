using Orchestrator.Core.Definitions;

namespace Orchestrator.Daemon.Hosting;

/// <summary>The last good definitions: the watcher swaps them in, the API and the worker read them.</summary>
internal sealed class WorkspaceHolder(Workspace initial)
{
    private volatile Workspace _current = initial;

    public Workspace Current
    {
        get => _current;
        set => _current = value;
    }

    public OrchestratorConfig Config => _current.Config;

    /// <summary>The stage promote jobs target when they name none: the one after the first.</summary>
    public string DefaultPromotionStage => Config.Stages.ElementAtOrDefault(1)?.Name ?? Config.FirstStage.Name;

    public string LaneOf(Core.Jobs.Job job) => job.Lane(Config.FirstStage.Name, DefaultPromotionStage);
}
