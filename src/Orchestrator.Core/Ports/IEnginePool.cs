namespace Orchestrator.Core.Ports;

/// <summary>
/// The Docker Engines builds and validations are placed on (issue 14, item 3), each with a number of slots. A job takes
/// one slot for its whole run (<see cref="AcquireAsync"/>) and gives it back by disposing the lease. Implemented by
/// <see cref="Engines.EnginePool"/>; a config without <c>engines:</c> is a pool of one.
/// </summary>
public interface IEnginePool
{
    /// <summary>The engines, in the order of orchestrator.yaml.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>The client of the engine named <paramref name="name"/>, to use outside a lease (cleanup, health).</summary>
    /// <exception cref="KeyNotFoundException">No such engine.</exception>
    IDockerEngine this[string name] { get; }

    /// <summary>
    /// A free slot for a job: on an engine that is up, not in <see cref="EnginePlacement.Exclude"/>, with a free slot, preferring
    /// one that already holds <see cref="EnginePlacement.Image"/>, else the least busy (busy slots over total). Waits while
    /// every such engine is busy.
    /// </summary>
    /// <exception cref="Errors.UnavailableException">No engine the job may use answers (every one down or excluded).</exception>
    Task<EngineLease> AcquireAsync(EnginePlacement placement, CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks <paramref name="engine"/> down after a call failed to reach it: no job is placed on it until a probe
    /// (<c>GET /version</c>) answers again. <paramref name="reason"/> is shown by <c>/healthz</c>; it never holds secrets.
    /// </summary>
    void MarkDown(string engine, string reason);

    /// <summary>Asks <paramref name="engine"/> <c>GET /version</c> within <paramref name="timeout"/>; marks it up or down by the answer. True when it answered.</summary>
    Task<bool> ProbeAsync(string engine, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Each engine as the pool sees it now, in config order.</summary>
    IReadOnlyList<EngineStatus> Snapshot();
}

/// <summary>What a job needs of an engine.</summary>
/// <param name="Image">
/// A reference by digest the job starts from (a build's base, <c>127.0.0.1:5001/base/debian-bookworm@sha256:…</c>; a validation's
/// image): an engine holding it is preferred, so it is not pulled again. Null when any engine will do.
/// </param>
/// <param name="Exclude">Engines not to use (one that already failed this job).</param>
public sealed record EnginePlacement(string? Image = null, IReadOnlySet<string>? Exclude = null)
{
    /// <summary>Any engine.</summary>
    public static EnginePlacement Any { get; } = new();
}

/// <summary>One engine as the pool sees it.</summary>
/// <param name="Name">Its name in orchestrator.yaml.</param>
/// <param name="Endpoint">Its endpoint, <c>unix:///…</c> or <c>tcp://host:port</c> (never a secret: certificates stay in their folder).</param>
/// <param name="Up">False once a call or probe failed to reach it, until a probe answers.</param>
/// <param name="Busy">Slots taken by running jobs.</param>
/// <param name="Slots">Slots in all.</param>
/// <param name="Error">Why it is down, or null.</param>
public sealed record EngineStatus(string Name, string Endpoint, bool Up, int Busy, int Slots, string? Error);

/// <summary>A slot taken on one engine; disposing gives it back (once).</summary>
public sealed class EngineLease : IDisposable, IAsyncDisposable
{
    private Action? _release;

    /// <summary>A lease on <paramref name="engine"/>; <paramref name="release"/> runs once, on the first dispose.</summary>
    public EngineLease(string name, string endpoint, IDockerEngine engine, bool holdsImage, Action release)
    {
        Name = name;
        Endpoint = endpoint;
        Engine = engine;
        HoldsImage = holdsImage;
        _release = release;
    }

    /// <summary>The engine's name.</summary>
    public string Name { get; }

    /// <summary>The engine's endpoint.</summary>
    public string Endpoint { get; }

    /// <summary>The engine to run the job on.</summary>
    public IDockerEngine Engine { get; }

    /// <summary>True when the engine was chosen because it already held <see cref="EnginePlacement.Image"/>.</summary>
    public bool HoldsImage { get; }

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
