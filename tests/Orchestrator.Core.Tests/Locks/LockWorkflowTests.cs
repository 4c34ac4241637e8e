using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Locks;
using Orchestrator.Core.Tests.Fakes;

namespace Orchestrator.Core.Tests.Locks;

public sealed class LockWorkflowTests : IDisposable
{
    private readonly WorkflowHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private static string ResolveOutput(string simulation) =>
        "@@ release-dates\n" + AptSamples.ReleaseDates + "\n@@ base-packages\n" + AptSamples.DpkgQuery +
        "@@ simulate\n" + simulation + "\n@@ show\n" + AptSamples.Show;

    [Fact]
    public async Task ResolveAsync_ScriptedApt_LocksClosureWithHashesOnTheBaseDigestFromAHostNetworkContainer()
    {
        // Given a base in staging and apt planning hello and curl (only hello is named by the pipeline)
        var baseReference = _harness.SeedBase();
        _harness.Hello = _harness.Hello with { AptPackages = [new AptPackage("hello", "2.10-3")] };
        _harness.Engine.Script = _ => new ContainerScript(0, ResolveOutput("Inst curl (7.88.1-10+deb12u15 Debian:12 [amd64])\nInst hello (2.10-3 Debian:12 [amd64])\n"));

        // When the lock is resolved
        var pipelineLock = await _harness.Workflows.Locks.ResolveAsync("hello");

        // Then it pins the closure with hashes, marks hello direct, records the base digest, its packages and the newest Release date
        Assert.Equal(baseReference.Digest, pipelineLock.Base.Digest);
        Assert.Equal("debian-bookworm/slim", pipelineLock.Base.Name);
        Assert.Equal(
            [new LockedPackage("curl", "7.88.1-10+deb12u15", "amd64", "0dd9b6bf7a0bd11af2d68a52ec44c2a223fa7c11f9104c36ce1047e1137d4a8f", false),
             new LockedPackage("hello", "2.10-3", "amd64", "2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a", true)],
            pipelineLock.Packages);
        Assert.Equal(["adduser", "apt", "bash"], pipelineLock.Base.Packages.Select(p => p.Name));
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 2, 11, 10, TimeSpan.Zero).ToUnixTimeSeconds(), pipelineLock.SourceDateEpoch);
        Assert.Equal(InputsChecksum.Compute(_harness.Hello), pipelineLock.InputsChecksum);

        // And apt ran in a container on the host network, as root, with the pinned package as an argument, and was removed
        var spec = Assert.Single(_harness.Engine.CreatedContainers);
        Assert.Equal("host", spec.NetworkMode);
        Assert.Equal("0", spec.User);
        Assert.Equal(["sh", "hello=2.10-3"], spec.Cmd);
        Assert.Contains(baseReference.Digest!.ToString(), spec.Image);
        Assert.Single(_harness.Engine.RemovedContainers);
    }

    [Fact]
    public async Task ResolveAsync_NoAptPackages_LocksAnEmptyClosureWithTheBaseSet()
    {
        // Given a pipeline with no apt packages; the script stops after listing the base (no simulate or show output)
        _harness.SeedBase();
        _harness.Engine.Script = _ => new ContainerScript(0, "@@ release-dates\n" + AptSamples.ReleaseDates + "\n@@ base-packages\n" + AptSamples.DpkgQuery + "@@ simulate\n");

        // When the lock is resolved
        var pipelineLock = await _harness.Workflows.Locks.ResolveAsync("hello");

        // Then the closure is empty but the base's installed set is recorded, and apt got no package arguments
        Assert.Empty(pipelineLock.Packages);
        Assert.Equal(3, pipelineLock.Base.Packages.Count);
        Assert.Equal(["sh"], Assert.Single(_harness.Engine.CreatedContainers).Cmd);
        Assert.Contains("[ $# -eq 0 ] && exit 0", LockWorkflow.ResolveScript);
    }

    [Fact]
    public async Task ResolveAsync_VersionGoneFromMirror_FailsNamingPackageVersionAndBothWaysOut()
    {
        // Given apt cannot find the pinned version
        _harness.SeedBase();
        _harness.Hello = _harness.Hello with { AptPackages = [new AptPackage("hello", "9.9")] };
        _harness.Engine.Script = _ => new ContainerScript(100, "@@ simulate\n", AptSamples.VersionNotFound);

        // When the lock is resolved
        var error = await Assert.ThrowsAsync<JobFailedException>(() => _harness.Workflows.Locks.ResolveAsync("hello"));

        // Then the error names package and version and the two ways out
        Assert.Contains("hello 9.9", error.Message);
        Assert.Contains("then 'orchestrator lock hello'", error.Message);
        Assert.Contains("snapshot:", error.Message);
    }

    [Fact]
    public async Task ResolveAsync_BaseNeverBuilt_FailsWithTheBaseBuildCommand()
    {
        // Given no base in staging
        // When the lock is resolved
        var error = await Assert.ThrowsAsync<JobFailedException>(() => _harness.Workflows.Locks.ResolveAsync("hello"));

        // Then nothing ran and the error says how to build the base
        Assert.Contains("orchestrator base build debian-bookworm/slim", error.Message);
        Assert.Empty(_harness.Engine.CreatedContainers);
    }

    [Fact]
    public async Task OutdatedAsync_NewerCandidates_ListsSecurityUpdatesFirstAndTheMovedBase()
    {
        // Given a lock on an older base digest with libssl3 and hello, and the mirror's policy output
        var current = _harness.SeedBase();
        var pipelineLock = new PipelineLock(1, "hello", "sha256:" + new string('0', 64),
            new LockedBase("debian-bookworm/slim", current.WithTag("slim"), Orchestrator.Core.References.Digest.Parse("sha256:" + new string('e', 64))), 0,
            [
                new LockedPackage("hello", "2.10-2", "amd64", new string('1', 64), true),
                new LockedPackage("libssl3", "3.0.20-1~deb12u2", "amd64", new string('2', 64), false),
                new LockedPackage("libc6", "2.36-9+deb12u14", "amd64", new string('3', 64), false),
            ]);
        _harness.Hello = _harness.Hello with { Lock = pipelineLock };
        _harness.Engine.Script = _ => new ContainerScript(0, AptSamples.Policy);

        // When outdated runs
        var report = Assert.Single(await _harness.Workflows.Locks.OutdatedAsync());

        // Then the base is outdated, libssl3 (security) comes before hello, and libc6 (current) is not listed
        Assert.True(report.BaseOutdated);
        Assert.Equal(current.Digest, report.CurrentBaseDigest);
        Assert.Equal(
            [new OutdatedPackage("libssl3", "3.0.20-1~deb12u2", "3.0.22-1~deb12u2", true, false), new OutdatedPackage("hello", "2.10-2", "2.10-3", false, true)],
            report.Packages);
    }
}
