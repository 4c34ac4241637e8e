using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Ports;
using Orchestrator.Daemon.Hosting;

namespace Orchestrator.Daemon.Workers;

/// <summary>
/// Keeps this replica's row alive in the registry (issue 14): registers at start, heartbeats every third of the lease
/// (saying whether the watcher lock is held here), registers again if the row went missing, and marks the row stopped on
/// a clean stop. A registry that does not answer is logged and retried: it never stops the daemon, and the row simply
/// shows the replica as down until a heartbeat gets through.
/// </summary>
internal sealed class ReplicaHeartbeat(
    DaemonOptions options, IReplicaRegistry registry, ReplicaIdentity identity, PipelineWatcher watcher, ILogger<ReplicaHeartbeat> logger) : BackgroundService
{
    /// <summary>Heartbeats that reached the registry; tests wait on it.</summary>
    internal PassCounter Beats { get; } = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var registered = false;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Beats.Begin();
                try
                {
                    if (!registered)
                    {
                        await registry.RegisterAsync(identity.Registration, stoppingToken).ConfigureAwait(false);
                        logger.LogInformation("Replica {ReplicaId} registered on the {Store} job queue (lease {LeaseSeconds} s)", identity.Id, identity.Store, identity.LeaseDuration.TotalSeconds);
                    }

                    registered = await registry.HeartbeatAsync(identity.Id, watcher.HoldsLock, identity.LeaseDuration, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    logger.LogWarning("Replica heartbeat failed: {Error}; trying again in {Interval}", exception.Message, identity.HeartbeatInterval);
                }
                finally
                {
                    Beats.End();
                }

                await Task.Delay(identity.HeartbeatInterval, options.Services.Time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            try
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await registry.MarkStoppedAsync(identity.Id, limit.Token).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                // The row then expires by itself.
                logger.LogWarning("Could not mark replica {ReplicaId} stopped: {Error}", identity.Id, exception.Message);
            }
        }
    }
}
