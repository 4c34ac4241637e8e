using Orchestrator.Core.Locks;

namespace Orchestrator.Core.Tests.Locks;

public sealed class DebianVersionTests
{
    [Theory]
    [InlineData("3.0.22-1~deb12u2", "3.0.20-1~deb12u2", 1)]
    [InlineData("1.0~rc1-1", "1.0-1", -1)]
    [InlineData("1:1.0-1", "2.0-1", 1)]
    [InlineData("2.36-9+deb12u14", "2.36-9+deb12u7", 1)]
    [InlineData("2.10-3", "2.10-3", 0)]
    [InlineData("1.0", "1.0-0", 0)]
    [InlineData("1.0a", "1.0+", -1)]
    [InlineData("1.10", "1.9", 1)]
    public void Compare_DpkgOrdering_MatchesDpkgCompareVersions(string left, string right, int expectedSign)
    {
        // Given two versions whose order dpkg --compare-versions defines
        // When they are compared both ways
        // Then the sign matches dpkg's, and swapping the arguments flips it
        Assert.Equal(expectedSign, Math.Sign(DebianVersion.Compare(left, right)));
        Assert.Equal(-expectedSign, Math.Sign(DebianVersion.Compare(right, left)));
    }
}
