using Orchestrator.Core.Jobs;

namespace Orchestrator.Daemon.Api;

/// <summary>
/// The serialized <c>GET /api/jobs</c> documents of the last few queries, each under the job store's change
/// token it was read with (<see cref="Core.Ports.IJobStore.GetChangeTokenAsync"/>). A query is its parsed
/// <see cref="JobFilter"/> (pipeline, stage, state, kind, limit), so <c>?state=Queued</c> and
/// <c>?state=queued&amp;limit=100</c> share an entry. At most <see cref="Capacity"/> entries of at most
/// <see cref="MaxDocumentBytes"/> each: clients poll a handful of views (the dashboard's list, a CLI's
/// <c>jobs</c>), and a client cycling through many filters evicts entries (least recently used first) rather
/// than growing the daemon; a larger document (a long list of big results) is served but not kept.
/// </summary>
/// <remarks>
/// Why: without it every read opened a SQLite connection and read the rows with their stored results, which
/// held the list at ~1,000–1,800 req/s under 200 connections on 2 cores. Any job write moves the token, so a
/// state change shows on the next read; entries of an older token are dropped when a newer one is stored.
/// </remarks>
internal sealed class JobListCache
{
    /// <summary>How many queries are kept. <value>8.</value></summary>
    public const int Capacity = 8;

    /// <summary>The largest document kept, in bytes, so the cache holds at most 8 MiB. <value>1 MiB.</value></summary>
    public const int MaxDocumentBytes = 1 << 20;

    private readonly Lock _gate = new();
    private readonly Dictionary<JobFilter, Entry> _entries = new(Capacity);
    private long _clock;

    /// <summary>How many entries are held now (at most <see cref="Capacity"/>).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The document of <paramref name="filter"/> stored under <paramref name="token"/>, or null.</summary>
    public byte[]? TryGet(JobFilter filter, string token)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(filter, out var entry) && entry.Token == token)
            {
                entry.LastUsed = ++_clock;
                return entry.Document;
            }

            return null;
        }
    }

    /// <summary>
    /// Stores the document of <paramref name="filter"/> read under <paramref name="token"/> (UTF-8 JSON, not
    /// copied: do not change it); one over <see cref="MaxDocumentBytes"/> is not kept.
    /// </summary>
    public void Set(JobFilter filter, string token, byte[] document)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(document);
        if (document.Length > MaxDocumentBytes)
        {
            return;
        }

        lock (_gate)
        {
            // Entries under another token can never be served again once the store has moved on.
            foreach (var (key, entry) in _entries)
            {
                if (entry.Token != token)
                {
                    _entries.Remove(key);
                }
            }

            if (_entries.Count >= Capacity && !_entries.ContainsKey(filter))
            {
                var oldest = _entries.MinBy(pair => pair.Value.LastUsed).Key;
                _entries.Remove(oldest);
            }

            _entries[filter] = new Entry(token, document) { LastUsed = ++_clock };
        }
    }

    private sealed class Entry(string token, byte[] document)
    {
        public string Token { get; } = token;

        public byte[] Document { get; } = document;

        public long LastUsed { get; set; }
    }
}
