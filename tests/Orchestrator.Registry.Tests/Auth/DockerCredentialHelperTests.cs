using System.Text;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Registry.Auth;

namespace Orchestrator.Registry.Tests.Auth;

/// <summary>The docker-credential-helpers protocol against real helper scripts put on a PATH given to the source.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DockerCredentialHelperTests : IDisposable
{
    private const string Secret = "helper-secret-value-42";
    private readonly string _config = Directory.CreateTempSubdirectory("orchestrator-helper-config-").FullName;
    private readonly string _bin = Directory.CreateTempSubdirectory("orchestrator-helper-bin-").FullName;

    public void Dispose()
    {
        Directory.Delete(_config, recursive: true);
        Directory.Delete(_bin, recursive: true);
    }

    // A helper named docker-credential-NAME whose body is a shell script; it records the server URL it was asked for.
    private void Helper(string name, string body) =>
        File.WriteAllText(Path.Combine(_bin, "docker-credential-" + name), "#!/bin/sh\n" + body + "\n", Encoding.ASCII);

    private DockerConfigCredentialSource Source(string json, TimeSpan? timeout = null)
    {
        File.WriteAllText(Path.Combine(_config, "config.json"), json);
        foreach (var file in Directory.GetFiles(_bin))
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return new DockerConfigCredentialSource(name => name switch
        {
            "DOCKER_CONFIG" => _config,
            "PATH" => "/nonexistent-folder:" + _bin,
            _ => null,
        }, timeout);
    }

    private static readonly RegistryEndpoint Registry = new("reg.test:5000", PlainHttp: false);

    [Fact]
    public async Task GetAsync_CredHelperAnswers_GivesItsCredentialAndAskedForTheHost()
    {
        // Given a helper that answers for whatever it is asked and writes down the question
        Helper("ittest", $$"""
            [ "$1" = get ] || exit 3
            read url; printf '%s' "$url" > "{{_bin}}/asked"
            printf '{"ServerURL":"%s","Username":"bob","Secret":"{{Secret}}"}' "$url"
            """);
        var source = Source("""{"credHelpers":{"reg.test:5000":"ittest"}}""");

        // When the credential is asked for
        var credential = await source.GetAsync(Registry);

        // Then it is the helper's, asked with 'get' and the host on standard input
        Assert.Equal(new RegistryCredential("bob", Secret), credential);
        Assert.Equal("reg.test:5000", File.ReadAllText(Path.Combine(_bin, "asked")));
    }

    [Fact]
    public async Task GetAsync_HelperUsernameIsTokenMarker_GivesAnIdentityToken()
    {
        // Given a store helper that holds an identity token
        Helper("store", $$"""read url; echo '{"ServerURL":"x","Username":"<token>","Secret":"{{Secret}}"}'""");
        var source = Source("""{"credsStore":"store"}""");

        // When / Then
        Assert.Equal(new RegistryCredential("<token>", Secret, IsIdentityToken: true), await source.GetAsync(Registry));
    }

    [Fact]
    public async Task GetAsync_HelperSaysCredentialsNotFound_GivesNone()
    {
        // Given a helper without an entry (the protocol: exit 1, "credentials not found in native keychain" on stdout)
        Helper("store", "read url; echo 'credentials not found in native keychain'; exit 1");
        var source = Source("""{"credsStore":"store"}""");

        // When / Then: anonymous
        Assert.Null(await source.GetAsync(Registry));
    }

    [Fact]
    public async Task GetAsync_HelperFails_ErrorNamesHelperAndExitButNotItsOutput()
    {
        // Given a helper that fails and prints a secret on both streams
        Helper("store", $"read url; echo 'boom {Secret}'; echo 'stderr {Secret}' >&2; exit 7");
        var source = Source("""{"credsStore":"store"}""");

        // When the credential is asked for
        var error = await Assert.ThrowsAsync<RegistryException>(() => source.GetAsync(Registry).AsTask());

        // Then the error names the helper and its exit code, never what it printed
        Assert.Contains("docker-credential-store get failed (exit 7)", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAsync_HelperHangs_KilledAfterTheTimeoutWithAClearError()
    {
        // Given a helper that never answers
        Helper("slow", "sleep 30");
        var source = Source("""{"credHelpers":{"reg.test:5000":"slow"}}""", TimeSpan.FromMilliseconds(500));

        // When the credential is asked for
        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<RegistryException>(() => source.GetAsync(Registry).AsTask());

        // Then it gave up soon, saying so
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
        Assert.Contains("docker-credential-slow did not answer within", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("read url; echo 'not json'", "not JSON")]
    [InlineData("""read url; echo '{"Secret":"x"}'""", "without a Username")]
    public async Task GetAsync_HelperBreaksProtocol_ClearError(string body, string expected)
    {
        // Given a helper that answers outside the protocol
        Helper("odd", body);
        var source = Source("""{"credsStore":"odd"}""");

        // When / Then
        var error = await Assert.ThrowsAsync<RegistryException>(() => source.GetAsync(Registry).AsTask());
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAsync_HelperNotOnPath_ErrorSaysInstallOrRemove()
    {
        // Given a store nobody installed
        var source = Source("""{"credsStore":"desktop"}""");

        // When / Then
        var error = await Assert.ThrowsAsync<RegistryException>(() => source.GetAsync(Registry).AsTask());
        Assert.Contains($"docker-credential-desktop is not on PATH (named by the credsStore in {Path.Combine(_config, "config.json")})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAsync_DockerHub_AsksTheHelperForTheIndexServerAddress()
    {
        // Given a helper for Docker Hub
        Helper("hub", $$"""read url; printf '%s' "$url" > "{{_bin}}/asked"; echo '{"Username":"bob","Secret":"x"}'""");
        var source = Source("""{"credHelpers":{"https://index.docker.io/v1/":"hub"}}""");

        // When docker.io's credential is asked for
        await source.GetAsync(new RegistryEndpoint("docker.io", PlainHttp: false));

        // Then the helper was asked for the server address docker uses for the Hub
        Assert.Equal("https://index.docker.io/v1/", File.ReadAllText(Path.Combine(_bin, "asked")));
    }
}
