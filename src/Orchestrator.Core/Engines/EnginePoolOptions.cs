namespace Orchestrator.Core.Engines;

/// <summary>How <see cref="EnginePool"/> probes its engines.</summary>
public sealed record EnginePoolOptions
{
    /// <summary>How long a probe (<c>GET /version</c>) or an image inspect may take before the engine counts as not answering. <value>The default is 3 s.</value></summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How often an engine marked down is probed again, at most (when a job is placed, or while one waits). <value>The default is 10 s.</value></summary>
    public TimeSpan ReprobeInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an engine's answer to "do you hold this image?" is reused. <value>The default is 30 s.</value></summary>
    public TimeSpan ImageCacheTime { get; init; } = TimeSpan.FromSeconds(30);
}
