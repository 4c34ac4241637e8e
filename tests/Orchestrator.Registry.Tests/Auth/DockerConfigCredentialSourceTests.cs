using System.Text;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Registry.Auth;

namespace Orchestrator.Registry.Tests.Auth;

/// <summary>docker's config.json: its shapes, host matching as the docker CLI does, helper precedence, and the chain's order.</summary>
public sealed class DockerConfigCredentialSourceTests : IDisposable
{
    private const string Password = "s3cret-pass-word";
    private readonly string _folder = Directory.CreateTempSubdirectory("orchestrator-docker-config-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private Func<string, string?> Environment(IReadOnlyDictionary<string, string>? extra = null) => name =>
        name == "DOCKER_CONFIG" ? _folder : extra?.GetValueOrDefault(name);

    private DockerConfigCredentialSource Source(string json, IReadOnlyDictionary<string, string>? extra = null)
    {
        File.WriteAllText(Path.Combine(_folder, "config.json"), json);
        return new DockerConfigCredentialSource(Environment(extra));
    }

    public static TheoryData<string, string, bool> AuthsKeys => new()
    {
        // auths key, registry host asked for, found
        { "127.0.0.1:5004", "127.0.0.1:5004", true },
        { "https://127.0.0.1:5004", "127.0.0.1:5004", true },
        { "http://127.0.0.1:5004", "127.0.0.1:5004", true },
        { "127.0.0.1:5004/v1/", "127.0.0.1:5004", true },
        { "https://ghcr.io/v2/", "ghcr.io", true },
        { "GHCR.io", "ghcr.io", true },
        { "https://index.docker.io/v1/", "docker.io", true },
        { "https://index.docker.io/v1/", "registry-1.docker.io", true },
        { "index.docker.io", "docker.io", true },
        { "127.0.0.1:5004", "127.0.0.1:5005", false },
        { "127.0.0.1", "127.0.0.1:5004", false },
        { "ghcr.io.evil.test", "ghcr.io", false },
        { "https://index.docker.io/v1/", "quay.io", false },
    };

    [Theory]
    [MemberData(nameof(AuthsKeys))]
    public async Task GetAsync_AuthsKeySpelledAsDockerWritesIt_MatchesTheHostAsDockerDoes(string key, string host, bool found)
    {
        // Given a config.json whose only entry is under the key
        var source = Source($$$$"""{"auths":{"{{{{key}}}}":{"auth":"{{{{Base64("bob:" + Password)}}}}"}}}""");

        // When the credential of the host is asked for
        var credential = await source.GetAsync(new RegistryEndpoint(host, PlainHttp: false));

        // Then it is the entry's, or none
        Assert.Equal(found ? new RegistryCredential("bob", Password) : null, credential);
    }

    public static TheoryData<string, string?, string?, bool> EntryShapes => new()
    {
        // entry JSON, expected username, expected secret, identity token
        { $$"""{"auth":"{{Base64("bob:pa:ss")}}"}""", "bob", "pa:ss", false },
        { """{"username":"carol","password":"pw"}""", "carol", "pw", false },
        { """{"Username":"carol","Password":"pw"}""", "carol", "pw", false },
        { """{"identitytoken":"refresh-xyz"}""", "<token>", "refresh-xyz", true },
        { $$"""{"auth":"{{Base64("dave:pw")}}","identitytoken":"refresh-xyz"}""", "dave", "refresh-xyz", true },
        { "{}", null, null, false },
        { """{"auth":""}""", null, null, false },
    };

    [Theory]
    [MemberData(nameof(EntryShapes))]
    public async Task GetAsync_EntryShape_GivesTheCredentialDockerWould(string entry, string? username, string? secret, bool identity)
    {
        // Given an auths entry of the shape
        var source = Source($$$$"""{"auths":{"reg.test":{{{{entry}}}}}}""");

        // When the credential is asked for
        var credential = await source.GetAsync(new RegistryEndpoint("reg.test", PlainHttp: true));

        // Then it is the one docker would use (an identity token wins over a password)
        Assert.Equal(username is null ? null : new RegistryCredential(username, secret!, identity), credential);
    }

    [Fact]
    public async Task GetAsync_NoConfigFile_GivesNone()
    {
        // Given an empty DOCKER_CONFIG folder
        var source = new DockerConfigCredentialSource(Environment());

        // When / Then: anonymous, and the refusal says how to log in
        Assert.Null(await source.GetAsync(new RegistryEndpoint("reg.test", PlainHttp: true)));
        Assert.Contains("docker login reg.test", source.DescribeRefusal(new RegistryEndpoint("reg.test", PlainHttp: true)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"auths":{"reg.test":{"auth":"not base64!"}}}""", "not base64")]
    [InlineData("""{"auths":{"reg.test":{"auth":"Ym9i"}}}""", "user:password")]
    [InlineData("""{"auths": [1, 2""", "not valid JSON")]
    [InlineData("""{"auths":{"reg.test":{"auth":"x"}}, "credsStore": 3}""", "not valid JSON")]
    public async Task GetAsync_MalformedFile_InputErrorNamesTheFileAndNoValue(string json, string expected)
    {
        // Given a broken config.json
        var source = Source(json);

        // When the credential is asked for
        var error = await Assert.ThrowsAsync<InputException>(() => source.GetAsync(new RegistryEndpoint("reg.test", PlainHttp: true)).AsTask());

        // Then the error names the file and the problem
        Assert.Contains(Path.Combine(_folder, "config.json"), error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DescribeRefusal_AuthsEntry_NamesTheEntryAndFileNeverTheValue()
    {
        // Given an auths entry
        var source = Source($$$$"""{"auths":{"https://reg.test":{"auth":"{{{{Base64("bob:" + Password)}}}}"}}}""");

        // When the refusal is described
        var text = source.DescribeRefusal(new RegistryEndpoint("reg.test", PlainHttp: true));

        // Then it names where the credential came from, not what it is
        Assert.Contains($"the auths entry for https://reg.test in {Path.Combine(_folder, "config.json")}", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Base64("bob:" + Password), text, StringComparison.Ordinal);
    }

    [Fact]
    public void DescribeRefusal_CredHelpersBeforeAuthsBeforeCredsStore_NamesTheOneThatApplies()
    {
        // Given a file with a helper for one host, an auths entry for it and another, and a store for the rest
        var source = Source($$$"""
            {"auths":{"a.test":{"auth":"{{{Base64("bob:pw")}}}"},"b.test":{"auth":"{{{Base64("bob:pw")}}}"}, "c.test":{}},
             "credHelpers":{"a.test":"ecr-login"},"credsStore":"desktop"}
            """);

        // When each host's refusal is described
        string Origin(string host) => source.DescribeRefusal(new RegistryEndpoint(host, PlainHttp: false));

        // Then credHelpers wins, then a filled auths entry, then the store (an empty auths entry defers to it)
        Assert.Contains("docker-credential-ecr-login (credHelpers entry for a.test", Origin("a.test"), StringComparison.Ordinal);
        Assert.Contains("the auths entry for b.test", Origin("b.test"), StringComparison.Ordinal);
        Assert.Contains("docker-credential-desktop (credsStore", Origin("c.test"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAsync_ChainWithVariablesNamed_UsesThemAndNeverDockersCredential()
    {
        // Given a config.json entry for the host and a registry that names variables
        File.WriteAllText(Path.Combine(_folder, "config.json"), $$$$"""{"auths":{"reg.test":{"auth":"{{{{Base64("docker-user:docker-pw")}}}}"}}}""");
        var variables = new Dictionary<string, string> { ["U"] = "env-user", ["P"] = "env-pw" };
        var chain = new RegistryCredentialChain(Environment(variables));
        var named = new RegistryEndpoint("reg.test", PlainHttp: true, UsernameEnv: "U", PasswordEnv: "P");
        var unset = new RegistryEndpoint("reg.test", PlainHttp: true, UsernameEnv: "UNSET_U", PasswordEnv: "UNSET_P");

        // When credentials are asked for with the variables named, unset, and not named
        var fromVariables = await chain.GetAsync(named);
        var error = await Assert.ThrowsAsync<RegistryException>(() => chain.GetAsync(unset).AsTask());
        var fromDocker = await chain.GetAsync(new RegistryEndpoint("reg.test", PlainHttp: true));

        // Then the variables come first, an unset one is an error (no fallback), and docker's entry serves the rest
        Assert.Equal(new RegistryCredential("env-user", "env-pw"), fromVariables);
        Assert.Contains("$UNSET_U and $UNSET_P is not set", error.Message, StringComparison.Ordinal);
        Assert.Equal(new RegistryCredential("docker-user", "docker-pw"), fromDocker);
    }
}
