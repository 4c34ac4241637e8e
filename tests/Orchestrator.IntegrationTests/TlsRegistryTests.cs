using System.Diagnostics;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ProcessWitness;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Promotion from the plain staging registry (127.0.0.1:5001) to the registry over TLS with htpasswd basic auth that
/// scripts/setup-tls-registry runs on 127.0.0.1:5003 (server certificate of the test CA in .orchestrator/pki), through
/// the CLI as its own process; what production holds is read back with skopeo, trusting the CA through its own
/// --cert-dir. Each failure (untrusted certificate, wrong password) exits non-zero with its own message and tags nothing.
/// </summary>
[Collection(RealPartsCollection.Name)]
[Trait("Category", "Integration")]
public sealed class TlsRegistryTests(RealPartsFixture fixture) : IDisposable
{
    private const string TlsRegistry = "127.0.0.1:5003";
    private const string User = "orchestrator";

    // The fixed throwaway password scripts/setup-tls-registry gives this loopback test registry.
    private const string Password = "tls-test-password";

    private readonly string _scratch = Directory.CreateTempSubdirectory("orchestrator-tls-it-").FullName;

    private static string Pki => Path.GetDirectoryName(TestWorkspace.PkiFile("ca.crt"))!;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public async Task Promote_ToTlsRegistry_CertsDirAndCaFileWorkFailuresSayWhyAndTagNothing()
    {
        // Given a built and validated digest in staging
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-tls");
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);
        var build = await CliRunner.RunAsync(fixture.Workspace.ConfigPath, "build", name, "--json");
        Assert.True(build.ExitCode == 0, build.ToString());
        var digest = build.Json.GetProperty("digest").GetString()!;
        var validation = await CliRunner.RunAsync(fixture.Workspace.ConfigPath, "validate", name, "--digest", digest);
        Assert.True(validation.ExitCode == 0, validation.ToString());
        var witnessCerts = CertsDir("witness", withCa: true);
        var emptyCertsD = Directory.CreateDirectory(Path.Combine(_scratch, "empty-certs.d")).FullName;
        try
        {
            // When promoted to the TLS registry without a CA for it, Then it fails naming the host, the check and the fixes
            var untrusted = await PromoteAsync(Config("untrusted", caFile: null), name, digest, Password, emptyCertsD);
            Assert.True(untrusted.ExitCode != 0, untrusted.ToString());
            Assert.Contains($"TLS to registry {TlsRegistry} failed", untrusted.Stderr, StringComparison.Ordinal);
            Assert.Contains("not trusted (trusted: the system trust store)", untrusted.Stderr, StringComparison.Ordinal);
            Assert.Contains("'ca-file:'", untrusted.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("The SSL connection could not be established", untrusted.Stderr, StringComparison.Ordinal);

            // When ca-file names a CA that did not sign the registry's certificate, Then it is untrusted, naming that file
            var otherCa = Path.Combine(Pki, "other-ca.crt");
            var wrongCa = await PromoteAsync(Config("other-ca", caFile: otherCa), name, digest, Password, emptyCertsD);
            Assert.True(wrongCa.ExitCode != 0, wrongCa.ToString());
            Assert.Contains($"ca-file {otherCa}", wrongCa.Stderr, StringComparison.Ordinal);
            Assert.Contains("not trusted", wrongCa.Stderr, StringComparison.Ordinal);

            // When the password is wrong, Then it fails as unauthorized, without the password in any output
            var caFile = Path.Combine(Pki, "ca.crt");
            var wrongPassword = await PromoteAsync(Config("ca-file", caFile), name, digest, "not-the-password", emptyCertsD);
            Assert.True(wrongPassword.ExitCode != 0, wrongPassword.ToString());
            Assert.Contains(TlsRegistry, wrongPassword.Stderr, StringComparison.Ordinal);
            Assert.Contains("credentials", wrongPassword.Stderr, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("not-the-password", wrongPassword.Stdout + wrongPassword.Stderr, StringComparison.Ordinal);

            // And after every failure production holds nothing of it
            Assert.False(await TlsExistsAsync(witnessCerts, $"{repository}:1.0.0"));
            Assert.False(await TlsExistsAsync(witnessCerts, $"{repository}@{digest}"));

            // When the CA is only in a certs.d folder named by ORCHESTRATOR_CERTS_D, Then the promotion goes through
            var certsD = Directory.CreateDirectory(Path.Combine(_scratch, "certs.d")).FullName;
            CertsDir(Path.Combine("certs.d", TlsRegistry), withCa: true);
            var viaCertsD = await PromoteAsync(Config("certs-d", caFile: null), name, digest, Password, certsD);
            Assert.True(viaCertsD.ExitCode == 0, viaCertsD.ToString());

            // And production over TLS serves the same digest under the pipeline's tags, as skopeo reads it with its own trust
            Assert.Equal(digest, await TlsDigestAsync(witnessCerts, $"{repository}:1.0.0"));
            Assert.Equal(digest, await TlsDigestAsync(witnessCerts, $"{repository}:latest"));

            // When promoted again with ca-file (no certs.d), Then it succeeds as the no-op it is
            var viaCaFile = await PromoteAsync(Config("ca-file-again", caFile), name, digest, Password, emptyCertsD);
            Assert.True(viaCaFile.ExitCode == 0, viaCaFile.ToString());
            Assert.Equal(digest, await TlsDigestAsync(witnessCerts, $"{repository}:1.0.0"));
        }
        finally
        {
            await RunAsync("skopeo", "delete", "--cert-dir", witnessCerts, "--creds", $"{User}:{Password}", $"docker://{TlsRegistry}/{repository}@{digest}");
        }
    }

    /// <summary>A config beside the fixture's (same state file and staging) whose production is the TLS registry.</summary>
    private string Config(string label, string? caFile)
    {
        var path = Path.Combine(fixture.Workspace.Root, $"tls-{label}.yaml");
        File.WriteAllText(path, $"""
            engine:
              endpoint: unix:///var/run/docker.sock
            stages: [staging, production]
            registries:
              staging: {"{"} url: http://{TestWorkspace.Staging} {"}"}
              production:
                url: https://{TlsRegistry}
                username-env: TLS_REGISTRY_USER
                password-env: TLS_REGISTRY_PASSWORD
            {(caFile is null ? string.Empty : $"    ca-file: {caFile}\n")}state:
              path: state/state.db
            paths:
              work: work
            """);
        return path;
    }

    /// <summary>A folder under the scratch space holding ca.crt of the test CA (skopeo's --cert-dir, or a certs.d HOST:PORT folder).</summary>
    private string CertsDir(string relative, bool withCa)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_scratch, relative)).FullName;
        if (withCa)
        {
            File.Copy(Path.Combine(Pki, "ca.crt"), Path.Combine(folder, "ca.crt"), overwrite: true);
        }

        return folder;
    }

    private static async Task<ProcessWitness.Result> PromoteAsync(string config, string name, string digest, string password, string certsD)
    {
        var start = CliBinary.StartInfo(["promote", name, "--digest", digest, "--to", "production", "--config", config]);
        start.Environment["TLS_REGISTRY_USER"] = User;
        start.Environment["TLS_REGISTRY_PASSWORD"] = password;
        start.Environment["ORCHESTRATOR_CERTS_D"] = certsD;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the CLI");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return new ProcessWitness.Result(process.ExitCode, await stdout, await stderr);
    }

    private static async Task<string> TlsDigestAsync(string certDir, string reference)
    {
        var result = await RunAsync("skopeo", "inspect", "--cert-dir", certDir, "--creds", $"{User}:{Password}", "--format", "{{.Digest}}", $"docker://{TlsRegistry}/{reference}");
        Assert.True(result.ExitCode == 0, $"skopeo inspect {reference} failed: {result.Stderr}");
        return result.Stdout.Trim();
    }

    private static async Task<bool> TlsExistsAsync(string certDir, string reference) =>
        (await RunAsync("skopeo", "inspect", "--raw", "--cert-dir", certDir, "--creds", $"{User}:{Password}", $"docker://{TlsRegistry}/{reference}")).ExitCode == 0;
}
