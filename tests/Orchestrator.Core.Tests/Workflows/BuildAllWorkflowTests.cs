using Orchestrator.Core.Definitions;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class BuildAllWorkflowTests : IDisposable
{
    private readonly WorkflowHarness _harness = new() { AutoLock = true };

    public BuildAllWorkflowTests()
    {
        // Two pipelines on the slim variant, one on full.
        _harness.Pipelines["hello2"] = _harness.Pipeline() with { Name = "hello2", Repository = "apps/hello2" };
        _harness.Pipelines["world"] = _harness.Pipeline() with { Name = "world", Repository = "apps/world", Base = new BaseVariantRef("debian-bookworm", "full") };
    }

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task BuildAllAsync_NoBasesInStaging_BuildsEachBaseInUseOnceBeforeThePipelinesOnIt()
    {
        // Given an empty staging
        // When everything is built
        var result = await BuildAll();

        // Then both variants were built once, each before every pipeline on it, and every pipeline was built
        Assert.True(result.Succeeded);
        Assert.Equal(["debian-bookworm/full", "debian-bookworm/slim"], result.Bases.Select(b => b.Subject));
        Assert.All(result.Bases, b => Assert.Equal(BuildAllOutcome.Built, b.Outcome));
        Assert.Equal(["hello", "hello2", "world"], result.Pipelines.Select(p => p.Subject));
        Assert.All(result.Pipelines, p => Assert.Equal(BuildAllOutcome.Built, p.Outcome));
        Assert.Equal(2, _harness.Rootfs.Calls.Count);
        var pushSlim = PutIndex(WorkflowHarness.BaseRepository, "slim");
        var pushFull = PutIndex(WorkflowHarness.BaseRepository, "full");
        Assert.True(pushSlim >= 0 && pushFull >= 0);
        Assert.True(pushSlim < PutIndex("apps/hello", "1.0"));
        Assert.True(pushSlim < PutIndex("apps/hello2", "1.0"));
        Assert.True(pushFull < PutIndex("apps/world", "1.0"));
    }

    [Fact]
    public async Task BuildAllAsync_SecondRunNothingChanged_BasesPresentPipelinesCacheHitsNoEngineCall()
    {
        // Given everything built once
        await BuildAll();
        _harness.Engine.Calls.Clear();

        // When built again
        var result = await BuildAll();

        // Then nothing was built
        Assert.All(result.Bases, b => Assert.Equal(BuildAllOutcome.Present, b.Outcome));
        Assert.All(result.Pipelines, p => Assert.Equal(BuildAllOutcome.CacheHit, p.Outcome));
        Assert.Empty(_harness.Engine.Calls);
    }

    [Fact]
    public async Task BuildAllAsync_RebuildBases_SameRootFilesystemGivesTheSameBaseDigestAndPipelinesStayCached()
    {
        // Given everything built once
        var before = await BuildAll();
        _harness.Engine.Calls.Clear();

        // When built again with the bases rebuilt from the same root filesystems
        var result = await BuildAll(rebuildBases: true);

        // Then the bases were built again to the same digests (reproducible), so no pipeline lock went stale and every pipeline is a cache hit
        Assert.Equal(4, _harness.Rootfs.Calls.Count);
        Assert.All(result.Bases, b => Assert.Equal(BuildAllOutcome.Built, b.Outcome));
        Assert.All(result.Bases, b => Assert.Equal(before.Bases.Single(x => x.Subject == b.Subject).Reference, b.Reference));
        Assert.All(result.Pipelines, p => Assert.Equal(BuildAllOutcome.CacheHit, p.Outcome));
        Assert.DoesNotContain(_harness.Engine.Calls, c => c.StartsWith("Build ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BuildAllAsync_OnlyOneBaseMissing_OnlyItIsRebuiltToTheSameDigest()
    {
        // Given everything built once, then the full variant deleted from staging
        var before = await BuildAll();
        var full = before.Bases.Single(b => b.Subject == "debian-bookworm/full").Reference!;
        await _harness.Staging.DeleteManifestAsync(WorkflowHarness.BaseRepository, full.Digest!);

        // When built again
        var result = await BuildAll();

        // Then only full was rebuilt, to the digest it had, so world (on it) is still a cache hit like the others
        Assert.Equal(BuildAllOutcome.Built, result.Bases.Single(b => b.Subject == "debian-bookworm/full").Outcome);
        Assert.Equal(full, result.Bases.Single(b => b.Subject == "debian-bookworm/full").Reference);
        Assert.Equal(BuildAllOutcome.Present, result.Bases.Single(b => b.Subject == "debian-bookworm/slim").Outcome);
        Assert.Equal(
            [("hello", BuildAllOutcome.CacheHit), ("hello2", BuildAllOutcome.CacheHit), ("world", BuildAllOutcome.CacheHit)],
            result.Pipelines.Select(p => (p.Subject, p.Outcome)));
    }

    [Fact]
    public async Task BuildAllAsync_BaseFails_ItsPipelinesSkippedOthersBuilt()
    {
        // Given the full variant cannot be built: it copies an upstream image its registry does not have
        _harness.SeedBase("slim");
        var bases = _harness.Bases["debian-bookworm"];
        _harness.Bases["debian-bookworm"] = bases with
        {
            Variants = new Dictionary<string, BaseVariantDefinition>(bases.Variants, StringComparer.Ordinal)
            {
                ["full"] = bases.Variants["full"] with { From = Core.References.ImageReference.Parse("127.0.0.1:5009/upstream/debian@sha256:" + new string('a', 64)) },
            },
        };

        // When everything is built
        var seen = new List<BuildAllEntry>();
        var result = await _harness.Workflows.BuildAll.BuildAllAsync(maxParallelism: 1, onResult: e => { lock (seen) { seen.Add(e); } });

        // Then full failed, world on it was skipped, and the slim pipelines were built; one line per result was reported
        Assert.False(result.Succeeded);
        Assert.Equal(BuildAllOutcome.Failed, result.Bases.Single(b => b.Subject == "debian-bookworm/full").Outcome);
        var world = result.Pipelines.Single(p => p.Subject == "world");
        Assert.Equal(BuildAllOutcome.Skipped, world.Outcome);
        Assert.Contains("debian-bookworm/full", world.Error, StringComparison.Ordinal);
        Assert.All(result.Pipelines.Where(p => p.Subject != "world"), p => Assert.Equal(BuildAllOutcome.Built, p.Outcome));
        Assert.Equal(5, seen.Count);
    }

    private Task<BuildAllResult> BuildAll(bool rebuildBases = false) =>
        _harness.Workflows.BuildAll.BuildAllAsync(rebuildBases, maxParallelism: 1);

    private int PutIndex(string repository, string reference) =>
        _harness.Staging.Puts.FindIndex(p => p.Repository == repository && p.Reference == reference);

}
