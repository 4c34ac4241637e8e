using System.Diagnostics;
using System.Text;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ProcessWitness;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Issue 13's "done when": a stage pointed at a TLS registry with token auth, with the credential <c>docker login</c>
/// left, and <c>orchestrator run</c> (build, validate, promote; the CLI binary as its own process) goes through. The
/// registry is scripts/setup-token-registry's (https://127.0.0.1:5004, test CA, token server on 127.0.0.1:5005); the
/// outcome is read back with skopeo using its own credentials.
/// </summary>
[Collection(RealPartsCollection.Name)]
[Trait("Category", "Integration")]
public sealed class FieldRegistryRunTests(RealPartsFixture fixture) : IDisposable
{
    private const string TokenRegistry = "127.0.0.1:5004";
    private const string User = "alice";
    private const string Password = "alice-token-password";

    private readonly string _dockerConfig = Directory.CreateTempSubdirectory("orchestrator-field-docker-").FullName;
    private readonly List<string> _promoted = [];

    // The registry serves TLS with the test CA's server certificate: trusted through ca-file, as a private CA is.
    private static string CaFile => TestWorkspace.PkiFile("ca.crt");

    public void Dispose()
    {
        foreach (var reference in _promoted)
        {
            RunAsync("skopeo", "delete", "--tls-verify=false", "--creds", $"{User}:{Password}", $"docker://{reference}").GetAwaiter().GetResult();
        }

        Directory.Delete(_dockerConfig, recursive: true);
    }

    [Fact]
    public async Task Run_ProductionIsTlsTokenRegistryWithDockerLoginCredential_GoesThroughAndSkopeoReadsTheDigest()
    {
        // Given a locked pipeline, a config whose production is the TLS token registry (trusted through ca-file, no
        // credential named), and docker's config.json holding the auths entry docker login writes for it
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-field");
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);
        var config = Path.Combine(fixture.Workspace.Root, "orchestrator-field.yaml");
        await File.WriteAllTextAsync(config, $$"""
            engine:
              endpoint: unix:///var/run/docker.sock
            stages: [staging, production]
            registries:
              staging: { url: http://{{TestWorkspace.Staging}} }
              production: { url: https://{{TokenRegistry}}, ca-file: {{CaFile}} }
            state:
              path: state/state.db
            paths:
              work: work
            """);
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}"));
        await File.WriteAllTextAsync(Path.Combine(_dockerConfig, "config.json"), $$"""{ "auths": { "{{TokenRegistry}}": { "auth": "{{auth}}" } } }""");

        // When it runs through every stage
        var run = await RunCliAsync(config, "run", name, "--json");

        // Then it went through, printing the production reference pinned by digest
        Assert.True(run.ExitCode == 0, run.ToString());
        var digest = run.Json.GetProperty("digest").GetString()!;
        _promoted.Add($"{TokenRegistry}/{repository}@{digest}");
        Assert.Equal($"{TokenRegistry}/{repository}@{digest}", run.Json.GetProperty("reference").GetString());

        // And skopeo, with its own credentials, reads the same digest for the tag in staging and in the token registry
        Assert.Equal(digest, await SkopeoDigestAsync($"{TestWorkspace.Staging}/{repository}:1.0.0"));
        var production = await RunAsync("skopeo", "inspect", "--tls-verify=false", "--creds", $"{User}:{Password}", "--format", "{{.Digest}}", $"docker://{TokenRegistry}/{repository}:1.0.0");
        Assert.True(production.ExitCode == 0, production.Stderr);
        Assert.Equal(digest, production.Stdout.Trim());

        // And the password, in no form, is in what the CLI printed
        foreach (var form in new[] { Password, auth })
        {
            Assert.DoesNotContain(form, run.Stdout + run.Stderr, StringComparison.Ordinal);
        }
    }

    private async Task<CliRunner.Result> RunCliAsync(string config, params string[] arguments)
    {
        var start = CliBinary.StartInfo([.. arguments, "--config", config]);
        start.WorkingDirectory = fixture.Workspace.Root;
        start.Environment.Remove("ORCHESTRATOR_URL");
        start.Environment["DOCKER_CONFIG"] = _dockerConfig;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the CLI");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        return new CliRunner.Result(process.ExitCode, await stdout, await stderr);
    }
}
