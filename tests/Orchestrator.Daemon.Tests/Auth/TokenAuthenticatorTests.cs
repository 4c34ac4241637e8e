using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Daemon.Auth;

namespace Orchestrator.Daemon.Tests.Auth;

public sealed class TokenAuthenticatorTests
{
    private static readonly Dictionary<string, string> Environment = new(StringComparer.Ordinal)
    {
        ["A"] = "secret-a",
        ["B"] = "secret-b",
        ["EMPTY"] = string.Empty,
    };

    private static TokenAuthenticator Create() => new(
        [
            new TokenDefinition("a", "A", ["read"]),
            new TokenDefinition("b", "B", ["read", "build"]),
            new TokenDefinition("empty", "EMPTY", ["read"]),
            new TokenDefinition("missing", "MISSING", ["read"]),
        ],
        name => Environment.GetValueOrDefault(name),
        NullLogger.Instance);

    [Theory]
    [InlineData("Bearer secret-a", "a")]
    [InlineData("bearer secret-b", "b")]
    [InlineData("Bearer  secret-b ", "b")]
    public void Authenticate_KnownSecret_ReturnsItsTokenAndRoles(string header, string expected)
    {
        // Given tokens a and b enabled
        // When a header with one of their secrets is presented
        var caller = Create().Authenticate(header);

        // Then that token is the caller
        Assert.NotNull(caller);
        Assert.Equal(expected, caller.Name);
        Assert.True(caller.Has("read"));
        Assert.Equal(expected == "b", caller.Has("build"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Basic c2VjcmV0LWE=")]
    [InlineData("secret-a")]
    [InlineData("Bearer ")]
    [InlineData("Bearer secret-A")]
    [InlineData("Bearer secret-a-and-more")]
    public void Authenticate_AnythingElse_ReturnsNull(string? header)
    {
        Assert.Null(Create().Authenticate(header));
    }

    [Fact]
    public void Create_TokensWithUnsetOrEmptyVariables_AreDisabled()
    {
        // Given four tokens, two of whose variables are empty or unset
        // Then only two are usable
        Assert.Equal(2, Create().EnabledCount);
    }
}
