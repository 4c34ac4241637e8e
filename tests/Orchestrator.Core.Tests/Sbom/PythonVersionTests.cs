using Orchestrator.Core.Sbom;

namespace Orchestrator.Core.Tests.Sbom;

public sealed class PythonVersionTests
{
    [Theory]
    [InlineData("1.0", "1.1")]
    [InlineData("1.9", "1.10")]
    [InlineData("1.0.dev1", "1.0a1")]
    [InlineData("1.0a1", "1.0a2")]
    [InlineData("1.0a2", "1.0b1")]
    [InlineData("1.0b1", "1.0rc1")]
    [InlineData("1.0rc1", "1.0")]
    [InlineData("1.0", "1.0.post1")]
    [InlineData("1.0.post1.dev0", "1.0.post1")]
    [InlineData("1.0", "1.0+local")]
    [InlineData("1.0+abc", "1.0+1")]
    [InlineData("2!0.1", "3!0.0")]
    [InlineData("9.9", "1!0.1")]
    [InlineData("2.31.0", "2.32.3")]
    public void Compare_OlderThenNewer_IsNegativeOneWayAndPositiveTheOther(string older, string newer)
    {
        // Given two versions in PEP 440 order, When compared both ways, Then the order holds both ways
        Assert.True(PythonVersion.Compare(older, newer) < 0, $"{older} should sort before {newer}");
        Assert.True(PythonVersion.Compare(newer, older) > 0, $"{newer} should sort after {older}");
    }

    [Theory]
    [InlineData("1.0", "1.0.0")]
    [InlineData("1.0alpha1", "1.0a1")]
    [InlineData("1.0-1", "1.0.post1")]
    [InlineData("1.0C1", "1.0rc1")]
    [InlineData("v1.2", "1.2")]
    public void Compare_SpellingsPep440Normalizes_AreEqual(string left, string right) =>
        Assert.Equal(0, PythonVersion.Compare(left, right));

    [Fact]
    public void Compare_NotAVersion_SortsAfterVersionsAndOrdinallyAmongItself()
    {
        // Given strings PEP 440 does not parse, When compared, Then they are ordered without throwing
        Assert.True(PythonVersion.Compare("1.0", "not a version") < 0);
        Assert.True(PythonVersion.Compare("zzz junk", "aaa junk") > 0);
    }
}
