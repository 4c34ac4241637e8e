using Orchestrator.Core.Definitions;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Ports;

/// <summary>
/// The OCI distribution API of one registry (distribution spec v1.1, "Pull", "Push", "Content
/// Discovery", "Content Management"). Implemented by Orchestrator.Registry with basic and bearer-token
/// auth. Errors: <see cref="Errors.RegistryException"/> with the HTTP status and OCI error code;
/// <see cref="Errors.DigestMismatchException"/> when content does not hash to its digest;
/// <see cref="Errors.UnavailableException"/> when the registry does not answer.
/// </summary>
public interface IRegistryClient
{
    /// <summary>The registry this client talks to.</summary>
    RegistryEndpoint Endpoint { get; }

    /// <summary><c>GET /v2/</c>: true when the registry answers as an OCI registry.</summary>
    Task<bool> PingAsync(CancellationToken cancellationToken = default);

    /// <summary><c>HEAD /v2/{name}/manifests/{reference}</c>: digest, media type and size, or null when unknown.</summary>
    Task<Descriptor?> HeadManifestAsync(string repository, string reference, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>GET /v2/{name}/manifests/{reference}</c> accepting every manifest media type. When
    /// <paramref name="reference"/> is a digest, the bytes are verified against it.
    /// </summary>
    Task<ManifestContent> GetManifestAsync(string repository, string reference, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>PUT /v2/{name}/manifests/{reference}</c> with the exact bytes and media type. Returns the
    /// <c>Docker-Content-Digest</c> the registry answered (or the bytes' digest when it sent none).
    /// </summary>
    Task<Digest> PutManifestAsync(string repository, string reference, ReadOnlyMemory<byte> content, string mediaType, CancellationToken cancellationToken = default);

    /// <summary><c>DELETE /v2/{name}/manifests/{digest}</c>; no error when already gone.</summary>
    Task DeleteManifestAsync(string repository, Digest digest, CancellationToken cancellationToken = default);

    /// <summary><c>HEAD /v2/{name}/blobs/{digest}</c>: the blob's size, or null when the repository does not have it.</summary>
    Task<long?> HeadBlobAsync(string repository, Digest digest, CancellationToken cancellationToken = default);

    /// <summary><c>GET /v2/{name}/blobs/{digest}</c> as a stream; the caller verifies as it reads.</summary>
    Task<Stream> OpenBlobAsync(string repository, Digest digest, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>POST /v2/{name}/blobs/uploads/</c> then <c>PUT ?digest=</c> (chunked <c>PATCH</c>es for large
    /// blobs): uploads <paramref name="size"/> bytes read from <paramref name="content"/> as <paramref name="digest"/>.
    /// </summary>
    Task UploadBlobAsync(string repository, Digest digest, long size, Stream content, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>POST /v2/{name}/blobs/uploads/?mount={digest}&amp;from={other}</c>: true when the registry
    /// mounted the blob (201), false when it opened an upload instead (202, which is then cancelled).
    /// </summary>
    Task<bool> MountBlobAsync(string repository, Digest digest, string fromRepository, CancellationToken cancellationToken = default);

    /// <summary><c>GET /v2/{name}/tags/list</c> (following <c>Link</c> pagination); empty when the repository is unknown.</summary>
    Task<IReadOnlyList<string>> ListTagsAsync(string repository, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>GET /v2/{name}/referrers/{digest}</c> (distribution spec v1.1, "Listing Referrers"): the
    /// manifests whose <c>subject</c> is <paramref name="subject"/>, or <c>null</c> when the registry has no
    /// referrers API (a 404, or an answer that is not an image index). Most callers want
    /// <see cref="ListReferrersAsync"/>, which falls back to the referrers tag schema. The default
    /// implementation reports no API.
    /// </summary>
    Task<IReadOnlyList<Referrer>?> GetReferrersAsync(string repository, Digest subject, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<Referrer>?>(null);

    /// <summary>
    /// The referrers of <paramref name="subject"/> (distribution spec v1.1 "Listing Referrers"): from the
    /// referrers API when the registry has one, else from the fallback tag <c>&lt;alg&gt;-&lt;hex&gt;</c>
    /// ("Referrers Tag Schema"); empty when neither lists any.
    /// </summary>
    /// <exception cref="Errors.JobFailedException">The fallback tag holds something that is not an image index.</exception>
    Task<IReadOnlyList<Referrer>> ListReferrersAsync(string repository, Digest subject, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes <paramref name="referrers"/> (already pushed) discoverable from <paramref name="subject"/>
    /// (distribution spec v1.1 "Pushing Manifests with Subject"): nothing on a registry with the referrers
    /// API (it indexes a manifest's <c>subject</c> itself); otherwise the fallback tag's image index gains
    /// every referrer it lacks. Returns true when the fallback index was written.
    /// </summary>
    /// <exception cref="Errors.JobFailedException">The fallback tag holds something that is not an image index.</exception>
    Task<bool> AddReferrersAsync(string repository, Digest subject, IReadOnlyList<Referrer> referrers, CancellationToken cancellationToken = default);
}

/// <summary>Creates registry clients; clients for the same endpoint share connections.</summary>
public interface IRegistryClientFactory
{
    IRegistryClient Create(RegistryEndpoint endpoint);
}

/// <summary>An OCI content descriptor (image spec, descriptor.md): media type, digest, size in bytes.</summary>
public sealed record Descriptor(string MediaType, Digest Digest, long Size);

/// <summary>A manifest's exact bytes, as served, with its media type and digest.</summary>
public sealed record ManifestContent(string MediaType, Digest Digest, ReadOnlyMemory<byte> Content);
