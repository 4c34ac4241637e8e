using Orchestrator.Core.Definitions;
using Orchestrator.Core.Images;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Tests.Images;

public sealed class PromotionPolicyTests
{
    private static readonly Digest Promoted = Digest.Sha256Of("promoted"u8);
    private static readonly Digest Older = Digest.Sha256Of("older"u8);
    private static readonly PromotionPolicy Policy = new("production", "hello.yaml");

    private static CopyRequest Request(params string[] floating) =>
        new(new RegistryEndpoint("127.0.0.1:5001", PlainHttp: true), "apps/hello", Promoted, new RegistryEndpoint("127.0.0.1:5002", PlainHttp: true), "apps/hello", ["1.0", "latest"])
        {
            FloatingTags = floating,
        };

    [Theory]
    [InlineData("latest", true)]
    [InlineData("1.0", false)]
    public void MayMove_ExistingTag_OnlyWhenFloating(string tag, bool expected)
    {
        // Given a promotion whose pipeline declares 'latest' floating
        var request = Request("latest");

        // When the policy is asked whether a tag at an older digest may move
        var mayMove = Policy.MayMove(request, tag, Older);

        // Then only the floating tag may
        Assert.Equal(expected, mayMove);
    }

    [Fact]
    public void Refuse_AtPlanning_SaysNothingWasCopiedAndToBumpTheVersion()
    {
        // Given a conflict found while planning
        var conflicts = new[] { new TagConflict("1.0", Older) };

        // When the policy refuses
        var error = Policy.Refuse(Request(), conflicts, contentCopied: false);

        // Then the message names the image, stage, tag and its digest, and the pipeline file to bump
        Assert.Contains("127.0.0.1:5001/apps/hello@" + Promoted, error.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was copied or tagged", error.Message, StringComparison.Ordinal);
        Assert.Contains($"tag '1.0' already points at {Older} in production", error.Message, StringComparison.Ordinal);
        Assert.Contains("bump 'version' in hello.yaml", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuse_AfterCopy_SaysTheContentIsThereUntagged()
    {
        // Given a tag that moved between planning and tagging
        var conflicts = new[] { new TagConflict("1.0", Older) };

        // When the policy refuses
        var error = Policy.Refuse(Request(), conflicts, contentCopied: true);

        // Then the message says what happened and still how to fix it
        Assert.Contains("copied the content but tagged nothing", error.Message, StringComparison.Ordinal);
        Assert.Contains($"tag '1.0' now points at {Older}", error.Message, StringComparison.Ordinal);
        Assert.Contains("changed since planning", error.Message, StringComparison.Ordinal);
        Assert.Contains("bump 'version' in hello.yaml", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KeepExistingTags_Refuse_SpeaksOfTagsNotVersions()
    {
        // Given the copy engine's default policy and a conflict
        var conflicts = new[] { new TagConflict("1.0", Older) };

        // When it refuses
        var error = KeepExistingTags.Instance.Refuse(Request(), conflicts, contentCopied: false);

        // Then it names the tag and digest, and says nothing about versions (that is the promotion's policy)
        Assert.Contains($"tag '1.0' already points at {Older}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("version", error.Message, StringComparison.Ordinal);
        Assert.True(KeepExistingTags.Instance.MayMove(Request("latest"), "latest", Older));
        Assert.False(KeepExistingTags.Instance.MayMove(Request("latest"), "1.0", Older));
    }
}
