using System.Collections.Concurrent;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Registry;

// Mount hints: where in the target registry a blob already is, so a copy across registries mounts it instead of
// sending it. Kept in this copier, and in the IMountHintStore when there is one, so they outlive the process.
public sealed partial class ImageCopier
{
    // Target registry authority and blob digest -> a repository there known to hold it; bounded, since a
    // stale or evicted hint only costs a declined mount and a streamed copy.
    private readonly ConcurrentDictionary<(string Registry, Digest Digest), string> _mountHints = new();
    private const int MaxMountHints = 50_000;

    private PlannedBlob ToCopy(CopyRequest request, Descriptor blob, bool canMount, IReadOnlyDictionary<Digest, string>? checkedHints = null)
    {
        if (canMount)
        {
            return new PlannedBlob(blob.Digest, blob.Size, blob.MediaType, CanMount: true);
        }

        var hint = checkedHints is not null
            ? checkedHints.GetValueOrDefault(blob.Digest)
            : _mountHints.TryGetValue((RegistryKey(request.Target), blob.Digest), out var repository) && repository != request.TargetRepository ? repository : null;
        return new PlannedBlob(blob.Digest, blob.Size, blob.MediaType, CanMount: hint is not null) { MountFrom = hint };
    }

    // The hints for the blobs the target lacks: this copier's own first, then the store's (written by earlier
    // processes). Each is checked with a HEAD of the blob in the hinted repository, so the plan mounts only from
    // where the registry holds the blob now; a hint the registry denies is forgotten. The HEADs go at once (as the
    // probe's do) and the stale hints are forgotten in one write: a fresh target with every hint stale (the hinted
    // repositories deleted) paid a round trip and a state-file commit per blob one after another, before any byte moved.
    private async Task<Dictionary<Digest, string>> CheckedHintsAsync(
        IRegistryClient target, CopyRequest request, IReadOnlyList<Descriptor> missing, ParallelOptions parallel, CancellationToken cancellationToken)
    {
        var registry = RegistryKey(request.Target);
        var candidates = new Dictionary<Digest, string>();
        foreach (var blob in missing)
        {
            if (_mountHints.TryGetValue((registry, blob.Digest), out var repository) && repository != request.TargetRepository)
            {
                candidates[blob.Digest] = repository;
            }
        }

        var unknown = missing.Select(b => b.Digest).Where(d => !candidates.ContainsKey(d)).ToList();
        if (_hintStore is not null && unknown.Count > 0)
        {
            foreach (var (digest, repository) in await _hintStore.FindAsync(registry, unknown, request.TargetRepository, cancellationToken).ConfigureAwait(false))
            {
                candidates[digest] = repository;
            }
        }

        var confirmed = new ConcurrentDictionary<Digest, string>();
        var stale = new ConcurrentBag<KeyValuePair<Digest, string>>();
        await Parallel.ForEachAsync(candidates, parallel, async (candidate, ct) =>
        {
            var (digest, repository) = candidate;
            bool holds;
            try
            {
                holds = await target.HeadBlobAsync(repository, digest, ct).ConfigureAwait(false) is not null;
            }
            catch (RegistryException ex) when ((int?)ex.StatusCode is >= 400 and < 500)
            {
                // Not readable with these credentials: no mount from there, but the blob may well still be there.
                LogMountHintDeclined(_logger, digest, repository, request.TargetRepository, ex.Message);
                return;
            }

            if (holds)
            {
                confirmed[digest] = repository;
                return;
            }

            _mountHints.TryRemove(new KeyValuePair<(string, Digest), string>((registry, digest), repository));
            stale.Add(candidate);
        }).ConfigureAwait(false);

        if (_hintStore is not null && !stale.IsEmpty)
        {
            await _hintStore.ForgetAsync(registry, [.. stale], cancellationToken).ConfigureAwait(false);
        }

        return new Dictionary<Digest, string>(confirmed);
    }

    private void RememberLocation(CopyRequest request, Digest blob)
    {
        if (_mountHints.Count >= MaxMountHints)
        {
            _mountHints.Clear();
        }

        _mountHints[(RegistryKey(request.Target), blob)] = request.TargetRepository;
    }
}
