using System.Net;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ProcessWitness;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// The daemon as a real process against the real engine and registries: jobs triggered from the CLI,
/// concurrency, authentication, and a daemon killed in the middle of a promotion.
/// </summary>
[Collection(RealPartsCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DaemonTests(RealPartsFixture fixture)
{
    private const string Staging = TestWorkspace.Staging;
    private const string Production = TestWorkspace.Production;

    private string Config => fixture.Workspace.ConfigPath;

    private async Task<DaemonProcess> StartDaemonAsync()
    {
        fixture.Workspace.EnableDaemon();
        var daemon = new DaemonProcess(Config);
        await daemon.StartAsync();
        return daemon;
    }

    private string Track(string name)
    {
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);
        return repository;
    }

    [Fact]
    public async Task Daemon_CliTriggeredRun_PromotesToProductionAndServesTheRelease()
    {
        // Given a daemon and a pipeline
        await using var daemon = await StartDaemonAsync();
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-daemon");
        var repository = Track(name);
        Environment.SetEnvironmentVariable(DaemonProcess.AdminSecretEnv, DaemonProcess.AdminSecret);

        // When the CLI triggers a run on the daemon
        var run = await CliRunner.RunAsync(Config, "run", name, "--server", daemon.Url, "--token-env", DaemonProcess.AdminSecretEnv, "--json");

        // Then the job's outcome is the CLI's: production holds staging's digest
        Assert.True(run.ExitCode == 0, $"{run}{Environment.NewLine}daemon:{Environment.NewLine}{daemon.Output}");
        var digest = run.Json.GetProperty("digest").GetString()!;
        Assert.Equal(digest, await SkopeoDigestAsync($"{Staging}/{repository}:1.0.0"));
        Assert.Equal(digest, await SkopeoDigestAsync($"{Production}/{repository}:1.0.0"));
        Assert.DoesNotContain(DaemonProcess.AdminSecret, run.Stdout + run.Stderr + daemon.Output);

        // And the daemon serves the release for clusters, pinned by digest
        var kustomize = await daemon.SendAsync(HttpMethod.Get, $"/api/releases/{name}/production?format=kustomize", DaemonProcess.ReleaseSecret);
        Assert.Equal(HttpStatusCode.OK, kustomize.StatusCode);
        var text = await kustomize.Content.ReadAsStringAsync();
        Assert.Contains("images:", text);
        Assert.Contains($"digest: \"{digest}\"", text);

        // And the job is recorded with the token's name as who asked
        var jobs = await daemon.SendAsync(HttpMethod.Get, $"/api/jobs?pipeline={name}", DaemonProcess.ReleaseSecret);
        var list = JsonDocument.Parse(await jobs.Content.ReadAsStringAsync()).RootElement;
        var job = (list.ValueKind == JsonValueKind.Array ? list : list.GetProperty("jobs")).EnumerateArray().Single();
        Assert.Equal("admin", job.GetProperty("requestedBy").GetString());
        Assert.Equal("succeeded", job.GetProperty("state").GetString());

        // And a promotion through the daemon with --attest attaches its record to the production digest as an in-toto statement
        var attested = await CliRunner.RunAsync(Config, "promote", name, "--digest", digest, "--to", "production", "--attest", "--server", daemon.Url, "--token-env", DaemonProcess.AdminSecretEnv, "--json");
        Assert.True(attested.ExitCode == 0, $"{attested}{Environment.NewLine}daemon:{Environment.NewLine}{daemon.Output}");
        var statement = attested.Json.GetProperty("statement").GetString()!;
        var fallback = await RunAsync("skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{Production}/{repository}:{digest.Replace(':', '-')}");
        Assert.True(fallback.ExitCode == 0, fallback.Stderr);
        using var index = JsonDocument.Parse(fallback.Stdout);
        Assert.Contains(index.RootElement.GetProperty("manifests").EnumerateArray(), m => m.GetProperty("digest").GetString() == statement);
    }

    [Fact]
    public async Task Daemon_EditRelockAndBuildAtOnce_BuildsTheNewVersion()
    {
        // Given a daemon that loaded pipeline version 0.0.2
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-edit", version: "0.0.2");
        var repository = Track(name);
        await using var daemon = await StartDaemonAsync();
        Environment.SetEnvironmentVariable(DaemonProcess.AdminSecretEnv, DaemonProcess.AdminSecret);

        // When the pipeline is edited to 0.0.3, relocked, and built through the daemon at once (well inside a watch tick)
        await fixture.Workspace.AddLockedHelloPipelineAsync(name, version: "0.0.3");
        var build = await CliRunner.RunAsync(Config, "build", name, "--server", daemon.Url, "--token-env", DaemonProcess.AdminSecretEnv, "--json");

        // Then the job built 0.0.3: staging's 0.0.3 tag is the digest the CLI printed, and 0.0.2 was never built
        Assert.True(build.ExitCode == 0, $"{build}{Environment.NewLine}daemon:{Environment.NewLine}{daemon.Output}");
        var digest = build.Json.GetProperty("digest").GetString()!;
        Assert.Equal(digest, await SkopeoDigestAsync($"{Staging}/{repository}:0.0.3"));
        var old = await RunAsync("skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{Staging}/{repository}:0.0.2");
        Assert.NotEqual(0, old.ExitCode);

        // And the job records the hashes of the definition it ran: the edited file's
        var jobs = await daemon.SendAsync(HttpMethod.Get, $"/api/jobs?pipeline={name}", DaemonProcess.ReleaseSecret);
        var job = JsonDocument.Parse(await jobs.Content.ReadAsStringAsync()).RootElement.GetProperty("jobs").EnumerateArray().Single();
        var edited = await Core.Definitions.DefinitionHashes.OfFilesAsync(Path.Combine(fixture.Workspace.Root, "pipelines", $"{name}.yaml"));
        Assert.Equal(edited!.Definition.ToString(), job.GetProperty("definitionSha256").GetString());
    }

    [Fact]
    public async Task Daemon_Tokens_RefuseMissingUnknownAndUnderprivileged()
    {
        // Given a daemon with the ci (no production promotion) and release (no build) tokens
        await using var daemon = await StartDaemonAsync();
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-auth");
        const string digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

        // Then: no token and an unknown token are 401 with a JSON error
        var none = await daemon.SendAsync(HttpMethod.Get, "/api/jobs", secret: null);
        var unknown = await daemon.SendAsync(HttpMethod.Get, "/api/jobs", secret: "not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(401, JsonDocument.Parse(await unknown.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("status").GetInt32());

        // And a token without the role is 403, naming the role and never a secret
        var ciPromotes = await daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonProcess.CiSecret, new { kind = "promote", pipeline = name, digest, stage = "production" });
        var releaseBuilds = await daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonProcess.ReleaseSecret, new { kind = "build", pipeline = name });
        Assert.Equal(HttpStatusCode.Forbidden, ciPromotes.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, releaseBuilds.StatusCode);
        var body = await ciPromotes.Content.ReadAsStringAsync();
        Assert.Contains("promote:production", body);
        Assert.DoesNotContain(DaemonProcess.CiSecret, body + daemon.Output);

        // And nothing was queued by the refused requests
        var jobs = await daemon.SendAsync(HttpMethod.Get, $"/api/jobs?pipeline={name}", DaemonProcess.CiSecret);
        Assert.Equal(HttpStatusCode.OK, jobs.StatusCode);
        var list = JsonDocument.Parse(await jobs.Content.ReadAsStringAsync()).RootElement;
        Assert.Empty((list.ValueKind == JsonValueKind.Array ? list : list.GetProperty("jobs")).EnumerateArray());

        // And health and metrics need no token
        Assert.Equal(HttpStatusCode.OK, (await daemon.SendAsync(HttpMethod.Get, "/healthz", secret: null)).StatusCode);
        var metrics = await daemon.SendAsync(HttpMethod.Get, "/metrics", secret: null);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("orchestrator_jobs", await metrics.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Daemon_JobsForDifferentPipelines_RunConcurrentlyAndBothSucceed()
    {
        // Given a daemon running two jobs at once
        await using var daemon = await StartDaemonAsync();
        var first = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-para-a");
        var second = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-para-b");
        Track(first);
        Track(second);

        // When builds of two pipelines are submitted together
        var a = await daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonProcess.CiSecret, new { kind = "build", pipeline = first });
        var b = await daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonProcess.CiSecret, new { kind = "build", pipeline = second });
        Assert.Equal(HttpStatusCode.Accepted, a.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, b.StatusCode);
        var idA = JsonDocument.Parse(await a.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();
        var idB = JsonDocument.Parse(await b.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();

        // Then both succeed, and their runs overlapped in time
        var jobA = await daemon.WaitForFinalAsync(idA, DaemonProcess.CiSecret, TimeSpan.FromMinutes(5));
        var jobB = await daemon.WaitForFinalAsync(idB, DaemonProcess.CiSecret, TimeSpan.FromMinutes(5));
        Assert.True(jobA.GetProperty("state").GetString() == "succeeded", jobA.ToString());
        Assert.True(jobB.GetProperty("state").GetString() == "succeeded", jobB.ToString());
        var (startA, endA) = (jobA.GetProperty("startedAt").GetDateTimeOffset(), jobA.GetProperty("finishedAt").GetDateTimeOffset());
        var (startB, endB) = (jobB.GetProperty("startedAt").GetDateTimeOffset(), jobB.GetProperty("finishedAt").GetDateTimeOffset());
        Assert.True(startA < endB && startB < endA, $"the jobs did not overlap: A {startA:O}..{endA:O}, B {startB:O}..{endB:O}");
    }

    [Fact]
    public async Task Daemon_KilledWhileAPromotionsBlobUploadIsInFlight_RestartEndsTerminalWithProductionAtTheStagingDigestOrUntouched()
    {
        // Given a built and validated digest (in-process, no daemon), and production reached through a proxy
        // that holds every blob upload open once its first bytes arrived
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-kill");
        var repository = Track(name);
        var build = await CliRunner.RunAsync(Config, "build", name, "--json");
        Assert.True(build.ExitCode == 0, build.ToString());
        var digest = build.Json.GetProperty("digest").GetString()!;
        var validation = await CliRunner.RunAsync(Config, "validate", name, "--digest", digest);
        Assert.True(validation.ExitCode == 0, validation.ToString());
        await using var proxy = await StallingProxy.StartAsync(Production);
        fixture.Workspace.EnableDaemon();
        var proxied = Path.Combine(fixture.Workspace.Root, "orchestrator-stalled-production.yaml");
        await File.WriteAllTextAsync(proxied, (await File.ReadAllTextAsync(Config)).Replace($"url: http://{Production}", $"url: http://{proxy.Host}", StringComparison.Ordinal));

        // When a promotion job runs and is SIGKILLed while the proxy holds its upload with bytes received
        long id;
        await using (var daemon = new DaemonProcess(proxied))
        {
            await daemon.StartAsync();
            var submitted = await daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonProcess.ReleaseSecret, new { kind = "promote", pipeline = name, digest, stage = "production" });
            Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
            id = JsonDocument.Parse(await submitted.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();
            var bytes = await proxy.UploadInFlight.WaitAsync(TimeSpan.FromMinutes(2));
            var running = await daemon.GetJobAsync(id, DaemonProcess.ReleaseSecret);
            await daemon.KillAsync();

            // Then the kill landed mid-promotion: the job was running and upload bytes were moving
            Assert.True(bytes > 0, "the held upload carried no bytes");
            Assert.Equal("running", running.GetProperty("state").GetString());
        }

        // And production has no tag: tags move only after every blob and manifest arrived, and none did
        Assert.False(await SkopeoExistsAsync($"{Production}/{repository}:1.0.0"), "a production tag exists after a kill during the blob copy");

        // When the daemon restarts with the copy no longer held
        proxy.Stalling = false;
        await using var restarted = new DaemonProcess(proxied);
        await restarted.StartAsync();
        var job = await restarted.WaitForFinalAsync(id, DaemonProcess.ReleaseSecret, TimeSpan.FromMinutes(3));

        // Then the job ran again and ended terminal: promoted with the staging digest, or failed with production untouched
        Assert.True(job.GetProperty("attempt").GetInt32() >= 2, job.ToString());
        var state = job.GetProperty("state").GetString();
        if (state == "succeeded")
        {
            Assert.Equal(digest, await SkopeoDigestAsync($"{Production}/{repository}:1.0.0"));
            Assert.Equal(digest, await SkopeoDigestAsync($"{Staging}/{repository}:1.0.0"));
        }
        else
        {
            Assert.True(state == "failed", job.ToString());
            Assert.False(await SkopeoExistsAsync($"{Production}/{repository}:1.0.0"), job.ToString());
        }
    }
}
