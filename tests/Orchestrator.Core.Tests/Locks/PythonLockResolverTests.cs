using Orchestrator.Core.Locks;

namespace Orchestrator.Core.Tests.Locks;

public sealed class PythonLockResolverTests
{
    private const string H = "69d6f81ae45b4652165436b5f95209845dbb7c95613982dd78760c388d169437";

    [Fact]
    public void Parse_LockBuildOutput_ReadsWheelsAndSdistsWithNormalizedNamesSorted()
    {
        // Given the lock build's output: marker lines among pip's, a wheel, an sdist and a zip sdist
        var output = $"Looking in links: /build/src/wheelhouse\n@@python-lock {H}  greet-1.0.0-py3-none-any.whl\n" +
            $"Saved /lock/x\n\u001b[0m@@python-lock {H.ToUpperInvariant()}  Hello_Tools-2.0.post1.tar.gz\r\n@@python-lock {H}  abc.def-3.zip\n@@python-lock short  bad-1.0-py3-none-any.whl\n";

        // When it is parsed
        var packages = PythonLockResolver.Parse(output);

        // Then each file is one package, names normalized, hashes lower case, malformed lines skipped
        Assert.Equal(
            [new LockedPythonPackage("abc-def", "3", H), new LockedPythonPackage("greet", "1.0.0", H), new LockedPythonPackage("hello-tools", "2.0.post1", H)],
            packages);
    }
}
