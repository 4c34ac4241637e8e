using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;

namespace Orchestrator.Daemon.Hosting;

/// <summary>
/// The last good definitions: the watcher refreshes them every tick, the API refreshes them when a
/// request names a pipeline it does not know yet (one just added) or content it does not hold (a job's
/// <see cref="DefinitionHashes"/>), and the API and the worker read them. Each load keeps, beside the
/// definitions, the hashes of every pipeline's definition and lock file taken just before the load, so a
/// file edited during the load reads as "not what I hold" and is loaded again rather than trusted.
/// </summary>
internal sealed class WorkspaceHolder
{
    private readonly SemaphoreSlim _reloading = new(1, 1);
    private readonly Func<CancellationToken, Task<Workspace>>? _reload;
    private readonly ILogger? _logger;
    private volatile Loaded _loaded;

    public WorkspaceHolder(Workspace initial, Func<CancellationToken, Task<Workspace>>? reload = null, ILogger? logger = null)
    {
        _reload = reload;
        _logger = logger;

        // The first load's hashes are unknown (it happened before this holder): the first job that names
        // content re-reads the files once, which is cheap and never trusts a guess.
        _loaded = new Loaded(initial, new Dictionary<string, DefinitionHashes?>(StringComparer.Ordinal), 0);
    }

    public Workspace Current
    {
        get => _loaded.Workspace;
        set => _loaded = new Loaded(value, new Dictionary<string, DefinitionHashes?>(StringComparer.Ordinal), _loaded.Generation + 1);
    }

    public OrchestratorConfig Config => Current.Config;

    /// <summary>Increases with every load that replaced the definitions; caches of derived views key on it.</summary>
    public long Generation => _loaded.Generation;

    /// <summary>Why the last reload failed (the last good definitions stayed in force), or null after a good one.</summary>
    public string? LastReloadError { get; private set; }

    /// <summary>The stage promote jobs target when they name none: the one after the first.</summary>
    public string DefaultPromotionStage => Config.Stages.ElementAtOrDefault(1)?.Name ?? Config.FirstStage.Name;

    public string LaneOf(Core.Jobs.Job job) => job.Lane(Config.FirstStage.Name, DefaultPromotionStage);

    /// <summary>The hashes of <paramref name="pipeline"/>'s files as the current definitions were read from them; null when unknown.</summary>
    public DefinitionHashes? HashesOf(string pipeline) => _loaded.Hashes.GetValueOrDefault(pipeline);

    /// <summary>
    /// Reads the definitions again; a broken definition (perhaps mid-edit) keeps the last good ones in
    /// force. Returns what is current afterwards.
    /// </summary>
    public Task<Workspace> RefreshAsync(CancellationToken cancellationToken) => RefreshAsync(null, cancellationToken);

    /// <summary>
    /// As <see cref="RefreshAsync(CancellationToken)"/>, but when <paramref name="unlessReplaced"/> is given and
    /// another caller finished a load after it was read, that load is used instead of starting one more: 50
    /// jobs submitted together while the definitions are unknown wait for one reload, not one each.
    /// </summary>
    private async Task<Workspace> RefreshAsync(Loaded? unlessReplaced, CancellationToken cancellationToken)
    {
        await _reloading.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (unlessReplaced is not null && !ReferenceEquals(unlessReplaced, _loaded))
            {
                return _loaded.Workspace;
            }

            // Hashed before the load: if a file changes in between, the hash is the older content's, so a
            // later job naming the newer content reloads instead of running a stale pairing.
            var hashes = await HashPipelineFilesAsync(_loaded.Workspace, cancellationToken).ConfigureAwait(false);
            var workspace = _reload is null ? _loaded.Workspace : await _reload(cancellationToken).ConfigureAwait(false);
            hashes = KeepKnown(workspace, hashes);
            var changed = !ReferenceEquals(workspace, _loaded.Workspace) || !SameHashes(hashes, _loaded.Hashes);
            _loaded = new Loaded(workspace, hashes, changed ? _loaded.Generation + 1 : _loaded.Generation);
            LastReloadError = null;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LastReloadError = exception.Message;
            _logger?.LogWarning("Definitions could not be reloaded, keeping the last good ones: {Error}", exception.Message);
        }
        finally
        {
            _reloading.Release();
        }

        return _loaded.Workspace;
    }

    /// <summary>
    /// How long after a reload for an unknown pipeline name another unknown name is refused from what is held
    /// instead of reloading again: a load of 53 pipelines costs 150–400 ms, so a client (or a typo in a loop)
    /// naming pipelines that do not exist could otherwise keep the daemon reloading. A pipeline added to disk
    /// is known at the latest this long later (and at the watcher's next tick anyway).
    /// </summary>
    public TimeSpan UnknownNameReloadInterval { get; init; } = TimeSpan.FromSeconds(1);

    // Environment.TickCount64 when the last reload for an unknown name finished; long.MinValue / 2: never.
    private long _unknownNameReloadFinished = long.MinValue / 2;

    /// <summary>
    /// True when <paramref name="pipeline"/> is known, reading the definitions again once if it is not. Requests
    /// arriving while such a reload runs share it; for <see cref="UnknownNameReloadInterval"/> after it finished,
    /// unknown names are answered from what is held.
    /// </summary>
    public async Task<bool> KnowsPipelineAsync(string? pipeline, CancellationToken cancellationToken)
    {
        var seen = _loaded;
        if (string.IsNullOrEmpty(pipeline) || seen.Workspace.Pipelines.ContainsKey(pipeline))
        {
            return true;
        }

        if (Environment.TickCount64 - Interlocked.Read(ref _unknownNameReloadFinished) < (long)UnknownNameReloadInterval.TotalMilliseconds)
        {
            return false;
        }

        var workspace = await RefreshAsync(seen, cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _unknownNameReloadFinished, Environment.TickCount64);
        return workspace.Pipelines.ContainsKey(pipeline);
    }

    /// <summary>
    /// Makes the held definition of <paramref name="pipeline"/> the one with <paramref name="wanted"/>
    /// hashes, reloading once when it is not. Returns null when they match, else which file differs.
    /// </summary>
    public async Task<string?> MatchAsync(string pipeline, DefinitionHashes wanted, CancellationToken cancellationToken)
    {
        var seen = _loaded;
        if (seen.Hashes.GetValueOrDefault(pipeline) is { } held && held.Difference(wanted) is null)
        {
            return null;
        }

        // The first reload may be one another request finished meanwhile (the herd shares it); if that does not
        // match, this request's own reload decides, and a second one covers a pipeline new to the first.
        DefinitionHashes? now = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            await RefreshAsync(attempt == 0 ? seen : null, cancellationToken).ConfigureAwait(false);
            now = HashesOf(pipeline);
            if (now is not null && now.Difference(wanted) is null)
            {
                return null;
            }

            if (now is not null && attempt > 0)
            {
                return now.Difference(wanted);
            }
        }

        return now?.Difference(wanted) ?? "the definition";
    }

    /// <summary>
    /// Makes the held definition of <paramref name="pipeline"/> the one on disk now (for clients that name
    /// no content). Returns the hashes held afterwards, and null or the reason when they are not the disk's.
    /// </summary>
    public async Task<(DefinitionHashes? Held, string? Differs)> MatchDiskAsync(string pipeline, CancellationToken cancellationToken)
    {
        var file = Current.Pipelines.TryGetValue(pipeline, out var definition) ? definition.SourceFile : null;
        var onDisk = file is null ? null : await HashOrNullAsync(file, cancellationToken).ConfigureAwait(false);
        if (onDisk is null)
        {
            // Removed or unreadable since the load: what is held is all there is to run.
            return (HashesOf(pipeline), null);
        }

        var differs = await MatchAsync(pipeline, onDisk, cancellationToken).ConfigureAwait(false);
        if (differs is not null && HashesOf(pipeline) is null && LastReloadError is not null)
        {
            // No load has succeeded since start, so what is held cannot be compared with the disk: the last
            // good definitions run, as the watcher keeps them, and the job records no hashes it cannot vouch for.
            _logger?.LogWarning("Pipeline {Pipeline} runs on the definitions loaded at start: they cannot be reloaded ({Error})", pipeline, LastReloadError);
            return (null, null);
        }

        return (HashesOf(pipeline), differs);
    }

    private static async Task<Dictionary<string, DefinitionHashes?>> HashPipelineFilesAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var hashes = new Dictionary<string, DefinitionHashes?>(StringComparer.Ordinal);
        foreach (var pipeline in workspace.Pipelines.Values)
        {
            hashes[pipeline.Name] = await HashOrNullAsync(pipeline.SourceFile, cancellationToken).ConfigureAwait(false);
        }

        return hashes;
    }

    /// <summary>
    /// Pipelines the load found that the previous definitions did not have were not hashed before it: a hash
    /// taken now could describe newer content than was loaded, so theirs stay unknown (null) until the next
    /// load, which hashes them first.
    /// </summary>
    private static Dictionary<string, DefinitionHashes?> KeepKnown(Workspace workspace, Dictionary<string, DefinitionHashes?> before) =>
        workspace.Pipelines.Keys.ToDictionary(name => name, name => before.GetValueOrDefault(name), StringComparer.Ordinal);

    private static bool SameHashes(IReadOnlyDictionary<string, DefinitionHashes?> a, IReadOnlyDictionary<string, DefinitionHashes?> b) =>
        a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var other) && Equals(pair.Value, other));

    private static async Task<DefinitionHashes?> HashOrNullAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await DefinitionHashes.OfFilesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>One load: the definitions and the hashes of the files they were read from (null: unknown).</summary>
    private sealed record Loaded(Workspace Workspace, IReadOnlyDictionary<string, DefinitionHashes?> Hashes, long Generation);
}
