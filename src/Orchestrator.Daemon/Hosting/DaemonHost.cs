using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Workflows;
using Orchestrator.Daemon.Api;
using Orchestrator.Daemon.Auth;
using Orchestrator.Daemon.Dashboard;
using Orchestrator.Daemon.Metrics;
using Orchestrator.Daemon.Workers;

namespace Orchestrator.Daemon.Hosting;

/// <summary>
/// The daemon: an ASP.NET Core minimal-API app (the <c>/api</c> job, pipeline and release endpoints,
/// <c>/healthz</c>, <c>/metrics</c>, the dashboard at <c>/</c>) plus the job worker and the pipeline watcher as hosted services.
/// </summary>
public static class DaemonHost
{
    /// <summary>Builds the app on <paramref name="options"/> without starting it (tests start it on port 0).</summary>
    public static WebApplication Build(DaemonOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(DaemonHost).Assembly.GetName().Name,
            ContentRootPath = options.Workspace.Config.RootDirectory,
        });

        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(options.LoggerFactory);
        builder.WebHost.UseUrls(options.EffectiveUrls);
        builder.Services.Configure<HostOptions>(host =>
        {
            host.ShutdownTimeout = TimeSpan.FromSeconds(30);

            // A worker that dies must not leave a daemon that answers but never runs a job.
            host.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });

        var holder = new WorkspaceHolder(options.Workspace, options.ReloadWorkspace, options.LoggerFactory.CreateLogger<WorkspaceHolder>());
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(options.Services);
        builder.Services.AddSingleton(options.Jobs);
        builder.Services.AddSingleton<IEnginePool>(options.Engines ?? new Core.Engines.EnginePool(
            [(options.Workspace.Config.EnginePool[0], options.Services.Engine)], time: options.Services.Time, logger: options.LoggerFactory.CreateLogger<Core.Engines.EnginePool>()));
        builder.Services.AddSingleton(holder);
        builder.Services.AddSingleton<JobSignal>();
        builder.Services.AddSingleton<StaleTracker>();
        builder.Services.AddSingleton<PipelineStatusCache>();
        builder.Services.AddSingleton<JobListCache>();
        builder.Services.AddSingleton(new JobChangeFeed(options.Jobs, options.Services.Time));
        builder.Services.AddSingleton(provider => new TokenAuthenticator(
            options.Workspace.Config.Daemon.Tokens, options.GetEnvironmentVariable, options.LoggerFactory.CreateLogger<TokenAuthenticator>()));
        builder.Services.AddSingleton(options.Releases ?? new WorkflowReleaseQueries(options.Services, holder));
        builder.Services.AddSingleton<JobWorker>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<JobWorker>());
        builder.Services.AddSingleton<PipelineWatcher>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<PipelineWatcher>());
        builder.Services.AddSingleton(ReplicaIdentity.For(options));
        builder.Services.AddSingleton(options.Replicas ?? new LocalReplicaRegistry(options.Jobs, options.Services.Time));
        builder.Services.AddSingleton<ReplicaHeartbeat>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<ReplicaHeartbeat>());

        var app = builder.Build();
        app.UseMiddleware<RequestLoggingMiddleware>();
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        app.UseMiddleware<SecurityHeadersMiddleware>();
        app.UseMiddleware<TokenAuthMiddleware>();
        JobEndpoints.Map(app);
        JobEventStream.Map(app);
        DashboardEndpoints.Map(app);
        PipelineEndpoints.Map(app);
        HealthEndpoints.Map(app);
        MetricsEndpoint.Map(app);
        ReplicaEndpoints.Map(app);
        app.MapFallback(() => ApiJson.Error(404, "no such endpoint; see / (the dashboard), /api/jobs, /api/pipelines, /api/releases/{pipeline}/{stage}, /api/replicas, /healthz, /metrics"));

        // Resolved now so an unset secret is reported at start, not at the first request.
        app.Services.GetRequiredService<TokenAuthenticator>();
        return app;
    }

    /// <summary>
    /// Takes the state's daemon lock (<c>STATE.daemon.lock</c>), initializes the job store, runs the daemon
    /// until <paramref name="cancellationToken"/> fires or the process gets SIGTERM/Ctrl+C, and returns the
    /// exit code: 0 after a clean stop; 1 when it could not listen, another daemon holds the state, or the
    /// worker failed.
    /// </summary>
    /// <exception cref="InputException">An unusable <c>--urls</c> (exit 2).</exception>
    public static async Task<int> RunAsync(DaemonOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var logger = options.LoggerFactory.CreateLogger(typeof(DaemonHost));
        foreach (var url in options.EffectiveUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new InputException($"cannot listen on '{url}': give an http:// URL such as {Core.Definitions.DaemonSettings.DefaultUrls}");
            }

            if (!IsLoopback(uri.Host))
            {
                logger.LogWarning("Listening on {Url}, which is not loopback: the API is reachable from other machines; put TLS in front of it and keep tokens secret", url);
            }
        }

        // At start the worker requeues every running job as interrupted: only right if no other daemon runs them.
        // On a queue with leases (PostgreSQL) replicas run side by side instead, and only expired leases are requeued.
        IAsyncDisposable daemonLock;
        if (options.Jobs is IJobLeases leases)
        {
            logger.LogInformation("Joining the shared job queue as replica {ReplicaId} (lease {LeaseSeconds} s): other replicas may run beside this one", leases.LeaseOwner, leases.LeaseDuration.TotalSeconds);
            daemonLock = new NoLock();
        }
        else if (options.LockStore is { } lockStore)
        {
            if (await lockStore(cancellationToken).ConfigureAwait(false) is not { } held)
            {
                logger.LogError("Another daemon is running on this PostgreSQL state database (it holds the daemon advisory lock); stop it first, or give this one its own database");
                return ExitCodes.JobFailed;
            }

            daemonLock = held;
        }
        else
        {
            var lockPath = options.Workspace.Config.StatePath + ".daemon.lock";
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
                daemonLock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                logger.LogError("Another daemon is running on {StatePath} (it holds {LockPath}); stop it first, or give this one its own state path", options.Workspace.Config.StatePath, lockPath);
                return ExitCodes.JobFailed;
            }
        }

        await using var heldLock = daemonLock;
        await options.Jobs.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await using var app = Build(options);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException exception)
        {
            logger.LogError("Cannot listen on {Urls}: {Error}; stop what is using it or pass another --urls", options.EffectiveUrls, exception.Message);
            return ExitCodes.JobFailed;
        }

        logger.LogInformation("Daemon listening on {Urls} with concurrency {Concurrency}", string.Join(", ", app.Urls), options.Workspace.Config.Daemon.Concurrency);
        await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (app.Services.GetRequiredService<JobWorker>().ExecuteTask is { IsFaulted: true })
        {
            logger.LogError("Daemon stopped because the job worker failed (see the error above); queued jobs run when it is started again");
            return ExitCodes.JobFailed;
        }

        logger.LogInformation("Daemon stopped");
        return ExitCodes.Success;
    }

    private sealed class NoLock : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static bool IsLoopback(string host) =>
        host is "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
