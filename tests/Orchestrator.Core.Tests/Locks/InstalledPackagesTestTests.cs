using Orchestrator.Core.Locks;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Tests.Locks;

public sealed class InstalledPackagesTestTests
{
    private static PipelineLock Lock(bool withBasePackages = true) => new(
        1, "hello", "sha256:" + new string('0', 64),
        new LockedBase("debian-bookworm/slim", ImageReference.Parse("127.0.0.1:5001/base/debian-bookworm:slim"), Digest.Parse("sha256:" + new string('a', 64)))
        {
            Packages = withBasePackages ? [new InstalledPackage("bash", "5.2.15-2+b13", "amd64"), new InstalledPackage("libc6", "2.36-9+deb12u7", "amd64")] : [],
        },
        1_700_000_000,
        [
            new LockedPackage("hello", "2.10-3", "amd64", new string('c', 64), true),
            new LockedPackage("libc6", "2.36-9+deb12u14", "amd64", new string('d', 64), false),
        ]);

    [Fact]
    public void Compare_BaseSetPlusClosure_Passes()
    {
        // Given dpkg lists the base's packages with the closure on top (libc6 upgraded by the closure)
        InstalledPackage[] installed = [new("bash", "5.2.15-2+b13", "amd64"), new("hello", "2.10-3", "amd64"), new("libc6", "2.36-9+deb12u14", "amd64")];

        // Then the test passes
        var result = InstalledPackagesTest.Compare(Lock(), installed);
        Assert.True(result.Passed, result.Detail);
        Assert.Equal(InstalledPackagesTest.Name, result.Name);
    }

    [Fact]
    public void Compare_WrongVersionMissingAndExtra_FailsNamingEach()
    {
        // Given hello at another version, libc6 missing and an extra package
        InstalledPackage[] installed = [new("bash", "5.2.15-2+b13", "amd64"), new("hello", "2.10-2", "amd64"), new("vim", "9.0", "amd64")];

        // Then the test fails and the detail names every difference
        var result = InstalledPackagesTest.Compare(Lock(), installed);
        Assert.False(result.Passed);
        Assert.Contains("hello is 2.10-2, locked at 2.10-3", result.Detail);
        Assert.Contains("libc6 2.36-9+deb12u14 amd64 is not installed", result.Detail);
        Assert.Contains("vim 9.0 amd64 is installed but not in the lock", result.Detail);
    }

    [Fact]
    public void Compare_LockWithoutBaseSet_IgnoresExtraPackages()
    {
        // Given a lock that does not record the base's packages
        InstalledPackage[] installed = [new("bash", "5.2.15-2+b13", "amd64"), new("hello", "2.10-3", "amd64"), new("libc6", "2.36-9+deb12u14", "amd64")];

        // Then packages outside the lock are not judged
        Assert.True(InstalledPackagesTest.Compare(Lock(withBasePackages: false), installed).Passed);
    }
}
