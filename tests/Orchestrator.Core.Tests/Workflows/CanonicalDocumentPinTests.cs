using Orchestrator.Core.Definitions;
using Orchestrator.Core.Locks;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

/// <summary>
/// Pins the bytes both checksums hash: the values below were computed by the code before the lock's inputs
/// checksum and the build cache key shared one canonical writer. If one changes, every committed lock goes
/// stale and every recorded cache key misses: bump <see cref="BuildCacheKey.RecipeVersion"/> or the lock
/// version on purpose instead.
/// </summary>
public sealed class CanonicalDocumentPinTests : IDisposable
{
    private static readonly Digest BaseDigest = Digest.Parse("sha256:" + new string('1', 64));
    private static readonly Digest BuildBaseDigest = Digest.Parse("sha256:" + new string('2', 64));

    private readonly string _root = Path.Combine(Path.GetTempPath(), $"orchestrator-pin-{Guid.NewGuid():N}");

    public CanonicalDocumentPinTests()
    {
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "app.sh"), "#!/bin/sh\necho hello \"$1\"\n");
        File.WriteAllText(Path.Combine(_root, "motd"), "welcome\n");
        Directory.CreateDirectory(Path.Combine(_root, "project", "app"));
        File.WriteAllText(Path.Combine(_root, "project", "pyproject.toml"), "[project]\nname = \"app\"\nversion = \"1.0\"\n");
        File.WriteAllText(Path.Combine(_root, "project", "app", "__init__.py"), "def main():\n    print('hello')\n");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private PipelineDefinition Sample() => new(
        "sample",
        "1.2.3",
        Path.Combine(_root, "sample.yaml"),
        new BaseVariantRef("debian-bookworm", "slim"),
        "apps/sample",
        [new AptPackage("hello", "2.10-3"), new AptPackage("curl", "7.88.1-10+deb12u5"), new AptPackage("jq", "")],
        [new FileCopy(Path.Combine(_root, "app.sh"), "/usr/local/bin/app", 0b111_101_101), new FileCopy(Path.Combine(_root, "motd"), "/etc/motd")],
        [new("LANG", "C.UTF-8"), new("PATH", "/opt/app/bin:$PATH")],
        "app",
        "/srv",
        ["/usr/local/bin/app"],
        null,
        [new("org.opencontainers.image.title", "sample <é>")],
        ["1.2", "1.2.3", "latest"],
        ValidationSpec.Empty)
    {
        UnpinnedPackages = ["jq"],
    };

    private PipelineDefinition PythonSample() => Sample() with
    {
        Python = new PythonSpec(
            Path.Combine(_root, "project"),
            "requirements.txt",
            [new PythonRequirement("Flask", "3.0.3", [new string('a', 64)], "python_version >= \"3.11\"", "requirements.txt:1:1")],
            null,
            [],
            "https://pypi.org/simple",
            null,
            new BaseVariantRef("debian-bookworm", "full"),
            [new AptPackage("python3-dev", "3.11.2-1+b1")]),
    };

    [Fact]
    public void InputsChecksum_SamplePipeline_IsWhatItWasBeforeTheSharedWriter()
    {
        // Given the sample pipeline; When its lock checksum is computed (current and legacy form)
        // Then the bytes hashed are unchanged
        Assert.Equal("sha256:3c46274896ea636c4e0ff1b6526ecbeee83c4a0ef18f2f27aabee8e9a9d4da5e", InputsChecksum.Compute(Sample()));
        Assert.Equal("sha256:c8c0861d9141b233f659db66326d50ca0bc5355a532ed190d1c6a2ddb9cb1a7a", InputsChecksum.ComputeLegacy(Sample()));
        Assert.Equal("sha256:ad59c2cd41d0bcdef409f132003402a5a030a236b44db25f7290e0fffa81ccf9", InputsChecksum.Compute(PythonSample()));
    }

    [Fact]
    public void BuildCacheKey_SamplePipeline_IsWhatItWasBeforeTheSharedWriter()
    {
        // Given the sample pipeline with a lock, build arguments and engine labels
        var buildArgs = new Dictionary<string, string> { ["Z_ARG"] = "z", ["A_ARG"] = "a" };
        var labels = new Dictionary<string, string> { ["org.example.b"] = "2", ["org.example.a"] = "1" };

        // When its cache key is computed, Then it is the key recorded before
        Assert.Equal("sha256:ab1a55f96ab81057a88924cd9827a11f88d5e22fbd989becbb976dc9dfdd9052", BuildCacheKey.Compute(Sample(), BaseDigest, "sha256:" + new string('3', 64), buildArgs, labels).ToString());
        Assert.Equal("sha256:4cb178ba9593683e808cc57b20e8b466f115cad17f91f143262fbefca4872cb1", BuildCacheKey.Compute(Sample(), BaseDigest, null, null).ToString());
        // The Python sample reads an index: with the package cache (issue 16) its Dockerfile takes the index's files from the
        // context (--no-index --find-links), so its key moved from sha256:ae339630… when that change was made.
        Assert.Equal("sha256:59bac1326b3ea6559e9d068990ba2246062fe61505ecdf22a70066844634b773", BuildCacheKey.Compute(PythonSample(), BaseDigest, null, null, null, BuildBaseDigest).ToString());
    }
}
