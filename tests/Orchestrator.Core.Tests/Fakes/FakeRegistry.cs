using System.Net;
using System.Text;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Tests.Fakes;

/// <summary>
/// An in-memory registry: manifests by repository and reference (tag or digest), blobs, and the referrers
/// API (listing the stored manifests whose subject is a digest).
/// </summary>
internal sealed class FakeRegistry(RegistryEndpoint endpoint) : IRegistryClient
{
    public const string ManifestMediaType = "application/vnd.oci.image.manifest.v1+json";

    private readonly Dictionary<(string Repository, string Reference), ManifestContent> _manifests = [];

    public RegistryEndpoint Endpoint { get; } = endpoint;

    /// <summary>Every manifest PUT, in order: repository, reference, media type, bytes.</summary>
    public List<(string Repository, string Reference, string MediaType, byte[] Content)> Puts { get; } = [];

    /// <summary>Every HEAD, in order.</summary>
    public List<(string Repository, string Reference)> Heads { get; } = [];

    /// <summary>Stores a manifest made from <paramref name="seed"/> under its digest and every tag; returns the digest.</summary>
    public Digest AddManifest(string repository, string seed, params string[] tags)
    {
        var content = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"{ManifestMediaType}\",\"seed\":\"{seed}\"}}");
        return Store(repository, content, ManifestMediaType, tags);
    }

    public Digest Store(string repository, byte[] content, string mediaType, params string[] tags)
    {
        var digest = Digest.Sha256Of(content);
        var manifest = new ManifestContent(mediaType, digest, content);
        _manifests[(repository, digest.ToString())] = manifest;
        foreach (var tag in tags)
        {
            _manifests[(repository, tag)] = manifest;
        }

        return digest;
    }

    public bool Has(string repository, string reference) => _manifests.ContainsKey((repository, reference));

    public ManifestContent? Find(string repository, string reference) => _manifests.GetValueOrDefault((repository, reference));

    public Task<bool> PingAsync(CancellationToken cancellationToken = default) => Task.FromResult(true);

    public Task<Descriptor?> HeadManifestAsync(string repository, string reference, CancellationToken cancellationToken = default)
    {
        Heads.Add((repository, reference));
        return Task.FromResult(_manifests.TryGetValue((repository, reference), out var m)
            ? new Descriptor(m.MediaType, m.Digest, m.Content.Length)
            : null);
    }

    public Task<ManifestContent> GetManifestAsync(string repository, string reference, CancellationToken cancellationToken = default) =>
        _manifests.TryGetValue((repository, reference), out var m)
            ? Task.FromResult(m)
            : throw new RegistryException($"fake: {repository}:{reference} is unknown", HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");

    public Task<Digest> PutManifestAsync(string repository, string reference, ReadOnlyMemory<byte> content, string mediaType, CancellationToken cancellationToken = default)
    {
        Puts.Add((repository, reference, mediaType, content.ToArray()));
        var digest = Store(repository, content.ToArray(), mediaType);
        _manifests[(repository, reference)] = _manifests[(repository, digest.ToString())];
        return Task.FromResult(digest);
    }

    public Task DeleteManifestAsync(string repository, Digest digest, CancellationToken cancellationToken = default)
    {
        foreach (var key in _manifests.Where(p => p.Key.Repository == repository && p.Value.Digest == digest).Select(p => p.Key).ToList())
        {
            _manifests.Remove(key);
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> ListTagsAsync(string repository, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<string>>(_manifests.Keys
            .Where(k => k.Repository == repository && !k.Reference.Contains(':', StringComparison.Ordinal))
            .Select(k => k.Reference).Order(StringComparer.Ordinal).ToList());

    /// <summary>Blobs by repository and digest (the SBOM workflow uploads its artifact's blobs).</summary>
    public Dictionary<(string Repository, Digest Digest), byte[]> Blobs { get; } = [];

    /// <summary>When set, an upload whose bytes it answers an exception for fails with it (to test a failing attach).</summary>
    public Func<byte[], Exception?>? UploadFailure { get; set; }

    public Task<long?> HeadBlobAsync(string repository, Digest digest, CancellationToken cancellationToken = default) =>
        Task.FromResult(Blobs.TryGetValue((repository, digest), out var blob) ? blob.LongLength : (long?)null);

    public Task<Stream> OpenBlobAsync(string repository, Digest digest, CancellationToken cancellationToken = default) =>
        Blobs.TryGetValue((repository, digest), out var blob)
            ? Task.FromResult<Stream>(new MemoryStream(blob, writable: false))
            : throw new RegistryException($"fake: blob {repository}@{digest} is unknown", HttpStatusCode.NotFound, "BLOB_UNKNOWN");

    public async Task UploadBlobAsync(string repository, Digest digest, long size, Stream content, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken);
        var bytes = buffer.ToArray();
        if (UploadFailure?.Invoke(bytes) is { } failure)
        {
            throw failure;
        }

        if (bytes.LongLength != size || !digest.Matches(bytes))
        {
            throw new DigestMismatchException($"fake: upload of {digest} to {repository} does not match its digest or size");
        }

        Blobs[(repository, digest)] = bytes;
    }

    /// <summary>Every cross-repository mount asked for: target repository, digest, source repository.</summary>
    public List<(string Repository, Digest Digest, string From)> Mounts { get; } = [];

    public Task<bool> MountBlobAsync(string repository, Digest digest, string fromRepository, CancellationToken cancellationToken = default)
    {
        Mounts.Add((repository, digest, fromRepository));
        if (!Blobs.TryGetValue((fromRepository, digest), out var blob))
        {
            return Task.FromResult(false);
        }

        Blobs[(repository, digest)] = blob;
        return Task.FromResult(true);
    }

    /// <summary>
    /// A registry with the referrers API (distribution spec v1.1): the manifests of the repository whose
    /// <c>subject</c> is <paramref name="subject"/>, in the order they were stored.
    /// </summary>
    public Task<IReadOnlyList<Referrer>> ListReferrersAsync(string repository, Digest subject, CancellationToken cancellationToken = default)
    {
        var referrers = new List<Referrer>();
        foreach (var manifest in _manifests.Where(p => p.Key.Repository == repository && p.Key.Reference == p.Value.Digest.ToString()).Select(p => p.Value))
        {
            using var document = System.Text.Json.JsonDocument.Parse(manifest.Content);
            var root = document.RootElement;
            if (root.TryGetProperty("subject", out var s) && s.GetProperty("digest").GetString() == subject.ToString())
            {
                var annotations = root.TryGetProperty("annotations", out var a)
                    ? a.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!)
                    : [];
                var artifactType = root.TryGetProperty("artifactType", out var t) ? t.GetString() : null;
                referrers.Add(new Referrer(new Descriptor(manifest.MediaType, manifest.Digest, manifest.Content.Length), artifactType, annotations));
            }
        }

        return Task.FromResult<IReadOnlyList<Referrer>>(referrers);
    }

    /// <summary>When true, <see cref="GetReferrersAsync"/> answers as a registry with the OCI 1.1 referrers API; otherwise it reports none (the default, as the interface does).</summary>
    public bool HasReferrersApi { get; set; }

    public async Task<IReadOnlyList<Referrer>?> GetReferrersAsync(string repository, Digest subject, CancellationToken cancellationToken = default) =>
        HasReferrersApi ? await ListReferrersAsync(repository, subject, cancellationToken) : null;

    /// <summary>A registry with the referrers API indexes subjects itself: nothing to write.</summary>
    public Task<bool> AddReferrersAsync(string repository, Digest subject, IReadOnlyList<Referrer> referrers, CancellationToken cancellationToken = default) =>
        Task.FromResult(false);
}

/// <summary>One <see cref="FakeRegistry"/> per host, created on first use.</summary>
internal sealed class FakeRegistryFactory : IRegistryClientFactory
{
    private readonly Dictionary<string, FakeRegistry> _registries = new(StringComparer.Ordinal);

    /// <summary>Every endpoint a client was created for, in order.</summary>
    public List<RegistryEndpoint> Created { get; } = [];

    public FakeRegistry For(string host) => For(new RegistryEndpoint(host, PlainHttp: true));

    public FakeRegistry For(RegistryEndpoint endpoint)
    {
        if (!_registries.TryGetValue(endpoint.Host, out var registry))
        {
            registry = new FakeRegistry(endpoint);
            _registries[endpoint.Host] = registry;
        }

        return registry;
    }

    public IRegistryClient Create(RegistryEndpoint endpoint)
    {
        Created.Add(endpoint);
        return For(endpoint);
    }
}
