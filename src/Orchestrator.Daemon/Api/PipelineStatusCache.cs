namespace Orchestrator.Daemon.Api;

/// <summary>
/// The last <c>GET /api/pipelines</c> document, serialized, under the key of what it was built from. One
/// entry: every reader asks for the same document, and any change makes the old one useless.
/// </summary>
internal sealed class PipelineStatusCache
{
    private volatile Entry? _entry;

    /// <summary>What the document depends on: the store's records, the loaded definitions, the stale marks.</summary>
    public sealed record Key(string StateToken, long WorkspaceGeneration, long StaleVersion);

    public byte[]? TryGet(Key key) => _entry is { } entry && entry.Key == key ? entry.Document : null;

    public void Set(Key key, byte[] document) => _entry = new Entry(key, document);

    private sealed record Entry(Key Key, byte[] Document);
}
