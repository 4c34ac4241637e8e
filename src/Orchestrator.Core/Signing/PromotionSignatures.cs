using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Signing;

/// <summary>
/// What a promotion does with signatures: the <c>require-signature</c> gate of the target stage, checked in the
/// source before anything is copied, and the copy of the digest's <c>sha256-HEX.sig</c> manifest to the target
/// after the image arrived, through the copy engine (a copy by the signature manifest's digest, tagged with the
/// signature tag). The signature tag is mutable, since more signatures may arrive: <see cref="SignatureTagPolicy"/>.
/// </summary>
public sealed class PromotionSignatures(SignatureWorkflow signatures, IImageCopier copier, IRegistryClientFactory registries)
{
    /// <summary>
    /// Verifies <paramref name="digest"/> in <paramref name="from"/> against <paramref name="to"/>'s required keys; null when
    /// the target requires none.
    /// </summary>
    /// <returns>The verification, always verified when not null.</returns>
    /// <exception cref="JobRefusedException">No valid signature by one of the keys: the message names the digest, each key tried and what was found.</exception>
    public async Task<SignatureVerification?> RequireAsync(StageDefinition from, StageDefinition to, string repository, Digest digest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        if (to.RequiredSignatureKeys.Count == 0)
        {
            return null;
        }

        var verification = await signatures.VerifyAsync(from.Registry, repository, digest, to.RequiredSignatureKeys, cancellationToken).ConfigureAwait(false);
        if (verification.Verified)
        {
            return verification;
        }

        throw new JobRefusedException(
            $"promotion of {verification.Image} to {to.Name} refused, nothing was copied: {to.Name} requires a signature of {digest} by one of " +
            $"{verification.DescribeKeys()} ('require-signature'), and {from.Name} has none that verifies: {string.Join("; ", verification.Findings)}. " +
            $"Sign it with the matching private key ('signing:' in orchestrator.yaml, then validate it again), or promote a digest that is signed");
    }

    /// <summary>
    /// Looks up the signature manifest of <paramref name="digest"/> in <paramref name="from"/> (a HEAD of its
    /// <c>sha256-HEX.sig</c> tag, OCI distribution spec "Checking if content exists"); null when it has none. Separate
    /// from <see cref="CopyAsync"/> so a promotion can ask while the image's blobs are still being copied.
    /// </summary>
    /// <returns>The signature manifest's digest in the source, or null.</returns>
    /// <exception cref="OrchestratorException">The source registry failed to answer.</exception>
    public async Task<Digest?> FindAsync(StageDefinition from, string repository, Digest digest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        var source = await registries.Create(from.Registry).HeadManifestAsync(repository, CosignSignatureManifest.TagFor(digest), cancellationToken).ConfigureAwait(false);
        return source?.Digest;
    }

    /// <summary>
    /// Copies signature manifest <paramref name="signatureManifest"/> of <paramref name="digest"/> (found by
    /// <see cref="FindAsync"/>) and its blobs from <paramref name="from"/> to <paramref name="to"/> under its
    /// <c>sha256-HEX.sig</c> tag.
    /// </summary>
    /// <returns>The signature manifest's digest in the target.</returns>
    /// <exception cref="OrchestratorException">The copy failed; the image itself is already promoted and tagged.</exception>
    public async Task<Digest> CopyAsync(StageDefinition from, StageDefinition to, string repository, Digest digest, Digest signatureManifest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var request = new CopyRequest(from.Registry, repository, signatureManifest, to.Registry, repository, [CosignSignatureManifest.TagFor(digest)])
        {
            TagPolicy = SignatureTagPolicy.Instance,
        };
        var plan = await copier.PlanAsync(request, cancellationToken).ConfigureAwait(false);
        var copy = await copier.CopyAsync(plan, progress: null, cancellationToken).ConfigureAwait(false);
        return copy.TargetDigest;
    }
}

/// <summary>
/// The tag policy of a signature copy: cosign's <c>sha256-HEX.sig</c> tag moves to the newest signature manifest
/// (signatures accumulate under it), unlike a promoted image's tags.
/// </summary>
public sealed class SignatureTagPolicy : ITagPolicy
{
    /// <summary>The one instance (the policy has no state).</summary>
    public static SignatureTagPolicy Instance { get; } = new();

    private SignatureTagPolicy()
    {
    }

    /// <inheritdoc />
    public bool MayMove(CopyRequest request, string tag, Digest current) => tag.EndsWith(".sig", StringComparison.Ordinal);

    /// <inheritdoc />
    public JobRefusedException Refuse(CopyRequest request, IReadOnlyList<TagConflict> conflicts, bool contentCopied)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(conflicts);
        return new JobRefusedException(
            $"refusing to move {string.Join(", ", conflicts.Select(c => c.Tag))} in {request.Target.Host}/{request.TargetRepository}: only signature tags move; copy again");
    }
}
