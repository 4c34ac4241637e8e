using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class PromotionWorkflowTests : IDisposable
{
    private const string QaHost = "127.0.0.1:5003";

    private readonly WorkflowHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task PromoteAsync_NoValidation_RefusedNamingTheFixAndCopierNeverCalled()
    {
        // Given a digest in staging that was never validated
        var digest = _harness.SeedImage();

        // When it is promoted
        var error = await Assert.ThrowsAsync<JobRefusedException>(() => Promote(digest));

        // Then it is refused, telling how to validate it, and nothing was planned, copied or recorded
        Assert.Contains("has no passing validation", error.Message, StringComparison.Ordinal);
        Assert.Contains($"orchestrator validate hello --digest {digest}", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, error.ExitCode);
        Assert.Empty(_harness.Copier.Planned);
        Assert.Empty(_harness.Copier.Copied);
        Assert.Empty(_harness.State.Promotions);
    }

    [Fact]
    public async Task PromoteAsync_OnlyFailingValidation_Refused()
    {
        // Given a digest whose only validation failed
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest, passed: false);

        // When it is promoted
        await Assert.ThrowsAsync<JobRefusedException>(() => Promote(digest));

        // Then nothing was copied
        Assert.Empty(_harness.Copier.Copied);
        Assert.Empty(_harness.Production.Puts);
    }

    [Fact]
    public async Task PromoteAsync_ValidationOfAnotherDigest_Refused()
    {
        // Given two digests, only the other one validated
        var validated = _harness.SeedImage("one");
        var digest = _harness.SeedImage("two");
        _harness.SeedValidation(validated);

        // When the unvalidated one is promoted
        await Assert.ThrowsAsync<JobRefusedException>(() => Promote(digest));

        // Then nothing was copied
        Assert.Empty(_harness.Copier.Copied);
    }

    [Fact]
    public async Task PromoteAsync_SourceDigestMissingInFromStage_RefusedNothingCopied()
    {
        // Given a validated digest that is no longer in staging
        var digest = Digest.Sha256Of("deleted since"u8);
        _harness.SeedValidation(digest);

        // When it is promoted
        var error = await Assert.ThrowsAsync<JobRefusedException>(() => Promote(digest));

        // Then it is refused, saying where it is missing
        Assert.Contains("is not in staging", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Copier.Planned);
        Assert.Empty(_harness.State.Promotions);
    }

    [Fact]
    public async Task PromoteAsync_TagConflict_RefusedNamingTagAndCurrentDigestAndNothingCopiedOrRecorded()
    {
        // Given a validated digest and production where tag 1.0 already points at another digest
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);
        var other = _harness.Production.AddManifest(WorkflowHarness.PipelineRepository, "older build", "1.0");

        // When it is promoted
        var error = await Assert.ThrowsAsync<JobRefusedException>(() => Promote(digest));

        // Then it is refused, naming the tag and what it points at, with the fix; the copy never ran
        Assert.Contains($"tag '1.0' already points at {other} in production", error.Message, StringComparison.Ordinal);
        Assert.Contains("bump 'version' in hello.yaml", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("1.0.0'", error.Message, StringComparison.Ordinal);
        Assert.Single(_harness.Copier.Planned);
        Assert.Empty(_harness.Copier.Copied);
        Assert.Empty(_harness.State.Promotions);
        Assert.Contains(_harness.Reporter.Details, d => d == $"tag 1.0: CONFLICT: points at {other}");
    }

    [Fact]
    public async Task PromoteAsync_FloatingTagAtAnotherDigest_IsNoConflictAndTheCopierIsToldItFloats()
    {
        // Given a pipeline whose tag 1.0 floats, and production where 1.0 points at an older build
        _harness.Hello = _harness.Hello with { FloatingTags = ["1.0"] };
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);
        var other = _harness.Production.AddManifest(WorkflowHarness.PipelineRepository, "older build", "1.0");

        // When it is promoted
        var result = await Promote(digest);

        // Then the copy ran with 1.0 declared floating, and the plan said the tag moves
        Assert.Equal(["1.0"], Assert.Single(_harness.Copier.Copied).Request.FloatingTags);
        Assert.Equal(digest, result.Target.Digest);
        Assert.Contains(_harness.Reporter.Details, d => d == $"tag 1.0: moves from {other} (floating)");
    }

    [Fact]
    public async Task PromoteAsync_TagConflictInDryRun_RefusedAsTheRealPromotionWouldBe()
    {
        // Given a conflict in production
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);
        _harness.Production.AddManifest(WorkflowHarness.PipelineRepository, "older build", "1.0.0");

        // When a dry run is asked for
        // Then it fails exactly as the real promotion would
        await Assert.ThrowsAsync<JobRefusedException>(() => Promote(digest, dryRun: true));
        Assert.Empty(_harness.Copier.Copied);
    }

    [Fact]
    public async Task PromoteAsync_DryRun_ReturnsPlanWithoutCopyOrRecord()
    {
        // Given a validated digest
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);

        // When a dry run is asked for
        var result = await Promote(digest, dryRun: true);

        // Then the plan comes back, nothing was copied, nothing recorded, production untouched
        Assert.True(result.DryRun);
        Assert.Null(result.Copy);
        Assert.Equal(0, result.PromotionId);
        Assert.Equal(digest, result.Plan.Request.Digest);
        Assert.Equal(["1.0", "1.0.0"], result.Plan.Tags.Select(t => t.Tag));
        Assert.Empty(_harness.Copier.Copied);
        Assert.Empty(_harness.State.Promotions);
        Assert.False(_harness.Production.Has(WorkflowHarness.PipelineRepository, digest.ToString()));
    }

    [Fact]
    public async Task PromoteAsync_Success_CopiesThePlanAndRecordsValidationActorTimeTagsAndBytes()
    {
        // Given a validated digest
        var digest = _harness.SeedImage();
        var validation = _harness.SeedValidation(digest);

        // When it is promoted
        var result = await Promote(digest);

        // Then the exact plan was copied from staging to production with every tag
        var copied = Assert.Single(_harness.Copier.Copied);
        Assert.Same(result.Plan, copied);
        Assert.Equal(WorkflowHarness.StagingHost, copied.Request.Source.Host);
        Assert.Equal(WorkflowHarness.ProductionHost, copied.Request.Target.Host);
        Assert.Equal(WorkflowHarness.PipelineRepository, copied.Request.SourceRepository);
        Assert.Equal(WorkflowHarness.PipelineRepository, copied.Request.TargetRepository);
        Assert.Equal(["1.0", "1.0.0"], copied.Request.Tags);
        Assert.Equal(digest, _harness.Production.Find(WorkflowHarness.PipelineRepository, "1.0")!.Digest);

        // And the record says who, when, which validation, what tags and bytes
        var record = Assert.Single(_harness.State.Promotions);
        Assert.Equal("hello", record.Pipeline);
        Assert.Equal("staging", record.FromStage);
        Assert.Equal("production", record.ToStage);
        Assert.Equal(validation.Id, record.ValidationId);
        Assert.Equal(WorkflowHarness.Actor, record.Actor);
        Assert.Equal(WorkflowHarness.Now, record.At);
        Assert.Equal(["1.0", "1.0.0"], record.Tags);
        Assert.Equal(FakeImageCopier.BlobSize, record.BytesCopied);
        Assert.Equal(1, record.BlobsCopied);
        Assert.Equal($"{WorkflowHarness.StagingHost}/{WorkflowHarness.PipelineRepository}@{digest}", record.Source.ToString());
        Assert.Equal($"{WorkflowHarness.ProductionHost}/{WorkflowHarness.PipelineRepository}@{digest}", record.Target.ToString());
        Assert.Equal(record.Id, result.PromotionId);
        Assert.False(result.DryRun);
    }

    [Fact]
    public async Task PromoteAsync_NewestPassingValidation_IsTheOneRecorded()
    {
        // Given two passing validations of one digest
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);
        var newest = _harness.SeedValidation(digest);

        // When it is promoted
        await Promote(digest);

        // Then the promotion points at the newest
        Assert.Equal(newest.Id, Assert.Single(_harness.State.Promotions).ValidationId);
    }

    [Fact]
    public async Task PromoteAsync_TargetConfirmsAnotherDigest_DigestMismatchAndNothingRecorded()
    {
        // Given a copier whose target confirms a different digest
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);
        var other = Digest.Sha256Of("something else"u8);
        _harness.Copier.TargetDigestOverride = other;

        // When it is promoted
        var error = await Assert.ThrowsAsync<DigestMismatchException>(() => Promote(digest));

        // Then the mismatch names both digests, and no record claims the promotion
        Assert.Contains(other.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains(digest.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.State.Promotions);
    }

    [Fact]
    public async Task PromoteAsync_ToFirstStage_InputException()
    {
        // Given a validated digest
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);

        // When it is promoted "to" staging
        var error = await Assert.ThrowsAsync<InputException>(() => Promote(digest, "staging"));

        // Then it is bad input naming the stages it may go to
        Assert.Contains("'staging' is the first stage", error.Message, StringComparison.Ordinal);
        Assert.Contains("production", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, error.ExitCode);
        Assert.Empty(_harness.Copier.Planned);
    }

    [Fact]
    public async Task PromoteAsync_UnknownStage_InputExceptionListingStages()
    {
        // Given a validated digest
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);

        // When it is promoted to a stage that does not exist
        var error = await Assert.ThrowsAsync<InputException>(() => Promote(digest, "prod"));

        // Then the stages are listed
        Assert.Contains("no stage named 'prod'", error.Message, StringComparison.Ordinal);
        Assert.Contains("staging, production", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Copier.Planned);
    }

    [Fact]
    public async Task PromoteAsync_OnlyOneStage_InputException()
    {
        // Given a config with a single stage
        _harness.Stages = [_harness.Stages[0]];
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);

        // When a promotion is asked for
        var error = await Assert.ThrowsAsync<InputException>(() => Promote(digest));

        // Then it says a second stage is needed
        Assert.Contains("add a second stage", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PromoteAsync_NoTargetGiven_DefaultsToTheSecondStage()
    {
        // Given three stages and a validated digest
        AddQaStage();
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);

        // When promoted without naming a stage
        var result = await Promote(digest, toStage: null);

        // Then it goes from the first stage to the second
        Assert.Equal("staging", result.FromStage);
        Assert.Equal("qa", result.ToStage);
        Assert.Equal(QaHost, Assert.Single(_harness.Copier.Copied).Request.Target.Host);
    }

    [Fact]
    public async Task PromoteAsync_ToThirdStage_CopiesFromTheStageBefore()
    {
        // Given three stages and a validated digest already promoted to qa
        AddQaStage();
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);
        await Promote(digest, "qa");

        // When promoted to production
        var result = await Promote(digest, "production");

        // Then the source is qa, not staging
        Assert.Equal("qa", result.FromStage);
        Assert.Equal(QaHost, _harness.Copier.Copied[^1].Request.Source.Host);
        Assert.Equal(WorkflowHarness.ProductionHost, _harness.Copier.Copied[^1].Request.Target.Host);
    }

    [Fact]
    public async Task PromoteAsync_ToThirdStageSkippingTheMiddle_RefusedSinceTheStageBeforeLacksIt()
    {
        // Given three stages and a validated digest only in staging
        AddQaStage();
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);

        // When promoted straight to production
        var error = await Assert.ThrowsAsync<JobRefusedException>(() => Promote(digest, "production"));

        // Then it must go through qa first
        Assert.Contains("is not in qa: promote it to qa first", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Copier.Planned);
    }

    [Fact]
    public async Task PromoteAsync_TagsAlreadyAtThisDigest_NotAConflict()
    {
        // Given production where both tags already point at this digest (a repeated promotion)
        var digest = _harness.SeedImage();
        _harness.SeedValidation(digest);
        await Promote(digest);

        // When it is promoted again
        var result = await Promote(digest);

        // Then it succeeds, reporting the tags as already set
        Assert.Equal(2, _harness.State.Promotions.Count);
        Assert.All(result.Plan.Tags, t => Assert.Equal(digest, t.CurrentDigest));
        Assert.Contains("tag 1.0: already set", _harness.Reporter.Details);
    }

    private void AddQaStage() =>
        _harness.Stages = [_harness.Stages[0], new StageDefinition("qa", new RegistryEndpoint(QaHost, PlainHttp: true)), _harness.Stages[1]];

    private Task<PromotionResult> Promote(Digest digest, string? toStage = "production", bool dryRun = false) =>
        _harness.Workflows.Promotions.PromoteAsync("hello", digest, toStage, dryRun);
}
