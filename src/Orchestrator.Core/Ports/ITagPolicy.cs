using Orchestrator.Core.Errors;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Ports;

/// <summary>
/// The caller's rule for tags that already exist in a copy's target: which may be moved to the digest
/// being copied, and what to tell the user when some may not. The copy engine (<see cref="IImageCopier"/>)
/// is mechanism only: it finds what each tag points at, asks this policy, and sets tags last, only after
/// everything under them is verified and only if none moved since planning. Promotions pass
/// <see cref="Images.PromotionPolicy"/>; the default is <see cref="KeepExistingTags"/>.
/// </summary>
public interface ITagPolicy
{
    /// <summary>True when <paramref name="tag"/>, which points at <paramref name="current"/> in the target, may be moved to <see cref="CopyRequest.Digest"/>.</summary>
    bool MayMove(CopyRequest request, string tag, Digest current);

    /// <summary>
    /// The error that refuses the copy because of <paramref name="conflicts"/>: found while planning
    /// (<paramref name="contentCopied"/> false: nothing was written), or found just before tagging because a
    /// tag changed since planning (<paramref name="contentCopied"/> true: the content is in the target, untagged).
    /// </summary>
    JobRefusedException Refuse(CopyRequest request, IReadOnlyList<TagConflict> conflicts, bool contentCopied);
}

/// <summary>
/// The copy engine's default <see cref="ITagPolicy"/>: an existing tag that points at another digest stays
/// where it is unless the request lists it in <see cref="CopyRequest.FloatingTags"/>.
/// </summary>
public sealed class KeepExistingTags : ITagPolicy
{
    /// <summary>The one instance (the policy has no state).</summary>
    public static KeepExistingTags Instance { get; } = new();

    private KeepExistingTags()
    {
    }

    /// <inheritdoc />
    public bool MayMove(CopyRequest request, string tag, Digest current)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.FloatingTags.Contains(tag, StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public JobRefusedException Refuse(CopyRequest request, IReadOnlyList<TagConflict> conflicts, bool contentCopied)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(conflicts);
        var target = $"{request.Target.Host}/{request.TargetRepository}";
        var tags = string.Join("; ", conflicts.Select(c => $"tag '{c.Tag}' {(contentCopied ? "now points" : "already points")} at {c.CurrentDigest}"));
        return new JobRefusedException(contentCopied
            ? $"refusing to tag {request.Digest} in {target}: {tags} (changed since planning). The content was copied but nothing was tagged: list the tag among the floating tags to move it, or pick another tag, and copy again"
            : $"refusing to copy {request.Digest} to {target}: nothing was written. {tags}: list the tag among the floating tags to move it, or pick another tag");
    }
}
