using System.Net;
using System.Text.Json;
using Orchestrator.Cli;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Cli.Tests.Fakes;
using Orchestrator.Composition;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.State;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// <c>status</c>, <c>history</c> and <c>release</c>: in-process over a temp workspace whose SQLite state is
/// seeded with a build, a passing validation and a promotion; and the same verbs asking a (fake) daemon.
/// </summary>
public sealed class ReleaseVerbsTests : IDisposable
{
    private const string Built = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    private const string BaseDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    private static readonly DateTimeOffset BuiltAt = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);

    private readonly CliWorkspace _workspace = new(productionPort: 19);

    private string ConfigPath => _workspace.ConfigPath;

    public void Dispose() => _workspace.Dispose();

    /// <summary>Records a build in staging and, unless told otherwise, its passing validation and its promotion to production.</summary>
    private async Task SeedAsync(bool promoted = true)
    {
        var workspace = await ComposedServices.LoadWorkspaceAsync(ConfigPath);
        await using var state = new SqliteStateStore(workspace.Config.StatePath);
        await state.InitializeAsync();
        var staging = ImageReference.Parse($"127.0.0.1:9/apps/app@{Built}");
        var production = ImageReference.Parse($"127.0.0.1:19/apps/app@{Built}");
        await state.RecordBuildAsync(new BuildRecord(0, "app", "pipeline", "staging", staging, ["1.0.0", "latest"], "1.0.0", Digest.Parse(BaseDigest), "alice", BuiltAt, TimeSpan.FromSeconds(40)));
        var validation = await state.RecordValidationAsync(new ValidationRecord(0, "app", "staging", staging, true,
            [new TestResult("command", "hello runs", true, "exit 0", TimeSpan.FromSeconds(1))], "alice", BuiltAt.AddMinutes(5), TimeSpan.FromSeconds(3)));
        if (promoted)
        {
            await state.RecordPromotionAsync(new PromotionRecord(0, "app", "staging", "production", staging, production, ["1.0.0"], validation, "release", BuiltAt.AddMinutes(10), 1234, 2, 1));
        }
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(FakeDaemon? daemon, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var console = new CliConsole(stdout, stderr)
        {
            Environment = new CliEnvironment(
                name => daemon is not null && name == "ORCHESTRATOR_URL" ? "http://daemon.test:5080" : null, TimeProvider.System, daemon, TimeSpan.FromMilliseconds(1)),
        };
        var exitCode = await CliApplication.RunAsync([.. args, "--config", ConfigPath], console);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Status_InProcess_ShowsEachStagesDigestTagsValidationAndWho()
    {
        // Given a build validated and promoted to production
        await SeedAsync();

        // When the status is shown
        var (exitCode, stdout, _) = await RunAsync(null, "status");

        // Then each stage has its row: short digest, tags, validated, when and by whom
        Assert.Equal(0, exitCode);
        var lines = stdout.TrimEnd().Split(Environment.NewLine);
        Assert.Equal(["PIPELINE", "STAGE", "DIGEST", "TAGS", "VALIDATED", "SINCE", "BY"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(@"^app\s+staging\s+sha256:111111111111\s+1\.0\.0,latest\s+yes 2026-11-20 10:05:00Z\s+2026-11-20 10:00:00Z\s+alice$", lines[1]);
        Assert.Matches(@"^app\s+production\s+sha256:111111111111\s+1\.0\.0\s+yes 2026-11-20 10:05:00Z\s+2026-11-20 10:10:00Z\s+release$", lines[2]);
    }

    [Fact]
    public async Task Status_InProcessJson_PrintsTheStatusDocument()
    {
        await SeedAsync(promoted: false);

        var (exitCode, stdout, _) = await RunAsync(null, "status", "app", "--json");

        Assert.Equal(0, exitCode);
        var stages = JsonDocument.Parse(stdout).RootElement.GetProperty("pipelines")[0].GetProperty("stages");
        Assert.Equal(Built, stages[0].GetProperty("digest").GetString());
        Assert.True(stages[0].GetProperty("validated").GetBoolean());
        Assert.Equal("production", stages[1].GetProperty("stage").GetString());
        Assert.False(stages[1].TryGetProperty("digest", out _));
    }

    [Fact]
    public async Task History_InProcess_ListsEventsNewestFirst()
    {
        await SeedAsync();

        var (exitCode, stdout, _) = await RunAsync(null, "history", "app");

        Assert.Equal(0, exitCode);
        var rows = stdout.TrimEnd().Split(Environment.NewLine).Skip(1).ToList();
        Assert.Equal(3, rows.Count);
        Assert.Matches(@"^2026-11-20 10:10:00Z\s+promotion\s+production\s+sha256:111111111111\s+release\s+promoted from staging to production", rows[0]);
        Assert.Matches(@"^2026-11-20 10:05:00Z\s+validation\s+staging\s+.*alice\s+passed 1/1", rows[1]);
        Assert.Matches(@"^2026-11-20 10:00:00Z\s+build\s+staging\s+.*alice\s+built 1\.0\.0", rows[2]);
    }

    [Fact]
    public async Task Release_DefaultFormatAndStage_PrintsYamlOfTheLastStage()
    {
        await SeedAsync();

        var (exitCode, stdout, _) = await RunAsync(null, "release", "app");

        Assert.Equal(0, exitCode);
        Assert.Contains("stage: \"production\"\n", stdout);
        Assert.Contains($"image: \"127.0.0.1:19/apps/app@{Built}\"\n", stdout);
        Assert.Contains($"digest: \"{Built}\"\n", stdout);
        Assert.Contains($"base-digest: \"{BaseDigest}\"\n", stdout);
        Assert.Contains("released-by: \"release\"\n", stdout);
    }

    [Fact]
    public async Task Release_Kustomize_PrintsAnImagesEntryPinnedByDigest()
    {
        await SeedAsync();

        var (exitCode, stdout, _) = await RunAsync(null, "release", "app", "--stage", "production", "--format", "kustomize");

        Assert.Equal(0, exitCode);
        Assert.Contains("images:\n  - name: \"apps/app\"\n    newName: \"127.0.0.1:19/apps/app\"\n", stdout);
        Assert.Contains($"    digest: \"{Built}\"\n", stdout);
    }

    [Fact]
    public async Task Release_Env_PrintsPrefixedVariables()
    {
        await SeedAsync();

        var (exitCode, stdout, _) = await RunAsync(null, "release", "app", "--stage", "staging", "--format", "env");

        Assert.Equal(0, exitCode);
        Assert.Contains($"APP_IMAGE=127.0.0.1:9/apps/app@{Built}\n", stdout);
        Assert.Contains($"APP_DIGEST={Built}\n", stdout);
        Assert.Contains("APP_TAGS=1.0.0,latest\n", stdout);
    }

    [Fact]
    public async Task Release_NothingPromotedYet_ExitsOneSayingWhatToRun()
    {
        await SeedAsync(promoted: false);

        var (exitCode, stdout, stderr) = await RunAsync(null, "release", "app", "--stage", "production");

        Assert.Equal(1, exitCode);
        Assert.Empty(stdout);
        Assert.Contains("nothing of app has reached production", stderr);
        Assert.Contains("orchestrator run app", stderr);
    }

    [Fact]
    public async Task Release_UnknownFormat_ExitsTwo()
    {
        await SeedAsync();

        var (exitCode, _, stderr) = await RunAsync(null, "release", "app", "--format", "helm");

        Assert.Equal(2, exitCode);
        Assert.Contains("unknown release format 'helm'", stderr);
    }

    private static string StatusJson(bool promoted) => $$"""
        {"pipelines": [{"pipeline": "app", "version": "1.0.0", "stale": true, "staleReason": "the lock of app is stale (x): run 'orchestrator lock app' and commit the new lock", "changed": true, "changedReason": "app.yaml changed",
          "stages": [
            {"stage": "staging", "reference": "127.0.0.1:9/apps/app@{{Built}}", "digest": "{{Built}}", "tags": ["1.0.0"], "validated": true, "validatedAt": "2026-11-20T10:05:00+00:00", "at": "2026-11-20T10:00:00+00:00", "by": "ci"},
            {"stage": "production", "reference": {{(promoted ? $"\"127.0.0.1:19/apps/app@{Built}\"" : "null")}}, "digest": {{(promoted ? $"\"{Built}\"" : "null")}}, "tags": [], "validated": {{(promoted ? "true" : "false")}}, "validatedAt": null, "at": null, "by": {{(promoted ? "\"release\"" : "null")}}}
          ]}]}
        """;

    [Fact]
    public async Task Status_Remote_RendersTheDaemonsDocumentWithStaleness()
    {
        var daemon = new FakeDaemon();
        daemon.Routes["/api/pipelines"] = (HttpStatusCode.OK, StatusJson(promoted: true), "application/json");

        var (exitCode, stdout, _) = await RunAsync(daemon, "status");

        Assert.Equal(0, exitCode);
        Assert.Matches(@"app\s+production\s+sha256:111111111111\s+-\s+yes", stdout);
        Assert.Contains("the lock of app is stale (x): run 'orchestrator lock app' and commit the new lock", stdout);
        Assert.Contains("app changed since its last build: app.yaml changed", stdout);
        Assert.Equal("/api/pipelines?registries=true", Assert.Single(daemon.Requests).PathAndQuery);
    }

    [Fact]
    public async Task Release_Remote_PrintsTheDaemonsRenderingOfTheLastStage()
    {
        var daemon = new FakeDaemon();
        daemon.Routes["/api/pipelines"] = (HttpStatusCode.OK, StatusJson(promoted: true), "application/json");
        daemon.Routes["/api/releases/app/production"] = (HttpStatusCode.OK, $"images:\n  - name: \"apps/app\"\n    digest: \"{Built}\"\n", "application/yaml");

        var (exitCode, stdout, _) = await RunAsync(daemon, "release", "app", "--format", "kustomize");

        Assert.Equal(0, exitCode);
        Assert.Contains($"    digest: \"{Built}\"\n", stdout);
        Assert.Equal("/api/releases/app/production?format=kustomize", daemon.Requests[^1].PathAndQuery);
    }

    [Fact]
    public async Task Release_RemoteNothingPromoted_ExitsOneWithoutAskingForTheRelease()
    {
        var daemon = new FakeDaemon();
        daemon.Routes["/api/pipelines"] = (HttpStatusCode.OK, StatusJson(promoted: false), "application/json");

        var (exitCode, _, stderr) = await RunAsync(daemon, "release", "app");

        Assert.Equal(1, exitCode);
        Assert.Contains("nothing of app has reached production", stderr);
        Assert.DoesNotContain(daemon.Requests, r => r.PathAndQuery.StartsWith("/api/releases", StringComparison.Ordinal));
    }

    [Fact]
    public async Task History_Remote_AsksForTheLimit()
    {
        var daemon = new FakeDaemon();
        daemon.Routes["/api/pipelines/app/history"] = (HttpStatusCode.OK,
            $$"""{"pipeline": "app", "history": [{"at": "2026-11-20T10:00:00+00:00", "kind": "build", "stage": "staging", "digest": "{{Built}}", "actor": "ci", "summary": "built 1.0.0"}]}""",
            "application/json");

        var (exitCode, stdout, _) = await RunAsync(daemon, "history", "app", "--limit", "7");

        Assert.Equal(0, exitCode);
        Assert.Equal("/api/pipelines/app/history?limit=7", Assert.Single(daemon.Requests).PathAndQuery);
        Assert.Matches(@"2026-11-20 10:00:00Z\s+build\s+staging\s+sha256:111111111111\s+ci\s+built 1\.0\.0", stdout);
    }
}
