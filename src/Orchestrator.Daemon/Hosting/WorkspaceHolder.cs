using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;

namespace Orchestrator.Daemon.Hosting;

/// <summary>
/// The last good definitions: the watcher refreshes them every tick, the API refreshes them when a
/// request names a pipeline it does not know yet (one just added), and the API and the worker read them.
/// </summary>
internal sealed class WorkspaceHolder(Workspace initial, Func<CancellationToken, Task<Workspace>>? reload = null, ILogger? logger = null)
{
    private readonly SemaphoreSlim _reloading = new(1, 1);
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

    /// <summary>
    /// Reads the definitions again; a broken definition (perhaps mid-edit) keeps the last good ones in
    /// force. Returns what is current afterwards.
    /// </summary>
    public async Task<Workspace> RefreshAsync(CancellationToken cancellationToken)
    {
        if (reload is null)
        {
            return _current;
        }

        await _reloading.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _current = await reload(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger?.LogWarning("Definitions could not be reloaded, keeping the last good ones: {Error}", exception.Message);
        }
        finally
        {
            _reloading.Release();
        }

        return _current;
    }

    /// <summary>True when <paramref name="pipeline"/> is known, reading the definitions again once if it is not.</summary>
    public async Task<bool> KnowsPipelineAsync(string? pipeline, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(pipeline) || _current.Pipelines.ContainsKey(pipeline))
        {
            return true;
        }

        return (await RefreshAsync(cancellationToken).ConfigureAwait(false)).Pipelines.ContainsKey(pipeline);
    }
}
