using Orchestrator.Core.Definitions;
using Orchestrator.Core.Locks;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Fakes;

namespace Orchestrator.Core.Tests.Locks;

public sealed class LockStatusTests : IDisposable
{
    private static readonly Digest BaseDigest = Digest.Parse("sha256:" + new string('a', 64));
    private static readonly Digest NewerBaseDigest = Digest.Parse("sha256:" + new string('b', 64));
    private readonly WorkflowHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private PipelineDefinition Pipeline()
    {
        var script = _harness.WriteFile("hello/greet.sh", "#!/bin/sh\necho hi\n");
        return _harness.Pipeline() with
        {
            AptPackages = [new AptPackage("hello", "2.10-3")],
            Files = [new FileCopy(script, "/app/greet.sh", 0b111_101_101)],
        };
    }

    private static PipelineLock LockFor(PipelineDefinition pipeline, string helloVersion = "2.10-3") => new(
        PipelineLock.CurrentVersion, pipeline.Name, InputsChecksum.Compute(pipeline),
        new LockedBase("debian-bookworm/slim", ImageReference.Parse("127.0.0.1:5001/base/debian-bookworm:slim"), BaseDigest),
        1_700_000_000, [new LockedPackage("hello", helloVersion, "amd64", new string('c', 64), Direct: true)]);

    [Fact]
    public void Check_NoLock_IsMissingWithTheLockCommandInTheMessage()
    {
        // Given a pipeline without a lock
        var status = LockStatus.Check(null, Pipeline(), BaseDigest);

        // Then it is missing, and the message says how to create it
        Assert.Equal(LockState.Missing, status.State);
        Assert.Contains("orchestrator lock hello", status.Message);
    }

    [Fact]
    public void Check_LockWrittenForThisDefinition_IsFresh()
    {
        // Given a lock computed from the pipeline as it is, on the current base digest
        var pipeline = Pipeline();

        // Then it is fresh
        var status = LockStatus.Check(LockFor(pipeline), pipeline, BaseDigest);
        Assert.True(status.IsFresh, status.Message);
        Assert.Empty(status.Reasons);
    }

    [Fact]
    public void Check_PythonPipeline_IsStaleWithoutABuildStageOrWhenTheBuildBaseMoved()
    {
        // Given a Python pipeline building on full, and a lock of it
        var pipeline = Pipeline() with
        {
            Python = new PythonSpec(null, null, [], null, [], null, null, new BaseVariantRef("debian-bookworm", "full"), [new AptPackage("gcc", "4:12.2.0-3")]),
        };
        var withoutBuild = LockFor(pipeline);
        var withBuild = withoutBuild with
        {
            BuildBase = new LockedBase("debian-bookworm/full", ImageReference.Parse("127.0.0.1:5001/base/debian-bookworm:full"), BaseDigest),
        };

        // Then a lock without the build stage is stale, a fresh one on the same build base is fresh, and a moved build base is named
        Assert.Contains("no build stage on debian-bookworm/full", LockStatus.Check(withoutBuild, pipeline, BaseDigest).Message, StringComparison.Ordinal);
        Assert.True(LockStatus.Check(withBuild, pipeline, BaseDigest, BaseDigest).IsFresh);
        var moved = LockStatus.Check(withBuild, pipeline, BaseDigest, NewerBaseDigest);
        Assert.False(moved.IsFresh);
        Assert.Contains($"build base debian-bookworm/full moved from {BaseDigest.ToShortString()} to {NewerBaseDigest.ToShortString()}", moved.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_CopiedFileChanged_IsStaleBecauseInputsChanged()
    {
        // Given a lock, then one byte of a copied file changes
        var pipeline = Pipeline();
        var pipelineLock = LockFor(pipeline);
        _harness.WriteFile("hello/greet.sh", "#!/bin/sh\necho hI\n");

        // Then the lock is stale, naming the definition or files, with the fix
        var status = LockStatus.Check(pipelineLock, pipeline, BaseDigest);
        Assert.Equal(LockState.Stale, status.State);
        Assert.StartsWith("the definition or its files changed since the lock was written", Assert.Single(status.Reasons), StringComparison.Ordinal);
        Assert.Contains("run 'orchestrator lock hello'", status.Message);
    }

    [Fact]
    public void Check_BaseMoved_IsStaleNamingBothDigests()
    {
        // Given a lock on one base digest while the base's tag now points at another
        var pipeline = Pipeline();
        var status = LockStatus.Check(LockFor(pipeline), pipeline, NewerBaseDigest);

        // Then the reason names the base and both short digests
        Assert.Equal(LockState.Stale, status.State);
        Assert.Equal([$"base debian-bookworm/slim moved from {BaseDigest.ToShortString()} to {NewerBaseDigest.ToShortString()}"], status.Reasons);
    }

    [Fact]
    public void Check_PinnedVersionDiffersFromLock_IsStaleNamingPackageAndBothVersions()
    {
        // Given a lock whose hello version is not the definition's pin (inputs otherwise unchanged)
        var pipeline = Pipeline();
        var status = LockStatus.Check(LockFor(pipeline, helloVersion: "2.10-2"), pipeline, BaseDigest);

        // Then the reason names the package, the pin and the locked version
        Assert.Contains("hello is pinned to 2.10-3 but locked at 2.10-2", status.Reasons);
    }

    [Fact]
    public void Compute_UnpinnedPackageFilledFromLock_ChecksumIsTheUnpinnedDefinitions()
    {
        // Given the same pipeline once with hello unpinned and the lock's version filled in, once with an empty version
        var pipeline = Pipeline();
        var filled = pipeline with { UnpinnedPackages = ["hello"] };
        var empty = filled with { AptPackages = [new AptPackage("hello", string.Empty)] };

        // Then both check-sum alike (the written definition has no version) and differ from the pinned one
        Assert.Equal(InputsChecksum.Compute(empty), InputsChecksum.Compute(filled));
        Assert.NotEqual(InputsChecksum.Compute(pipeline), InputsChecksum.Compute(filled));
    }

    [Fact]
    public void Check_OnlyVersionAndTagsBumped_LockStaysFresh()
    {
        // Given a pipeline at 1.0.0 and its lock
        var pipeline = Pipeline() with { Version = "1.0.0", Tags = ["1.0.0"] };
        var pipelineLock = LockFor(pipeline);

        // When only its version and tags move
        var bumped = pipeline with { Version = "1.0.1", Tags = ["1.0.1", "latest"] };
        var status = LockStatus.Check(pipelineLock, bumped, BaseDigest);

        // Then the lock is still fresh (the package closure did not change), while a package pin still makes it stale
        Assert.Equal(LockState.Fresh, status.State);
        Assert.Equal(LockState.Stale, LockStatus.Check(pipelineLock, bumped with { Env = [new("A", "1")] }, BaseDigest).State);
    }

    [Fact]
    public void Check_LockWrittenWithTheLegacyChecksum_FreshUntilItsVersionMoves()
    {
        // Given a lock written before version left the checksum (it holds the legacy form)
        var pipeline = Pipeline() with { Version = "1.0.0" };
        var legacy = LockFor(pipeline) with { InputsChecksum = InputsChecksum.ComputeLegacy(pipeline) };
        Assert.NotEqual(InputsChecksum.Compute(pipeline), legacy.InputsChecksum);

        // When it is checked against the same definition, and against one with the version bumped
        var same = LockStatus.Check(legacy, pipeline, BaseDigest);
        var bumped = LockStatus.Check(legacy, pipeline with { Version = "1.0.1" }, BaseDigest);

        // Then it is fresh as it stands, and stale once after the bump (its checksum cannot be recomputed without the old version)
        Assert.Equal(LockState.Fresh, same.State);
        Assert.Equal(LockState.Stale, bumped.State);
        Assert.Contains(bumped.Reasons, r => r.Contains("for a lock written before version left its checksum, the version", StringComparison.Ordinal));
    }

    [Fact]
    public void Compute_PackageOrderAndValidationChanges_DoNotChangeTheChecksum()
    {
        // Given a pipeline with two packages
        var pipeline = Pipeline() with { AptPackages = [new AptPackage("hello", "2.10-3"), new AptPackage("curl", "7.88.1-10+deb12u15")] };

        // When the packages are reordered, or tags and tests change
        var reordered = pipeline with { AptPackages = [.. pipeline.AptPackages.Reverse()], Tags = ["other"], Validate = new ValidationSpec([], [new FileTest("/x", true)], null, 10) };

        // Then the checksum is the same, and an env change moves it
        Assert.Equal(InputsChecksum.Compute(pipeline), InputsChecksum.Compute(reordered));
        Assert.NotEqual(InputsChecksum.Compute(pipeline), InputsChecksum.Compute(pipeline with { Env = [new("A", "1")] }));
        Assert.Matches("^sha256:[0-9a-f]{64}$", InputsChecksum.Compute(pipeline));
    }
}
