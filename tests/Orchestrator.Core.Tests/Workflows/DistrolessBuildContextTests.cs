using Orchestrator.Core.Locks;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class DistrolessBuildContextTests : IDisposable
{
    private static readonly ImageReference Distroless = ImageReference.Create("127.0.0.1:5001", "base/debian-bookworm", digest: Digest.Sha256Of("distroless"u8));
    private static readonly ImageReference Slim = ImageReference.Create("127.0.0.1:5001", "base/debian-bookworm", digest: Digest.Sha256Of("slim"u8));
    private static readonly LockedPackage Python = new("python3", "3.11.2-1+b1", "amd64", new string('a', 64), Direct: true);
    private static readonly LockedPackage Expat = new("libexpat1", "2.5.0-1+deb12u1", "amd64", new string('b', 64), Direct: false);

    private readonly WorkflowHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public void CreateDockerfile_DistrolessBase_UnpacksLockedPackagesOnTheSlimSiblingAndCopiesThem()
    {
        // Given a pipeline locked on a distroless base
        var pipeline = _harness.Pipeline() with
        {
            AptPackages = [new("python3", "3.11.2-1+b1"), new("libexpat1", "2.5.0-1+deb12u1")],
            Lock = new PipelineLock(1, "hello", "sha256:x", new LockedBase("debian-bookworm/distroless", Distroless, Distroless.Digest!), 1_700_000_000, [Expat, Python]),
        };

        // When the Dockerfile is generated with the slim sibling as unpack base
        var dockerfile = BuildContext.CreateDockerfile(pipeline, Distroless, unpackBaseReference: Slim);
        var lines = dockerfile.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // Then the unpack stage is FROM the slim sibling by digest and the final stage FROM the distroless base by digest
        Assert.Equal([$"FROM {Slim.Name}@{Slim.Digest} AS unpack", $"FROM {Distroless.Name}@{Distroless.Digest}"], lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)));

        // and the .debs are fetched at their locked versions and checked against the lock's hashes, then unpacked with dpkg-deb
        Assert.Contains("COPY debs/runtime/ /debs/\n", dockerfile, StringComparison.Ordinal);
        Assert.DoesNotContain("apt-get update", dockerfile, StringComparison.Ordinal);
        Assert.Contains($"printf '%s\\n' {new string('a', 64)} {new string('b', 64)} > /tmp/locked", dockerfile, StringComparison.Ordinal);
        Assert.Contains("dpkg-deb --fsys-tarfile \"$deb\" | tar -x --keep-directory-symlink", dockerfile, StringComparison.Ordinal);
        Assert.Contains("/rootfs/var/lib/dpkg/status.d/$pkg", dockerfile, StringComparison.Ordinal);
        Assert.Contains("touch -h -d @1700000000", dockerfile, StringComparison.Ordinal);

        // and nothing is installed with apt in the final stage, which only copies the unpacked tree
        var final = dockerfile[dockerfile.IndexOf($"FROM {Distroless.Name}@{Distroless.Digest}", StringComparison.Ordinal)..];
        Assert.DoesNotContain("apt-get", final, StringComparison.Ordinal);
        Assert.DoesNotContain("RUN ", final, StringComparison.Ordinal);
        Assert.StartsWith($"FROM {Distroless.Name}@{Distroless.Digest}\nCOPY --from=unpack /rootfs /\n", final, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseSkippedScripts_BuildOutput_PackageAndScriptSortedOnce()
    {
        // Given build output with the unpack stage's markers among other lines (one repeated by a rebuilt step)
        var output = "Step 3/9 : RUN set -eu; …\n@@skipped-maintainer-script python3 postinst\n@@skipped-maintainer-script libc-bin triggers\n" +
            " ---> Running in 123\n@@skipped-maintainer-script python3 prerm\n@@skipped-maintainer-script python3 postinst\nnoise @@skipped-maintainer-script x y\n";

        // When parsed, Then each script is listed once as PACKAGE/SCRIPT, sorted
        Assert.Equal(["libc-bin/triggers", "python3/postinst", "python3/prerm"], DistrolessBuildContext.ParseSkippedScripts(output));
    }

    [Fact]
    public void ObtainDebsRun_Packages_CopiedFromTheContextThenOneRunThatFailsOnAHashMismatch()
    {
        // Given locked packages, When the step that brings them into the unpack stage is generated
        var lines = DistrolessBuildContext.ObtainDebsRun([Python]).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // Then the .debs come from the build context the package cache filled (no download, no network), and one RUN
        // compares their SHA-256 with the lock's and stops on a difference
        Assert.Equal(2, lines.Length);
        Assert.Equal("COPY debs/runtime/ /debs/", lines[0]);
        Assert.StartsWith("RUN ", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain("apt-get", lines[1], StringComparison.Ordinal);
        Assert.Contains("cmp -s /tmp/locked /tmp/got", lines[1], StringComparison.Ordinal);
        Assert.Contains("exit 1", lines[1], StringComparison.Ordinal);
    }
}
