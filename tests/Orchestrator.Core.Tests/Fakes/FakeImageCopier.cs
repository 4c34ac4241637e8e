using System.Net;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Tests.Fakes;

/// <summary>
/// Plans and copies manifests between <see cref="FakeRegistry"/> instances, with the real copier's
/// rules: a missing source digest fails the plan, a tag pointing elsewhere is a conflict, and a
/// plan with conflicts is never executed.
/// </summary>
internal sealed class FakeImageCopier(FakeRegistryFactory registries) : IImageCopier
{
    /// <summary>The size of the one blob every plan copies.</summary>
    public const long BlobSize = 1234;

    public List<CopyRequest> Planned { get; } = [];

    public List<CopyPlan> Copied { get; } = [];

    /// <summary>When set, the digest the copy reports as confirmed by the target, instead of the real one.</summary>
    public Digest? TargetDigestOverride { get; set; }

    public Task<CopyPlan> PlanAsync(CopyRequest request, CancellationToken cancellationToken = default)
    {
        Planned.Add(request);
        var source = registries.For(request.Source);
        if (!source.Has(request.SourceRepository, request.Digest.ToString()))
        {
            throw new RegistryException($"fake: {request.Source.Host}/{request.SourceRepository}@{request.Digest} is unknown", HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        }

        var target = registries.For(request.Target);
        var tags = request.Tags.Select(t => new PlannedTag(t, target.Find(request.TargetRepository, t)?.Digest)).ToList();
        var conflicts = tags.Where(t => t.CurrentDigest is not null && t.CurrentDigest != request.Digest && !request.TagPolicy.MayMove(request, t.Tag, t.CurrentDigest))
            .Select(t => new TagConflict(t.Tag, t.CurrentDigest!)).ToList();
        var manifest = source.Find(request.SourceRepository, request.Digest.ToString())!;
        var present = target.Has(request.TargetRepository, request.Digest.ToString());
        var blob = new PlannedBlob(Digest.Sha256Of(manifest.Content.Span), BlobSize, "application/vnd.oci.image.layer.v1.tar", CanMount: false);
        var plan = new CopyPlan(
            request, manifest.MediaType,
            [new PlannedManifest(request.Digest, manifest.MediaType, manifest.Content.Length, present)],
            present ? [] : [blob], present ? [blob] : [], tags, conflicts);
        return Task.FromResult(plan);
    }

    public Task<CopyResult> CopyAsync(CopyPlan plan, IProgress<CopyProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Copied.Add(plan);
        if (plan.HasConflicts)
        {
            throw new JobRefusedException("fake: the plan has conflicts");
        }

        var request = plan.Request;
        var manifest = registries.For(request.Source).Find(request.SourceRepository, request.Digest.ToString())!;
        registries.For(request.Target).Store(request.TargetRepository, manifest.Content.ToArray(), manifest.MediaType, [.. request.Tags]);
        return Task.FromResult(new CopyResult(
            TargetDigestOverride ?? request.Digest, plan.BytesToCopy, plan.BlobsToCopy.Count, 0, plan.BlobsPresent.Count, request.Tags));
    }
}
