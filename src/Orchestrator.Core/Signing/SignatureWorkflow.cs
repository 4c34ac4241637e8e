using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Signing;

/// <summary>
/// Signs a digest in a registry and verifies its signatures, in cosign's format (<see cref="CosignSignatureManifest"/>,
/// <see cref="SimpleSigningPayload"/>), through the registry port only. Signing is idempotent per key: a digest
/// that already has a valid signature by the key gets no second layer (ECDSA is randomized, so a second one would
/// differ). Where the registry has the OCI 1.1 referrers API the signature is also pushed as a referrer.
/// </summary>
/// <param name="registries">The registry clients.</param>
/// <param name="environment">Reads an environment variable (the <c>key-env</c> of <c>signing:</c>); the process environment in production.</param>
/// <param name="logger">Where signing is logged: digests, tags and fingerprints, never key material.</param>
public sealed partial class SignatureWorkflow(IRegistryClientFactory registries, Func<string, string?> environment, ILogger<SignatureWorkflow> logger)
{
    /// <summary>A payload blob larger than this is not a simple-signing payload and is not read.</summary>
    public const int MaxPayloadBytes = 256 * 1024;

    private readonly ILogger<SignatureWorkflow> _logger = logger;

    /// <summary>Reads the private key <paramref name="settings"/> names.</summary>
    /// <exception cref="InputException">The file is unreadable, the variable unset, or the text not an unencrypted P-256 private key; the message names the file or variable, never the key.</exception>
    public SigningKey LoadKey(SigningSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string pem;
        if (settings.KeyFile is { } file)
        {
            try
            {
                pem = File.ReadAllText(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new InputException($"signing key {file} cannot be read ({ex.GetType().Name}): check 'signing: key-file:' in orchestrator.yaml and the file's permissions");
            }
        }
        else
        {
            pem = environment(settings.KeyEnv!) is { Length: > 0 } text
                ? text
                : throw new InputException($"signing key ${settings.KeyEnv} is not set: export {settings.KeyEnv} with the PEM text of the ECDSA P-256 private key ('signing: key-env:' in orchestrator.yaml names it)");
        }

        return SigningKey.Parse(pem, settings.Source);
    }

    /// <summary>
    /// Signs <paramref name="digest"/> in <paramref name="repository"/> of <paramref name="endpoint"/>: the payload names
    /// <c>HOST/REPOSITORY</c> and the digest; the signature manifest under <c>sha256-HEX.sig</c> gains a layer unless one
    /// already verifies with <paramref name="key"/>.
    /// </summary>
    /// <exception cref="JobFailedException">The digest is not in the repository, the tag holds something that is not a signature manifest, or the registry refused a blob or the manifest.</exception>
    public async Task<SigningResult> SignAsync(RegistryEndpoint endpoint, string repository, Digest digest, SigningKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(digest);
        ArgumentNullException.ThrowIfNull(key);
        var registry = registries.Create(endpoint);
        var image = $"{endpoint.Host}/{repository}";
        var tag = CosignSignatureManifest.TagFor(digest);
        var subject = await registry.HeadManifestAsync(repository, digest.ToString(), cancellationToken).ConfigureAwait(false)
            ?? throw new JobFailedException($"{image}@{digest} is not in the registry, so it cannot be signed");

        var existing = await ReadSignatureManifestAsync(registry, repository, tag, cancellationToken).ConfigureAwait(false);
        var layers = existing?.Layers ?? [];
        foreach (var layer in layers)
        {
            var check = await CheckLayerAsync(registry, repository, digest, layer, [key.PublicKey], cancellationToken).ConfigureAwait(false);
            if (check.VerifiedBy is not null)
            {
                LogAlreadySigned(digest, key.Fingerprint, tag);
                return new SigningResult(tag, existing!.Digest, key.Fingerprint, Added: false);
            }
        }

        var payload = SimpleSigningPayload.Create(image, digest);
        var signed = SignatureLayer.For(payload, key.Sign(payload));
        var all = layers.Append(signed).ToList();
        var config = CosignSignatureManifest.CreateConfig(all);
        var configDescriptor = new Descriptor(MediaTypes.OciConfig, Digest.Sha256Of(config), config.Length);
        await UploadIfMissingAsync(registry, repository, signed.Digest, payload, cancellationToken).ConfigureAwait(false);
        await UploadIfMissingAsync(registry, repository, configDescriptor.Digest, config, cancellationToken).ConfigureAwait(false);
        var manifest = CosignSignatureManifest.Create(all, configDescriptor);
        var manifestDigest = await PutAsync(registry, repository, tag, manifest, image, cancellationToken).ConfigureAwait(false);

        Digest? referrer = null;
        if (await registry.GetReferrersAsync(repository, digest, cancellationToken).ConfigureAwait(false) is not null)
        {
            // The registry indexes a manifest's subject itself: pushing it by digest is all the referrers API needs.
            await UploadIfMissingAsync(registry, repository, Images.ArtifactManifest.EmptyConfig.Digest, Images.ArtifactManifest.EmptyConfigContent, cancellationToken).ConfigureAwait(false);
            var referrerManifest = CosignSignatureManifest.CreateReferrer([signed], subject);
            referrer = await PutAsync(registry, repository, Digest.Sha256Of(referrerManifest).ToString(), referrerManifest, image, cancellationToken).ConfigureAwait(false);
        }

        LogSigned(digest, key.Fingerprint, tag, all.Count);
        return new SigningResult(tag, manifestDigest, key.Fingerprint, Added: true) { Referrer = referrer };
    }

    /// <summary>
    /// Verifies the signatures of <paramref name="digest"/> under its <c>sha256-HEX.sig</c> tag: verified when one layer's
    /// payload blob hashes to its descriptor, names <paramref name="digest"/> in the simple-signing format, and its
    /// signature verifies with one of <paramref name="keys"/>. Otherwise the result says what was found.
    /// </summary>
    /// <exception cref="JobFailedException">The registry did not answer, or the tag holds something that is not a signature manifest.</exception>
    public async Task<SignatureVerification> VerifyAsync(RegistryEndpoint endpoint, string repository, Digest digest, IReadOnlyList<VerificationKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(digest);
        ArgumentNullException.ThrowIfNull(keys);
        var registry = registries.Create(endpoint);
        var image = ImageReference.Create(endpoint.Host, repository, digest: digest);
        var tag = CosignSignatureManifest.TagFor(digest);
        var existing = await ReadSignatureManifestAsync(registry, repository, tag, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            return new SignatureVerification(image, tag, null, keys, null, [$"no signature tag {tag} in {endpoint.Host}/{repository}"]);
        }

        var findings = new List<string>();
        foreach (var layer in existing.Layers)
        {
            var check = await CheckLayerAsync(registry, repository, digest, layer, keys, cancellationToken).ConfigureAwait(false);
            if (check.VerifiedBy is { } key)
            {
                return new SignatureVerification(image, tag, key, keys, existing.Digest, []);
            }

            findings.Add(check.Finding!);
        }

        if (findings.Count == 0)
        {
            findings.Add($"{tag} has no {SimpleSigningPayload.MediaType} layer");
        }

        return new SignatureVerification(image, tag, null, keys, existing.Digest, findings);
    }

    private static async Task<ExistingSignatures?> ReadSignatureManifestAsync(IRegistryClient registry, string repository, string tag, CancellationToken cancellationToken)
    {
        if (await registry.HeadManifestAsync(repository, tag, cancellationToken).ConfigureAwait(false) is null)
        {
            return null;
        }

        var manifest = await registry.GetManifestAsync(repository, tag, cancellationToken).ConfigureAwait(false);
        if (!CosignSignatureManifest.TryReadLayers(manifest.Content.Span, out var layers, out var error))
        {
            throw new JobFailedException(
                $"{registry.Endpoint.Host}/{repository}:{tag} is not a cosign signature manifest ({error}): something else uses cosign's signature tag; remove it, then sign again");
        }

        return new ExistingSignatures(manifest.Digest, layers);
    }

    private static async Task<(VerificationKey? VerifiedBy, string? Finding)> CheckLayerAsync(
        IRegistryClient registry, string repository, Digest digest, SignatureLayer layer, IReadOnlyList<VerificationKey> keys, CancellationToken cancellationToken)
    {
        var name = $"signature layer {layer.Digest.ToShortString()}";
        if (layer.Signature is not { } signature)
        {
            return (null, $"{name} has no {CosignSignatureManifest.SignatureAnnotation} annotation");
        }

        if (layer.Size is < 0 or > MaxPayloadBytes)
        {
            return (null, $"{name} is {layer.Size} bytes, too large for a simple-signing payload");
        }

        byte[] payload;
        try
        {
            payload = await ReadBlobAsync(registry, repository, layer, cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return (null, $"{name}: its payload blob is missing from the repository");
        }

        if (!layer.Digest.Matches(payload))
        {
            return (null, $"{name}: the payload blob does not hash to its digest");
        }

        if (!SimpleSigningPayload.TryParse(payload, out var claim, out var error))
        {
            return (null, $"{name}: {error}");
        }

        if (claim.Digest != digest)
        {
            return (null, $"{name} is a payload for another digest ({claim.Digest})");
        }

        return keys.FirstOrDefault(k => k.Verifies(payload, signature)) is { } key
            ? (key, null)
            : (null, $"{name} is signed by none of the keys tried (another key, or a damaged signature)");
    }

    private static async Task<byte[]> ReadBlobAsync(IRegistryClient registry, string repository, SignatureLayer layer, CancellationToken cancellationToken)
    {
        var stream = await registry.OpenBlobAsync(repository, layer.Digest, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[MaxPayloadBytes + 1];
            var read = 0;
            int count;
            while (read < buffer.Length && (count = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false)) > 0)
            {
                read += count;
            }

            return buffer[..read];
        }
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

    private static async Task<Digest> PutAsync(IRegistryClient registry, string repository, string reference, byte[] manifest, string image, CancellationToken cancellationToken)
    {
        var expected = Digest.Sha256Of(manifest);
        var confirmed = await registry.PutManifestAsync(repository, reference, manifest, MediaTypes.OciManifest, cancellationToken).ConfigureAwait(false);
        return confirmed == expected
            ? confirmed
            : throw new DigestMismatchException($"{image} stored the signature manifest {reference} as {confirmed}, not {expected}: the registry rewrote it; use a registry that stores manifests unchanged");
    }

    private sealed record ExistingSignatures(Digest Digest, IReadOnlyList<SignatureLayer> Layers);

    [LoggerMessage(Level = LogLevel.Information, Message = "Signed {Digest} with key {Fingerprint} under {Tag} ({Layers} signature(s))")]
    private partial void LogSigned(Digest digest, string fingerprint, string tag, int layers);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Digest} already has a signature by key {Fingerprint} under {Tag}; none added")]
    private partial void LogAlreadySigned(Digest digest, string fingerprint, string tag);
}

/// <summary>A signing: the tag and manifest digest the signatures are under, the key's fingerprint, and whether a signature was added.</summary>
/// <param name="Tag"><c>sha256-HEX.sig</c>.</param>
/// <param name="Manifest">The signature manifest's digest.</param>
/// <param name="KeyFingerprint"><c>sha256:HEX</c> of the public key's SubjectPublicKeyInfo.</param>
/// <param name="Added">False when the digest already had a valid signature by this key and nothing was written.</param>
public sealed record SigningResult(string Tag, Digest Manifest, string KeyFingerprint, bool Added)
{
    /// <summary>The OCI 1.1 referrer manifest pushed too, or null when the registry has no referrers API or nothing was added. <value>The default is null.</value></summary>
    public Digest? Referrer { get; init; }
}

/// <summary>The verification of a digest's signatures.</summary>
/// <param name="Image">The digest-pinned image.</param>
/// <param name="Tag">The signature tag read.</param>
/// <param name="VerifiedBy">The key one signature verified with, or null.</param>
/// <param name="KeysTried">The keys tried.</param>
/// <param name="Manifest">The signature manifest's digest, or null when there is no signature tag.</param>
/// <param name="Findings">Why each signature found did not verify (empty when verified).</param>
public sealed record SignatureVerification(
    ImageReference Image,
    string Tag,
    VerificationKey? VerifiedBy,
    IReadOnlyList<VerificationKey> KeysTried,
    Digest? Manifest,
    IReadOnlyList<string> Findings)
{
    [MemberNotNullWhen(true, nameof(VerifiedBy))]
    public bool Verified => VerifiedBy is not null;

    /// <summary>The keys tried, <c>PATH (sha256:…)</c> each, comma-separated.</summary>
    public string DescribeKeys() => string.Join(", ", KeysTried.Select(k => k.Describe()));
}
