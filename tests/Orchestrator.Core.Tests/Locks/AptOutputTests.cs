using Orchestrator.Core.Locks;

namespace Orchestrator.Core.Tests.Locks;

public sealed class AptOutputTests
{
    [Fact]
    public void ParseSimulation_RealInstallOutput_ReturnsInstLinesOnlyInOrder()
    {
        // Given apt-get install -s output with summary, Inst and Conf lines
        // When it is parsed
        var installs = AptOutput.ParseSimulation(AptSamples.Simulation);

        // Then each Inst line gives one package with version, release and architecture; Conf lines are not repeated
        Assert.Equal(["libbrotli1", "libssl3", "librtmp1", "curl", "hello"], installs.Select(i => i.Name));
        Assert.Equal(new SimulatedInstall("hello", "2.10-3", "amd64", "Debian:12.15/oldstable"), installs[^1]);
        Assert.Equal("2.4+20151223.gitfa8646d.1-2+b2", installs[2].Version);
    }

    [Fact]
    public void ParseSimulation_UpgradeAndMultiArch_TakesNewVersionAndBareName()
    {
        // Given an upgrade line with the old version in brackets, an 'all' package and a name:arch line
        var installs = AptOutput.ParseSimulation(AptSamples.SimulationWithUpgrade);

        // Then the new version is taken, and the architecture qualifier leaves the name
        Assert.Equal(new SimulatedInstall("libc6", "2.36-9+deb12u14", "amd64", "Debian-Security:12/oldstable-security"), installs[0]);
        Assert.Equal("all", installs[1].Architecture);
        Assert.Equal(("libfoo1", "i386"), (installs[2].Name, installs[2].Architecture));
    }

    [Fact]
    public void ParseShow_RealStanzas_MapsEachVersionToItsSha256IgnoringContinuationLines()
    {
        // Given apt-cache show output for two packages, one with a description continuation mentioning SHA256:
        var hashes = AptOutput.ParseShow(AptSamples.Show);

        // Then each (name, version, architecture) has the field's hash
        Assert.Equal(2, hashes.Count);
        Assert.Equal("2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a", hashes[("hello", "2.10-3", "amd64")]);
        Assert.Equal("0dd9b6bf7a0bd11af2d68a52ec44c2a223fa7c11f9104c36ce1047e1137d4a8f", hashes[("curl", "7.88.1-10+deb12u15", "amd64")]);
    }

    [Fact]
    public void ParsePolicy_RealOutput_FindsCandidatesAndSecurityOrigin()
    {
        // Given apt-cache policy output where libssl3's candidate comes from bookworm-security and libc6 has an older security version
        var entries = AptOutput.ParsePolicy(AptSamples.Policy).ToDictionary(e => e.Name);

        // Then the candidate of each is read, and only a candidate served from *-security counts as a security update
        Assert.Equal(new PolicyEntry("libssl3", null, "3.0.22-1~deb12u2", true), entries["libssl3"]);
        Assert.Equal(new PolicyEntry("hello", null, "2.10-3", false), entries["hello"]);
        Assert.Equal(new PolicyEntry("libc6", "2.36-9+deb12u14", "2.36-9+deb12u14", false), entries["libc6"]);
    }

    [Fact]
    public void ParseNewestReleaseDate_SeveralReleaseFiles_ReturnsTheNewestAsEpochSeconds()
    {
        // Given the Date: lines of three Release files
        var epoch = AptOutput.ParseNewestReleaseDate(AptSamples.ReleaseDates);

        // Then the newest one is returned in seconds since 1970 (UTC)
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 2, 11, 10, TimeSpan.Zero).ToUnixTimeSeconds(), epoch);
        Assert.Null(AptOutput.ParseNewestReleaseDate("no dates here"));
    }

    [Fact]
    public void ParseDpkgQuery_StatusColumn_KeepsOnlyInstalledPackagesSorted()
    {
        // Given dpkg-query lines including a removed package whose config files remain (rc)
        var installed = AptOutput.ParseDpkgQuery(AptSamples.DpkgQuery);

        // Then only 'ii' packages are returned, sorted by name
        Assert.Equal(["adduser", "apt", "bash"], installed.Select(p => p.Name));
        Assert.Equal(new InstalledPackage("bash", "5.2.15-2+b13", "amd64"), installed[2]);
    }

    [Fact]
    public void ParseMissingVersions_AptError_NamesPackageAndVersion()
    {
        // Given apt's error for a version the mirror does not serve
        // Then the package and version are extracted; an unknown package is recognized too
        Assert.Equal([("hello", "9.9")], AptOutput.ParseMissingVersions(AptSamples.VersionNotFound));
        Assert.Equal(["nosuch"], AptOutput.ParseUnknownPackages("E: Unable to locate package nosuch\n"));
    }
}
