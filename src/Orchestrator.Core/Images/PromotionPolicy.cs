using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Images;

/// <summary>
/// The promotion rule for tags (DESIGN.md "refuse to move an existing production tag"): a tag in a later
/// stage is immutable once set, except the pipeline's <c>floating-tags</c> (such as <c>latest</c>, carried
/// by <see cref="CopyRequest.FloatingTags"/>), which follow the newest promotion. Its refusals tell the user
/// to bump the pipeline's version. The promotion workflow passes it to the copy engine and applies it to the
/// plan before anything is copied.
/// </summary>
/// <param name="stageName">The target stage, as orchestrator.yaml names it (<c>production</c>).</param>
/// <param name="pipelineFile">The pipeline's definition file name (<c>hello.yaml</c>), where its version is.</param>
public sealed class PromotionPolicy(string stageName, string pipelineFile) : ITagPolicy
{
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
        var source = ImageReference.Create(request.Source.Host, request.SourceRepository, digest: request.Digest);
        var tags = string.Join("; ", conflicts.Select(c => $"tag '{c.Tag}' {(contentCopied ? "now points" : "already points")} at {c.CurrentDigest} in {stageName}"));
        var fix = $"Production tags never move unless listed in 'floating-tags': bump 'version' in {pipelineFile} or choose other tags, then build, validate and promote again";
        return new JobRefusedException(contentCopied
            ? $"promotion of {source} to {stageName} copied the content but tagged nothing: {tags} (changed since planning). {fix}"
            : $"promotion of {source} to {stageName} refused, nothing was copied or tagged: {tags}. {fix}");
    }
}
