using System.Formats.Tar;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Images;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class ReproducibilityWorkflowTests : IDisposable
{
    private readonly WorkflowHarness _harness = new() { AutoLock = true };

    public ReproducibilityWorkflowTests()
    {
        _harness.SeedBase();
        var file = _harness.WriteFile("hello/greeting.txt", "hello\n");
        _harness.Hello = _harness.Hello with { Files = [new Core.Definitions.FileCopy(file, "/greeting.txt", 420)] };
    }

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task VerifyAsync_NothingBuiltYet_BuildsAndRecordsOnceThenRebuildsWithoutCacheToTheSameDigest()
    {
        // Given a locked pipeline never built
        // When verified
        var result = await _harness.Workflows.Reproducibility.VerifyAsync("hello");

        // Then it was built (and pushed) once, rebuilt without cache, and the digests agree
        Assert.True(result.Reproducible);
        Assert.Equal(result.Expected.Digest, result.Rebuilt);
        Assert.Equal(2, _harness.Engine.Builds.Count);
        Assert.All(_harness.Engine.Builds, b => Assert.True(b.Request.NoCache));
        Assert.Single(_harness.State.Builds);
        Assert.Equal(result.Rebuilt, _harness.Staging.Find(WorkflowHarness.PipelineRepository, "1.0")!.Digest);
    }

    [Fact]
    public async Task VerifyAsync_AlreadyBuilt_ComparesWithThatBuildAndPushesNothing()
    {
        // Given a build in staging
        var built = await _harness.Workflows.Builds.BuildAsync("hello");
        var puts = _harness.Staging.Puts.Count;

        // When verified
        var result = await _harness.Workflows.Reproducibility.VerifyAsync("hello");

        // Then one more engine build ran, nothing was put, and the rebuild matches the build
        Assert.True(result.Reproducible);
        Assert.Equal(built.Digest, result.Expected.Digest);
        Assert.Equal(2, _harness.Engine.Builds.Count);
        Assert.Equal(puts, _harness.Staging.Puts.Count);
    }

    [Fact]
    public async Task VerifyAsync_RebuildHasAnotherFile_NotReproducibleNamingTheFile()
    {
        // Given a build in staging, after which the engine's builds gain a file
        await _harness.Workflows.Builds.BuildAsync("hello");
        _harness.Engine.ExtraLayerFiles.Add(("var/lib/random-seed", "4"));

        // When verified
        var result = await _harness.Workflows.Reproducibility.VerifyAsync("hello");

        // Then it is not reproducible, and the first difference is that file in the top layer
        Assert.False(result.Reproducible);
        Assert.Equal(new ImageDifference(1, "var/lib/random-seed", "only in the rebuild"), result.Difference);
    }

    [Fact]
    public async Task VerifyAsync_NoLock_RefusedWithTheFix()
    {
        // Given a pipeline without a lock
        _harness.AutoLock = false;

        // When verified
        var error = await Assert.ThrowsAsync<JobFailedException>(() => _harness.Workflows.Reproducibility.VerifyAsync("hello"));

        // Then it names the lock command, and nothing was built
        Assert.Contains("orchestrator lock hello", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Engine.Builds);
    }

    [Fact]
    public void CompareEntries_SameNameOtherContent_SaysContentWithBothDigests()
    {
        // Given one file whose content differs, after an equal one
        var a = File("etc/a", "x");
        var expected = new[] { a, File("etc/b", "one") };
        var rebuilt = new[] { a, File("etc/b", "two") };

        // When compared
        var difference = ReproducibilityWorkflow.CompareEntries(0, expected, rebuilt);

        // Then the second file is named with both content digests
        Assert.Equal(0, difference!.Layer);
        Assert.Equal("etc/b", difference.Path);
        Assert.Equal($"content {Digest.Sha256Of("one"u8).ToShortString()} vs {Digest.Sha256Of("two"u8).ToShortString()}", difference.Detail);
        Assert.Null(ReproducibilityWorkflow.CompareEntries(0, expected, expected));
    }

    private static LayerFile File(string name, string content) =>
        new(name, TarEntryType.RegularFile, 420, 0, 0, 0, content.Length, string.Empty, Digest.Sha256Of(System.Text.Encoding.UTF8.GetBytes(content)), 0, 0, []);
}
