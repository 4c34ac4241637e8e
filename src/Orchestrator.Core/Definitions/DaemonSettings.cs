namespace Orchestrator.Core.Definitions;

/// <summary>
/// The <c>daemon:</c> section of orchestrator.yaml: where the daemon listens, how much it runs at once,
/// who may call it, and what it does on its own.
/// </summary>
/// <param name="Urls">Where to listen. <value>The default is <c>http://127.0.0.1:5080</c>.</value></param>
/// <param name="Concurrency">Jobs run at once, across pipelines; one at a time per pipeline and stage. <value>The default is 2.</value></param>
/// <param name="Tokens">Bearer tokens and their roles; the secret is read from an environment variable, never from the file.</param>
/// <param name="AutoPromoteStages">Stages a digest is promoted to automatically once it passes validation. <value>The default is none.</value></param>
/// <param name="WatchInterval">How often pipelines, locks and base digests are checked for changes. <value>The default is 30 seconds.</value></param>
/// <param name="DashboardPublicRead">
/// <c>daemon.dashboard.public-read</c>: the dashboard's read-only views (and the GET endpoints they call) answer without
/// a token; actions still need one. <value>The default is false: reads need a token with the <c>read</c> role.</value>
/// </param>
public sealed record DaemonSettings(
    string Urls,
    int Concurrency,
    IReadOnlyList<TokenDefinition> Tokens,
    IReadOnlyList<string> AutoPromoteStages,
    TimeSpan WatchInterval,
    bool DashboardPublicRead = false)
{
    public const string DefaultUrls = "http://127.0.0.1:5080";

    public static DaemonSettings Default { get; } = new(DefaultUrls, 2, [], [], TimeSpan.FromSeconds(30));

    /// <summary>The default <see cref="LeaseDuration"/>: 30 seconds.</summary>
    public static readonly TimeSpan DefaultLeaseDuration = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <c>daemon.lease-seconds</c>: on a shared PostgreSQL queue, how long a replica's claim on a job (and its replica
    /// row) holds without a heartbeat; heartbeats come every third of it, and a job whose lease ran out is queued again
    /// by another replica. <value>The default value is 30 seconds.</value>
    /// </summary>
    public TimeSpan LeaseDuration { get; init; } = DefaultLeaseDuration;
}

/// <summary>A bearer token: its name (shown in records and logs), the environment variable holding its secret, its roles.</summary>
/// <param name="Name">e.g. <c>ci</c>; recorded as the actor of the jobs it submits.</param>
/// <param name="SecretEnv">The environment variable with the secret, e.g. <c>ORCHESTRATOR_TOKEN_CI</c>.</param>
/// <param name="Roles"><c>read</c>, <c>build</c>, <c>validate</c>, <c>promote:STAGE</c>.</param>
public sealed record TokenDefinition(string Name, string SecretEnv, IReadOnlyList<string> Roles);

/// <summary>What the daemon does by itself when a pipeline goes stale (its file, its lock or its base digest changed).</summary>
public enum AutoMode
{
    /// <summary>Mark it stale only. The default.</summary>
    None,

    /// <summary>Queue a build (and, with validation, whatever auto-promotion the stages allow).</summary>
    Build,
}
