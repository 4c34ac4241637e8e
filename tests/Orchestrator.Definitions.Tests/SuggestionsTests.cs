using Orchestrator.Definitions.Yaml;

namespace Orchestrator.Definitions.Tests;

public sealed class SuggestionsTests
{
    [Theory]
    [InlineData("entrypiont", "entrypoint")]
    [InlineData("reposity", "repository")]
    [InlineData("prod", "production")]
    [InlineData("expect_stdout", "expect-stdout")]
    public void Closest_Typo_SuggestsIntendedKey(string typo, string expected)
    {
        // Given known keys
        string[] known = ["entrypoint", "repository", "production", "expect-stdout", "expect-stderr", "version"];

        // When the closest is looked up
        var closest = Suggestions.Closest(typo, known);

        // Then the intended key is suggested
        Assert.Equal(expected, closest);
    }

    [Fact]
    public void Closest_NothingClose_SuggestsNothing()
    {
        // Given a word unlike every known key
        // When the closest is looked up
        var closest = Suggestions.Closest("zzzzzz", ["name", "version", "base"]);

        // Then there is no suggestion, rather than a misleading one
        Assert.Null(closest);
    }

    [Fact]
    public void Distance_Transposition_CountsAsOneEdit()
    {
        // Given two words differing by one swap of adjacent letters
        // When measured
        var distance = Suggestions.Distance("slmi", "slim");

        // Then it is one edit
        Assert.Equal(1, distance);
    }
}
