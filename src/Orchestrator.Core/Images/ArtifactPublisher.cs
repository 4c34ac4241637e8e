using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Images;

/// <summary>
/// Pushes an artifact that refers to an image (an SBOM, a promotion statement) through the registry
/// port, as <see cref="ImagePublisher"/> pushes images: the empty config and the content as blobs (each
/// only when missing), the <see cref="ArtifactManifest"/> by digest, then asks the registry client to make
/// it discoverable from its subject (<see cref="IRegistryClient.AddReferrersAsync"/>: nothing on a registry
/// with the referrers API, the <c>&lt;alg&gt;-&lt;hex&gt;</c> fallback index otherwise).
/// </summary>
public static class ArtifactPublisher
{
    /// <summary>
    /// Pushes <paramref name="content"/> as an artifact of type <paramref name="artifactType"/> referring to
    /// <paramref name="subject"/> in <paramref name="repository"/>.
    /// </summary>
    /// <returns>The referrer as the subject's referrers list it.</returns>
    /// <exception cref="DigestMismatchException">The registry stored the manifest under another digest.</exception>
    /// <exception cref="RegistryException">The registry refused a blob, the manifest or the referrers index.</exception>
    public static async Task<Referrer> PushAsync(
        IRegistryClient registry,
        string repository,
        Descriptor subject,
        string artifactType,
        string contentMediaType,
        ReadOnlyMemory<byte> content,
        IReadOnlyDictionary<string, string>? annotations = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(subject);
        await UploadIfMissingAsync(registry, repository, ArtifactManifest.EmptyConfig.Digest, ArtifactManifest.EmptyConfigContent, cancellationToken).ConfigureAwait(false);
        var layer = new Descriptor(contentMediaType, Digest.Sha256Of(content.Span), content.Length);
        await UploadIfMissingAsync(registry, repository, layer.Digest, content, cancellationToken).ConfigureAwait(false);

        var manifest = ArtifactManifest.Create(artifactType, layer, subject, annotations);
        var digest = Digest.Sha256Of(manifest);
        var confirmed = await registry.PutManifestAsync(repository, digest.ToString(), manifest, MediaTypes.OciManifest, cancellationToken).ConfigureAwait(false);
        if (confirmed != digest)
        {
            throw new DigestMismatchException(
                $"{registry.Endpoint.Host}/{repository} stored the {artifactType} artifact of {subject.Digest} as {confirmed}, not {digest}: the registry rewrote the manifest; use a registry that stores manifests unchanged");
        }

        var referrer = new Referrer(new Descriptor(MediaTypes.OciManifest, digest, manifest.Length), artifactType, annotations ?? new Dictionary<string, string>());
        await registry.AddReferrersAsync(repository, subject.Digest, [referrer], cancellationToken).ConfigureAwait(false);
        return referrer;
    }

    private static async Task UploadIfMissingAsync(IRegistryClient registry, string repository, Digest digest, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        if (await registry.HeadBlobAsync(repository, digest, cancellationToken).ConfigureAwait(false) == content.Length)
        {
            return;
        }

        await using var stream = new MemoryStream(content.ToArray(), writable: false);
        await registry.UploadBlobAsync(repository, digest, content.Length, stream, cancellationToken).ConfigureAwait(false);
    }
}
