using Orchestrator.Core.Sbom;

namespace Orchestrator.Core.Tests.Sbom;

public sealed class PackageDiffTests
{
    [Fact]
    public void OfApt_AddedRemovedUpgradedDowngraded_EachListedOnceWithBothVersionsAndSortedByName()
    {
        // Given what production has and what staging would bring
        DpkgPackage[] before =
        [
            new("zlib1g", "1:1.2.13.dfsg-1", "amd64"),
            new("hello", "2.10-2", "amd64"),
            new("libc6", "2.36-9+deb12u3", "amd64"),
            new("oldpkg", "1.0-1", "all"),
            new("tzdata", "2025a-0+deb12u1", "all"),
        ];
        DpkgPackage[] after =
        [
            new("hello", "2.10-3", "amd64"),
            new("libc6", "2.36-9+deb12u3", "amd64"),
            new("curl", "7.88.1-10+deb12u8", "amd64"),
            new("apt", "2.6.1", "amd64"),
            new("tzdata", "2024a-0+deb12u1", "all"),
            new("zlib1g", "1:1.2.13.dfsg-1", "amd64"),
        ];

        // When they are compared
        var diff = PackageDiff.OfApt(before, after);

        // Then each kind of change is listed with its versions, by name; an unchanged package is not listed
        Assert.Equal([new PackageChange("apt", "amd64", null, "2.6.1", PackageChangeKind.Added), new PackageChange("curl", "amd64", null, "7.88.1-10+deb12u8", PackageChangeKind.Added)], diff.Added);
        Assert.Equal([new PackageChange("oldpkg", "all", "1.0-1", null, PackageChangeKind.Removed)], diff.Removed);
        Assert.Equal([new PackageChange("hello", "amd64", "2.10-2", "2.10-3", PackageChangeKind.Upgraded)], diff.Upgraded);
        Assert.Equal([new PackageChange("tzdata", "all", "2025a-0+deb12u1", "2024a-0+deb12u1", PackageChangeKind.Downgraded)], diff.Downgraded);
        Assert.False(diff.IsEmpty);
        Assert.Equal(5, diff.All.Count());
    }

    [Theory]
    [InlineData("1.0-1", "1:0.1-1")]          // an epoch beats any upstream version
    [InlineData("1.0~rc1-1", "1.0-1")]        // '~' sorts before the release
    [InlineData("2.36-9+deb12u3", "2.36-9+deb12u10")]
    [InlineData("1.2.13.dfsg-1", "1.2.13.dfsg-1+b1")]
    public void OfApt_DebianOrdering_DecidesUpgradeNotTextOrder(string older, string newer)
    {
        // Given one package whose new version is newer by Debian's rules, When compared, Then it is an upgrade
        var diff = PackageDiff.OfApt([new DpkgPackage("p", older, "amd64")], [new DpkgPackage("p", newer, "amd64")]);
        Assert.Equal([new PackageChange("p", "amd64", older, newer, PackageChangeKind.Upgraded)], diff.Upgraded);
        Assert.Empty(diff.Downgraded);
    }

    [Fact]
    public void OfApt_SameNameOtherArchitecture_IsItsOwnPackage()
    {
        // Given libc6 for amd64 in both and for i386 only in the new list
        var diff = PackageDiff.OfApt(
            [new DpkgPackage("libc6", "2.36-9", "amd64")],
            [new DpkgPackage("libc6", "2.36-9", "amd64"), new DpkgPackage("libc6", "2.36-9", "i386")]);

        // Then only the i386 one is added
        Assert.Equal([new PackageChange("libc6", "i386", null, "2.36-9", PackageChangeKind.Added)], diff.Added);
        Assert.Empty(diff.Upgraded);
    }

    [Fact]
    public void OfPython_NamesNormalizedAndPep440Order_UpgradeAndAdd()
    {
        // Given Python packages spelled differently on each side
        var diff = PackageDiff.OfPython(
            [new PypiPackage("Greet_Lib", "1.0.0", null), new PypiPackage("six", "1.16", null)],
            [new PypiPackage("greet-lib", "1.0.1", null), new PypiPackage("six", "1.16.0", null), new PypiPackage("requests", "2.32.3", null)]);

        // Then greet-lib is one package, upgraded; 1.16 and 1.16.0 are the same version; requests is added
        Assert.Equal([new PackageChange("greet-lib", null, "1.0.0", "1.0.1", PackageChangeKind.Upgraded)], diff.Upgraded);
        Assert.Equal([new PackageChange("requests", null, null, "2.32.3", PackageChangeKind.Added)], diff.Added);
        Assert.Empty(diff.Removed);
        Assert.Empty(diff.Downgraded);
    }

    [Fact]
    public void OfApt_IdenticalLists_IsEmpty()
    {
        DpkgPackage[] packages = [new("hello", "2.10-3", "amd64"), new("base-files", "12.4+deb12u9", "amd64")];
        Assert.True(PackageDiff.OfApt(packages, packages.Reverse()).IsEmpty);
    }

    [Fact]
    public void Compare_KeyListedTwice_KeepsItsNewestVersion()
    {
        // Given a list naming a package twice (dpkg does not, a hand-made SBOM might)
        var diff = PackageDiff.Compare([("p", null, "1.0"), ("p", null, "3.0")], [("p", null, "2.0")], PythonVersion.Compare);

        // Then the newest of the two is what the other side is compared with
        Assert.Equal([new PackageChange("p", null, "3.0", "2.0", PackageChangeKind.Downgraded)], diff.Downgraded);
    }
}
