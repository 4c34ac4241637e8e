using System.Text;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Registry.Auth;

namespace Orchestrator.Registry.Tests.Auth;

/// <summary>The engine's pull credentials come from the registry client's own chain: what docker login left reaches X-Registry-Auth.</summary>
public sealed class EngineCredentialSourceTests : IDisposable
{
    private const string Host = "127.0.0.1:5004";
    private readonly string _folder = Directory.CreateTempSubdirectory("orchestrator-engine-creds-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private EngineCredentialSource Source(string configJson, IReadOnlyDictionary<string, string>? variables = null)
    {
        File.WriteAllText(Path.Combine(_folder, "config.json"), configJson);
        return new EngineCredentialSource(new RegistryCredentialChain(name => name == "DOCKER_CONFIG" ? _folder : variables?.GetValueOrDefault(name)));
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    [Fact]
    public async Task GetAsync_AuthsEntryInDockerConfig_GivesItsUsernameAndPassword()
    {
        // Given docker login's auths entry for the registry
        var source = Source($$"""{ "auths": { "{{Host}}": { "auth": "{{Base64("alice:pull-secret")}}" } } }""");

        // When the engine's credentials for the registry are asked
        var credentials = await source.GetAsync(new RegistryEndpoint(Host, PlainHttp: false));

        // Then they are that entry's, as username and password, with no identity token
        Assert.NotNull(credentials);
        Assert.Equal("alice", credentials.Username);
        Assert.Equal("pull-secret", credentials.Password);
        Assert.Null(credentials.IdentityToken);
    }

    [Fact]
    public async Task GetAsync_IdentityTokenInDockerConfig_GivesTheTokenAloneForTheEngineToExchange()
    {
        // Given an identitytoken entry (what a registry's OAuth login leaves)
        var source = Source($$"""{ "auths": { "https://{{Host}}": { "identitytoken": "refresh-abc" } } }""");

        // When the engine's credentials are asked
        var credentials = await source.GetAsync(new RegistryEndpoint(Host, PlainHttp: false));

        // Then the token travels as the identity token, never as a password
        Assert.NotNull(credentials);
        Assert.Equal("refresh-abc", credentials.IdentityToken);
        Assert.Empty(credentials.Password);
        Assert.DoesNotContain("refresh-abc", credentials.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAsync_RegistryNamesVariables_UsesThemAndNotDockerConfig()
    {
        // Given a registry naming its variables, and a docker login for the same host
        var source = Source(
            $$"""{ "auths": { "{{Host}}": { "auth": "{{Base64("someone:else")}}" } } }""",
            new Dictionary<string, string> { ["CI_USER"] = "ci", ["CI_PASSWORD"] = "ci-secret" });

        // When the engine's credentials are asked
        var credentials = await source.GetAsync(new RegistryEndpoint(Host, PlainHttp: false, "CI_USER", "CI_PASSWORD"));

        // Then the variables win, as for the registry client
        Assert.Equal(("ci", "ci-secret"), (credentials!.Username, credentials.Password));
    }

    [Fact]
    public async Task GetAsync_NothingForTheHost_IsAnonymous()
    {
        var source = Source("""{ "auths": { "ghcr.io": { "auth": "eDp5" } } }""");

        Assert.Null(await source.GetAsync(new RegistryEndpoint(Host, PlainHttp: false)));
    }

    [Fact]
    public async Task GetAsync_NamedVariableUnset_ThrowsNamingTheVariable()
    {
        var source = Source("{}");

        var error = await Assert.ThrowsAsync<RegistryException>(() => source.GetAsync(new RegistryEndpoint(Host, PlainHttp: false, "CI_USER", "CI_PASSWORD")).AsTask());

        Assert.Contains("$CI_USER", error.Message, StringComparison.Ordinal);
    }
}
