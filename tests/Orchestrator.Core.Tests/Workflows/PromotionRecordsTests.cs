using System.Text;
using System.Text.Json;
using Orchestrator.Core.Images;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

/// <summary>Promotion of indexes' children, repair of an unrecorded promotion, and promotion statements (issue 6).</summary>
public sealed class PromotionRecordsTests : IDisposable
{
    private readonly WorkflowHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task PromoteAsync_OnePlatformOfAnIndexThePipelineBuilt_RefusedNamingTheIndexAndNothingPlanned()
    {
        // Given a build whose image is an index over two platform manifests, and a passing validation of one child
        var (index, amd64) = SeedBuiltIndex();
        _harness.SeedValidation(amd64);

        // When that child alone is promoted
        var error = await Assert.ThrowsAsync<JobRefusedException>(() => Promote(amd64));

        // Then it is refused, naming the index and how to promote it, before anything was planned or recorded
        Assert.Contains($"one platform's manifest of the image index {index}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"orchestrator promote hello --digest {index}", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Copier.Planned);
        Assert.Empty(_harness.State.Promotions);
    }

    [Fact]
    public async Task PromoteAsync_UnvalidatedPlatformOfAnIndexThePipelineBuilt_RefusedNamingTheIndexNotAskingToValidateTheChild()
    {
        // Given a built index over two platform manifests, and no validation of the child
        var (index, amd64) = SeedBuiltIndex();

        // When that child alone is promoted
        var error = await Assert.ThrowsAsync<JobRefusedException>(() => Promote(amd64));

        // Then the refusal points at the index, not at validating the child
        Assert.Contains($"image index {index}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("no passing validation", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Copier.Planned);
    }

    [Fact]
    public async Task PromoteAsync_TheIndexThePipelineBuilt_IsPromotedWhole()
    {
        // Given a built, validated index
        var (index, _) = SeedBuiltIndex();
        _harness.SeedValidation(index);

        // When the index is promoted
        var result = await Promote(index);

        // Then the copier got the index's digest, and production has it under the tags
        Assert.Equal(index, Assert.Single(_harness.Copier.Copied).Request.Digest);
        Assert.Equal(index, _harness.Production.Find(WorkflowHarness.PipelineRepository, "1.0")!.Digest);
        Assert.Equal(index, result.Target.Digest);
    }

    [Fact]
    public async Task PromoteAsync_CopySucceededButRecordingFailed_JobFailedAndARerunRecordsItCopyingNothing()
    {
        // Given a validated digest and a state store that fails the next promotion record
        var digest = _harness.SeedImage();
        var validation = _harness.SeedValidation(digest);
        _harness.State.RecordPromotionThrowsOnce = new IOException("disk full");

        // When it is promoted
        var error = await Assert.ThrowsAsync<JobFailedException>(() => Promote(digest));

        // Then the failure says the copy is in place and to rerun, and production has the digest under its tags, unrecorded
        Assert.Contains("recording the promotion failed (disk full)", error.Message, StringComparison.Ordinal);
        Assert.Contains("run the same promotion again", error.Message, StringComparison.Ordinal);
        Assert.Equal(digest, _harness.Production.Find(WorkflowHarness.PipelineRepository, "1.0.0")!.Digest);
        Assert.Empty(_harness.State.Promotions);

        // When the same promotion runs again
        var rerun = await Promote(digest);

        // Then it copied nothing, found the tags set, and recorded the promotion once with its validation, actor and time
        Assert.Empty(rerun.Plan.BlobsToCopy);
        Assert.All(rerun.Plan.Tags, t => Assert.Equal(digest, t.CurrentDigest));
        var record = Assert.Single(_harness.State.Promotions);
        Assert.Equal(0, record.BytesCopied);
        Assert.Equal(validation.Id, record.ValidationId);
        Assert.Equal(WorkflowHarness.Actor, record.Actor);
        Assert.Equal(WorkflowHarness.Now, record.At);
        Assert.Equal(["1.0", "1.0.0"], record.Tags);
    }

    [Fact]
    public async Task AttestAsync_AfterPromotion_AttachesAnInTotoStatementOfTheRecordToTheTargetDigest()
    {
        // Given a promoted digest
        var digest = _harness.SeedImage();
        var validation = _harness.SeedValidation(digest);
        var promoted = await Promote(digest);

        // When its record is attested
        var statement = await _harness.Workflows.Promotions.AttestAsync("hello", promoted.PromotionId);

        // Then production lists an in-toto artifact about the digest under its fallback tag
        var listed = await _harness.Production.ListReferrersAsync(WorkflowHarness.PipelineRepository, digest);
        var referrer = Assert.Single(listed);
        Assert.Equal(statement, referrer.Digest);
        Assert.Equal(PromotionStatement.MediaType, referrer.ArtifactType);
        using var manifest = JsonDocument.Parse(_harness.Production.Find(WorkflowHarness.PipelineRepository, statement.ToString())!.Content);
        Assert.Equal(digest.ToString(), manifest.RootElement.GetProperty("subject").GetProperty("digest").GetString());

        // And the statement says source, target, digest, tags, validation, who and when
        var layer = Digest.Parse(manifest.RootElement.GetProperty("layers")[0].GetProperty("digest").GetString()!);
        using var body = JsonDocument.Parse(_harness.Production.Blobs[(WorkflowHarness.PipelineRepository, layer)]);
        var root = body.RootElement;
        Assert.Equal("https://in-toto.io/Statement/v1", root.GetProperty("_type").GetString());
        Assert.Equal(digest.Encoded, root.GetProperty("subject")[0].GetProperty("digest").GetProperty("sha256").GetString());
        Assert.Equal($"{WorkflowHarness.ProductionHost}/{WorkflowHarness.PipelineRepository}", root.GetProperty("subject")[0].GetProperty("name").GetString());
        Assert.Equal(PromotionStatement.PredicateType, root.GetProperty("predicateType").GetString());
        var predicate = root.GetProperty("predicate");
        Assert.Equal(promoted.Source.ToString(), predicate.GetProperty("source").GetString());
        Assert.Equal(promoted.Target.ToString(), predicate.GetProperty("target").GetString());
        Assert.Equal(["1.0", "1.0.0"], predicate.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(validation.Id, predicate.GetProperty("validationId").GetInt64());
        Assert.Equal(WorkflowHarness.Actor, predicate.GetProperty("promotedBy").GetString());
        Assert.Equal("2025-03-14T15:09:26Z", predicate.GetProperty("promotedAt").GetString());
        Assert.Equal("production", predicate.GetProperty("toStage").GetString());
    }

    [Fact]
    public async Task AttestAsync_Twice_OneReferrer()
    {
        // Given a promotion attested once
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);
        var promoted = await Promote(digest);
        var workflow = _harness.Workflows.Promotions;
        var first = await workflow.AttestAsync("hello", promoted.PromotionId);

        // When it is attested again
        var second = await workflow.AttestAsync("hello", promoted.PromotionId);

        // Then the same statement is listed once
        Assert.Equal(first, second);
        Assert.Single(await _harness.Production.ListReferrersAsync(WorkflowHarness.PipelineRepository, digest));
    }

    [Fact]
    public async Task AttestAsync_UnknownPromotion_InputExceptionPointingAtHistory()
    {
        // Given no promotions at all
        // When promotion 42 is attested
        var error = await Assert.ThrowsAsync<InputException>(() => _harness.Workflows.Promotions.AttestAsync("hello", 42));

        // Then it says there is none and where to look
        Assert.Contains("hello has no promotion 42", error.Message, StringComparison.Ordinal);
        Assert.Contains("orchestrator history hello", error.Message, StringComparison.Ordinal);
    }

    // An index over two platform manifests in staging, recorded as the pipeline's build.
    private (Digest Index, Digest Amd64) SeedBuiltIndex()
    {
        var amd64 = _harness.SeedImage("hello-amd64");
        var arm64 = _harness.SeedImage("hello-arm64");
        var size = _harness.Staging.Find(WorkflowHarness.PipelineRepository, amd64.ToString())!.Content.Length;
        var content = Encoding.UTF8.GetBytes(
            $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.OciIndex}}}","manifests":[{"mediaType":"{{{MediaTypes.OciManifest}}}","digest":"{{{amd64}}}","size":{{{size}}},"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"{{{MediaTypes.OciManifest}}}","digest":"{{{arm64}}}","size":{{{size}}},"platform":{"architecture":"arm64","os":"linux"}}]}""");
        var index = _harness.Staging.Store(WorkflowHarness.PipelineRepository, content, MediaTypes.OciIndex);
        _harness.State.Builds.Add(new BuildRecord(
            1, "hello", "pipeline", "staging", ImageReference.Create(WorkflowHarness.StagingHost, WorkflowHarness.PipelineRepository, digest: index),
            ["1.0", "1.0.0"], "1.0", null, WorkflowHarness.Actor, WorkflowHarness.Now.AddHours(-2), TimeSpan.FromSeconds(30)));
        return (index, amd64);
    }

    private Task<PromotionResult> Promote(Digest digest) =>
        _harness.Workflows.Promotions.PromoteAsync("hello", digest, "production");
}
