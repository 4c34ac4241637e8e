using Orchestrator.Core.References;

namespace Orchestrator.Core.Ports;

/// <summary>
/// Mount hints that outlive a process: which repositories of a registry an earlier copy put a blob in, so a
/// promotion run by a new process (a CLI call, a restarted daemon) mounts a base layer the target registry
/// already holds under another repository instead of sending its bytes again (distribution spec "Mounting a
/// blob from another repository"). Implemented by Orchestrator.State in the state store.
/// </summary>
/// <remarks>
/// A hint is only a lead: the copier checks it (a HEAD of the blob in the hinted repository) before it plans a
/// mount, forgets it when the registry no longer has the blob there, and falls back to a streamed copy when the
/// registry refuses the mount. Implementations must not throw for a store that cannot be read or written: a lost
/// hint costs one copy, never a promotion.
/// </remarks>
public interface IMountHintStore
{
    /// <summary>
    /// For each of <paramref name="blobs"/> known to be in <paramref name="registry"/>, the repository it was
    /// seen in most recently, other than <paramref name="excludeRepository"/>. Blobs with no hint are absent.
    /// </summary>
    /// <param name="registry">The registry's authority as <c>scheme://host:port</c>.</param>
    /// <param name="blobs">Blob digests to look up.</param>
    /// <param name="excludeRepository">The repository being copied into (a hint to itself is no use).</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    Task<IReadOnlyDictionary<Digest, string>> FindAsync(string registry, IReadOnlyCollection<Digest> blobs, string excludeRepository, CancellationToken cancellationToken = default);

    /// <summary>Records that <paramref name="repository"/> of <paramref name="registry"/> holds each of <paramref name="blobs"/> now.</summary>
    Task RememberAsync(string registry, string repository, IReadOnlyCollection<Digest> blobs, CancellationToken cancellationToken = default);

    /// <summary>Drops the hint that <paramref name="repository"/> holds <paramref name="blob"/> (the registry said it does not).</summary>
    Task ForgetAsync(string registry, string repository, Digest blob, CancellationToken cancellationToken = default);

    /// <summary>
    /// Drops every hint of <paramref name="hints"/> (blob digest and the repository the registry said does not hold
    /// it) in one write: a copy that finds several hints stale pays one commit, not one per blob.
    /// </summary>
    Task ForgetAsync(string registry, IReadOnlyCollection<KeyValuePair<Digest, string>> hints, CancellationToken cancellationToken = default);
}
