using System.Text.Json;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Jobs;

public sealed class JobOutputTests
{
    [Fact]
    public void CancelledMessage_EachKind_SaysWhatIsTrueForThatKindOnly()
    {
        // Given every job kind, When its cancelled message is read
        var build = JobRunner.CancelledMessage(JobKind.Build);
        var validate = JobRunner.CancelledMessage(JobKind.Validate);
        var promote = JobRunner.CancelledMessage(JobKind.Promote);

        // Then only a promotion talks about half-promoted tags; a build says it was not recorded, a validation that nothing passed
        Assert.DoesNotContain("promoted", build, StringComparison.Ordinal);
        Assert.Contains("build was not recorded", build, StringComparison.Ordinal);
        Assert.DoesNotContain("promoted", validate, StringComparison.Ordinal);
        Assert.Contains("no validation was recorded", validate, StringComparison.Ordinal);
        Assert.Contains("nothing half-promoted is tagged", promote, StringComparison.Ordinal);
    }

    [Fact]
    public void BaseBuild_Json_CarriesTheTaggedReferenceTheTextPrints()
    {
        // Given a base build result for the slim tag
        var digest = Digest.Sha256Of([7]);
        var result = new BaseBuildResult("debian-bookworm/slim", ImageReference.Create("127.0.0.1:5001", "base/debian-bookworm", digest: digest), "slim", Built: true);

        // When its --json document is written
        var json = JsonDocument.Parse(ResultDocuments.Serialize(ResultDocuments.BaseBuild(result), Orchestrator.Core.Jobs.Documents.ResultJsonContext.Default.BaseBuildDocument)).RootElement;

        // Then it has the tag and the tagged, digest-pinned reference the text shows
        Assert.Equal("slim", json.GetProperty("tag").GetString());
        Assert.Equal($"127.0.0.1:5001/base/debian-bookworm:slim@{digest}", json.GetProperty("taggedReference").GetString());
        Assert.Equal(result.TaggedReference, json.GetProperty("taggedReference").GetString());
    }
}
