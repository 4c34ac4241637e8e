using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Registry;
using Orchestrator.Registry.Tests;
using Orchestrator.State;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// <c>orchestrator promote</c> (the CLI as its own process) from the plain staging registry to the token-auth registry
/// of scripts/setup-token-registry (https://127.0.0.1:5004 with the test CA, token server 127.0.0.1:5005) as production, with the credential from
/// each place Orchestrator reads one: username-env/password-env, a config.json auths entry, an identity token in
/// config.json, a credential helper on PATH. Each wrong secret fails with its own error and tags nothing; the promoted
/// digest is checked with skopeo; no secret (nor its base64) shows in output, logs or the state store's bytes.
/// </summary>
[Trait("Category", "Integration")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class TokenRegistryTests : IDisposable
{
    private const string Staging = "127.0.0.1:5001";
    private const string TokenRegistry = "127.0.0.1:5004";
    private const string TokenRealm = "http://127.0.0.1:5005/token";

    // The registry serves TLS with the test CA's server certificate: trusted through ca-file, as a private CA is.
    private static string CaFile => TestWorkspace.PkiFile("ca.crt");
    private const string User = "alice";
    private const string Password = "alice-token-password";
    private const string Tag = "1.0.0";

    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-token-it-").FullName;
    private readonly string _repository = $"it-token-{Guid.NewGuid().ToString("N")[..8]}/app";
    private readonly List<string> _secrets = [];

    public enum CredentialPath { UsernameEnv, DockerConfigAuths, IdentityToken, CredentialHelper }

    public void Dispose()
    {
        Skopeo("delete", "--tls-verify=false", "--creds", $"{User}:{Password}", $"docker://{TokenRegistry}/{_repository}:{Tag}");
        Skopeo("delete", "--tls-verify=false", $"docker://{Staging}/{_repository}:{Tag}");
        Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData(CredentialPath.UsernameEnv)]
    [InlineData(CredentialPath.DockerConfigAuths)]
    [InlineData(CredentialPath.IdentityToken)]
    [InlineData(CredentialPath.CredentialHelper)]
    public async Task Promote_ToTokenRegistry_WrongSecretRefusedAndTagsNothingThenRightSecretTagsTheDigestAndNoSecretLeaks(CredentialPath path)
    {
        // Given a validated image in staging and a workspace whose production is the token registry
        var digest = await SeedAsync(usernameEnv: path == CredentialPath.UsernameEnv);
        var rightSecret = path == CredentialPath.IdentityToken ? await OfflineTokenAsync(User, Password) : Password;
        var wrongSecret = path == CredentialPath.IdentityToken ? "not-a-refresh-token-" + Guid.NewGuid().ToString("N") : "wrong-" + Guid.NewGuid().ToString("N");
        _secrets.AddRange([rightSecret, wrongSecret]);

        // When it is promoted with the wrong secret, then with the right one, each from the credential path
        var refused = await PromoteAsync(digest, Credentials(path, User, wrongSecret));
        var taggedAfterRefusal = Skopeo("inspect", "--tls-verify=false", "--creds", $"{User}:{Password}", $"docker://{TokenRegistry}/{_repository}:{Tag}");
        var promoted = await PromoteAsync(digest, Credentials(path, User, rightSecret));

        // Then the wrong secret failed with the token service's refusal, naming where the credential came from, tagging nothing
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains(path == CredentialPath.IdentityToken ? "refused the identity token" : "refused the credentials", refused.Stderr + refused.Stdout, StringComparison.Ordinal);
        Assert.Contains(ExpectedOrigin(path), refused.Stderr + refused.Stdout, StringComparison.Ordinal);
        Assert.NotEqual(0, taggedAfterRefusal.ExitCode);

        // And the right one tagged the digest in the token registry, as skopeo sees it with its own credentials
        Assert.True(promoted.ExitCode == 0, promoted.ToString());
        var inspected = Skopeo("inspect", "--tls-verify=false", "--format", "{{.Digest}}", "--creds", $"{User}:{Password}", $"docker://{TokenRegistry}/{_repository}:{Tag}");
        Assert.True(inspected.ExitCode == 0, inspected.ToString());
        Assert.Equal(digest.ToString(), inspected.Stdout.Trim());

        // And no secret, nor its base64 forms, is in the output, the log files or the state store's bytes
        AssertNoSecretIn(("the failing promote's output", refused.Stdout + refused.Stderr), ("the succeeding promote's output", promoted.Stdout + promoted.Stderr));
        AssertNoSecretInFiles();
    }

    [Fact]
    public async Task Promote_TokenServerIssuesExpiredTokens_ExpiredOrInvalidTokenErrorAndNothingTagged()
    {
        // Given the token server's "expired" user, whose tokens ended before they were issued
        var digest = await SeedAsync(usernameEnv: true);

        // When it is promoted with that user's (right) password
        var result = await PromoteAsync(digest, Credentials(CredentialPath.UsernameEnv, "expired", "expired-token-password"));

        // Then the error blames the token, not the password, and production has no tag
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"{TokenRegistry} refused the token from {TokenRealm}: expired or invalid", result.Stderr + result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("refused the credentials", result.Stderr + result.Stdout, StringComparison.Ordinal);
        Assert.NotEqual(0, Skopeo("inspect", "--tls-verify=false", "--creds", $"{User}:{Password}", $"docker://{TokenRegistry}/{_repository}:{Tag}").ExitCode);
    }

    [Fact]
    public async Task Promote_NoCredentialAnywhere_ErrorSaysHowToProvideOne()
    {
        // Given no variables, an empty DOCKER_CONFIG and no helper
        var digest = await SeedAsync(usernameEnv: false);

        // When it is promoted
        var result = await PromoteAsync(digest, new Dictionary<string, string> { ["DOCKER_CONFIG"] = Folder("empty-docker-config") });

        // Then the error says the registry needs credentials and how to give them
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"{TokenRegistry} requires credentials", result.Stderr + result.Stdout, StringComparison.Ordinal);
        Assert.Contains($"docker login {TokenRegistry}", result.Stderr + result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promote_ThroughTheDaemonWithDockerConfig_JobRecordsAndDaemonOutputHoldNoSecret()
    {
        // Given a daemon over the workspace whose DOCKER_CONFIG has a wrong secret for the token registry
        var digest = await SeedAsync(usernameEnv: false);
        var config = Path.Combine(_root, "orchestrator.yaml");
        await File.AppendAllTextAsync(config, DaemonProcess.DaemonSection());
        var wrongSecret = "wrong-" + Guid.NewGuid().ToString("N");
        _secrets.AddRange([Password, wrongSecret]);
        // (the right one while it starts: its health check pings every stage's registry, and a refused token fails it)
        var environment = Credentials(CredentialPath.DockerConfigAuths, User, Password);
        await using var daemon = new DaemonProcess(config);
        daemon.Environment["DOCKER_CONFIG"] = environment["DOCKER_CONFIG"];
        await daemon.StartAsync();
        Credentials(CredentialPath.DockerConfigAuths, User, wrongSecret);
        string[] remote = ["--server", daemon.Url, "--token-env", DaemonProcess.AdminSecretEnv, "--json"];
        var client = new Dictionary<string, string> { [DaemonProcess.AdminSecretEnv] = DaemonProcess.AdminSecret };

        // When a promotion fails with it, the entry is corrected (config.json is read on each use) and it is promoted again
        var refused = await PromoteAsync(digest, client, remote);
        Credentials(CredentialPath.DockerConfigAuths, User, Password);
        var promoted = await PromoteAsync(digest, client, remote);
        var jobs = await CliAsync(["jobs", .. remote], client);
        var shown = new List<CliRunner.Result>();
        foreach (var job in jobs.Json.GetProperty("jobs").EnumerateArray())
        {
            shown.Add(await CliAsync(["job", job.GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), .. remote], client));
        }

        // Then the daemon's jobs failed and succeeded as they should
        Assert.NotEqual(0, refused.ExitCode);
        Assert.True(promoted.ExitCode == 0, promoted.ToString());
        Assert.Equal(2, shown.Count);
        Assert.All(shown, s => Assert.Equal(0, s.ExitCode));
        Assert.Contains(shown, s => s.Stdout.Contains("refused the credential", StringComparison.Ordinal));

        // And no secret is in the client's output, the job records (list and each job with its log), the daemon's output or the files
        AssertNoSecretIn(
            ("the failing promote's output", refused.Stdout + refused.Stderr),
            ("the succeeding promote's output", promoted.Stdout + promoted.Stderr),
            ("orchestrator jobs --json", jobs.Stdout + jobs.Stderr),
            ("orchestrator job ID --json", string.Concat(shown.Select(s => s.Stdout + s.Stderr))),
            ("the daemon's output", daemon.Output));
        AssertNoSecretInFiles();
    }

    private string ExpectedOrigin(CredentialPath path) => path switch
    {
        CredentialPath.UsernameEnv => "$IT_TOKEN_USER/$IT_TOKEN_PASSWORD",
        CredentialPath.DockerConfigAuths => $"the auths entry for {TokenRegistry} in {Path.Combine(_root, "docker", "config.json")}",
        CredentialPath.IdentityToken => $"the identity token of the auths entry for https://{TokenRegistry} in {Path.Combine(_root, "docker", "config.json")}",
        _ => "docker-credential-ittest (credHelpers entry",
    };

    // The environment the CLI runs with for the credential path; files (config.json, the helper) are written under the workspace.
    private Dictionary<string, string> Credentials(CredentialPath path, string user, string secret)
    {
        var docker = Folder("docker");
        var environment = new Dictionary<string, string> { ["DOCKER_CONFIG"] = docker };
        switch (path)
        {
            case CredentialPath.UsernameEnv:
                environment["IT_TOKEN_USER"] = user;
                environment["IT_TOKEN_PASSWORD"] = secret;
                File.WriteAllText(Path.Combine(docker, "config.json"), "{}");
                break;
            case CredentialPath.DockerConfigAuths:
                File.WriteAllText(Path.Combine(docker, "config.json"), $$$$"""{"auths":{"{{{{TokenRegistry}}}}":{"auth":"{{{{Base64($"{user}:{secret}")}}}}"}}}""");
                break;
            case CredentialPath.IdentityToken:
                File.WriteAllText(Path.Combine(docker, "config.json"), $$$$"""{"auths":{"https://{{{{TokenRegistry}}}}":{"auth":"","identitytoken":"{{{{secret}}}}"}}}""");
                break;
            case CredentialPath.CredentialHelper:
                var bin = Folder("bin");
                var helper = Path.Combine(bin, "docker-credential-ittest");
                File.WriteAllText(helper, $$"""
                    #!/bin/sh
                    [ "$1" = get ] || exit 1
                    read url
                    [ "$url" = "{{TokenRegistry}}" ] || { echo "credentials not found in native keychain"; exit 1; }
                    printf '{"ServerURL":"%s","Username":"{{user}}","Secret":"{{secret}}"}\n' "$url"
                    """);
                File.SetUnixFileMode(helper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                File.WriteAllText(Path.Combine(docker, "config.json"), $$$"""{"credHelpers":{"{{{TokenRegistry}}}":"ittest"}}""");
                environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
                break;
        }

        return environment;
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private string Folder(string name) => Directory.CreateDirectory(Path.Combine(_root, name)).FullName;

    // A refresh token from the token server (GET realm?offline_token=true with Basic), as docker login keeps it as identitytoken.
    private static async Task<string> OfflineTokenAsync(string user, string password)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{TokenRealm}?service={TokenRegistry}&offline_token=true&client_id=orchestrator-tests");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Base64($"{user}:{password}"));
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("refresh_token").GetString()!;
    }

    // Pushes a small synthetic image to staging, writes the workspace, and records a passing validation (the promotion gate).
    private async Task<Digest> SeedAsync(bool usernameEnv)
    {
        using var factory = new RegistryClientFactory();
        var client = factory.Create(new RegistryEndpoint(Staging, PlainHttp: true));
        var layer = RandomNumberGenerator.GetBytes(2048);
        var layerDigest = Digest.Sha256Of(layer);
        await client.UploadBlobAsync(_repository, layerDigest, layer.Length, new MemoryStream(layer));
        var config = SyntheticManifest.Config("amd64", [layerDigest]);
        var configDigest = Digest.Sha256Of(config);
        await client.UploadBlobAsync(_repository, configDigest, config.Length, new MemoryStream(config));
        var manifest = SyntheticManifest.Manifest(docker: false, configDigest, config.Length, [(layerDigest, layer.Length)]);
        var digest = await client.PutManifestAsync(_repository, Tag, manifest, MediaTypes.OciManifest);

        var production = usernameEnv
            ? $"{{ url: https://{TokenRegistry}, ca-file: {CaFile}, username-env: IT_TOKEN_USER, password-env: IT_TOKEN_PASSWORD }}"
            : $"{{ url: https://{TokenRegistry}, ca-file: {CaFile} }}";
        Directory.CreateDirectory(Path.Combine(_root, "base-images"));
        Directory.CreateDirectory(Path.Combine(_root, "pipelines"));
        await File.WriteAllTextAsync(Path.Combine(_root, "orchestrator.yaml"), $"""
            stages: [staging, production]
            registries:
              staging: {"{"} url: http://{Staging} {"}"}
              production: {production}
            state:
              path: state/state.db
            """);
        await File.WriteAllTextAsync(Path.Combine(_root, "base-images", "deb.yaml"), """
            repository: base/deb
            default-variant: slim
            suite: bookworm
            variants:
              slim: { debootstrap-variant: minbase, slim: true }
            """);
        await File.WriteAllTextAsync(Path.Combine(_root, "pipelines", "app.yaml"), $"""
            name: app
            version: {Tag}
            base: deb/slim
            repository: {_repository}
            tags: ["{Tag}"]
            """);
        Directory.CreateDirectory(Path.Combine(_root, "state"));
        await using var state = new SqliteStateStore(Path.Combine(_root, "state", "state.db"));
        await state.InitializeAsync();
        await state.RecordValidationAsync(new ValidationRecord(
            0, "app", "staging", ImageReference.Create(Staging, _repository, digest: digest), true,
            [new TestResult("command", "seeded by the token registry tests", true, "exit 0", TimeSpan.Zero)], "token-it", DateTimeOffset.UtcNow, TimeSpan.Zero));
        return digest;
    }

    private Task<CliRunner.Result> PromoteAsync(Digest digest, IReadOnlyDictionary<string, string> environment, string[]? extra = null) =>
        CliAsync(["promote", "app", "--digest", digest.ToString(), "--to", "production", .. extra ?? ["--json"]], environment);

    private async Task<CliRunner.Result> CliAsync(string[] arguments, IReadOnlyDictionary<string, string> environment)
    {
        var start = CliBinary.StartInfo([.. arguments, "--config", Path.Combine(_root, "orchestrator.yaml")]);
        start.WorkingDirectory = _root;
        start.Environment.Remove("ORCHESTRATOR_URL");
        start.Environment.Remove("DOCKER_CONFIG");
        start.Environment["ORCHESTRATOR_ACTOR"] = "token-it";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the CLI");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new CliRunner.Result(process.ExitCode, await stdout, await stderr);
    }

    private static CliRunner.Result Skopeo(params string[] arguments)
    {
        var start = new ProcessStartInfo("skopeo") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return new CliRunner.Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    // Each secret as it could leak: plain, base64 alone, and base64 of user:secret (a Basic header or an auths entry).
    private IEnumerable<string> Forms() => _secrets.SelectMany(s => new[] { s, Base64(s), Base64($"{User}:{s}") });

    private void AssertNoSecretIn(params (string Where, string Text)[] texts)
    {
        foreach (var (where, text) in texts)
        {
            foreach (var form in Forms())
            {
                Assert.False(text.Contains(form, StringComparison.Ordinal), $"a secret (or its base64) is in {where}");
            }
        }
    }

    private void AssertNoSecretInFiles()
    {
        var state = Path.Combine(_root, "state");
        var files = Directory.GetFiles(state, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => f.EndsWith("state.db", StringComparison.Ordinal));
        Assert.Contains(files, f => f.Contains(Path.Combine(state, "logs"), StringComparison.Ordinal));
        // The daemon's lock file (empty, held exclusively while it runs) is the one file not read.
        foreach (var file in files.Where(f => !f.EndsWith(".daemon.lock", StringComparison.Ordinal)))
        {
            // Shared read: a running daemon keeps the state store (and its WAL) open.
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var bytes = new MemoryStream();
            stream.CopyTo(bytes);
            // Bytes read as Latin-1 so every byte maps to one char: the SQLite pages (job records included) are searched as they are.
            AssertNoSecretIn((file, Encoding.Latin1.GetString(bytes.ToArray())));
        }
    }
}
