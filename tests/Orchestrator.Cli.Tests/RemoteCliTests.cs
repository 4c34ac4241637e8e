using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Cli;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Cli.Tests.Fakes;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// The CLI as a trigger: with a server set, job verbs submit to the daemon (a scripted fake here), follow the
/// job's log and exit with its exit code; the daemon's refusals map to exit codes with a way forward.
/// </summary>
public sealed class RemoteCliTests
{
    private const string Secret = "s3cr3t-token-value";
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private const string Reference = "127.0.0.1:5001/apps/app@" + Digest;
    private readonly FakeDaemon _daemon = new();
    private readonly Dictionary<string, string> _variables = new()
    {
        ["ORCHESTRATOR_URL"] = "http://daemon.test:5080",
        ["ORCHESTRATOR_TOKEN"] = Secret,
    };

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var console = new CliConsole(stdout, stderr)
        {
            Environment = new CliEnvironment(name => _variables.GetValueOrDefault(name), TimeProvider.System, _daemon, TimeSpan.FromMilliseconds(1)),
        };
        var exitCode = await CliApplication.RunAsync(args, console);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    private static JsonNode BuildResult() => new JsonObject { ["pipeline"] = "app", ["reference"] = Reference, ["digest"] = Digest, ["tags"] = new JsonArray("1.0.0") };

    [Fact]
    public async Task Build_WithServer_SubmitsBuildJobWithBearerTokenAndPrintsReference()
    {
        // Given a daemon whose build job succeeds
        _daemon.Page(("step", "build app")).Result = BuildResult();

        // When the build is asked for with a server set
        var (exitCode, stdout, stderr) = await RunAsync("build", "app", "--no-cache");

        // Then one build job was submitted with the token as Bearer, and the reference is the result
        Assert.Equal(0, exitCode);
        var submit = Assert.Single(_daemon.Requests, r => r.Method == HttpMethod.Post);
        Assert.Equal("/api/jobs", submit.PathAndQuery);
        Assert.Equal("build", submit.BodyJson.GetProperty("kind").GetString());
        Assert.Equal("app", submit.BodyJson.GetProperty("pipeline").GetString());
        Assert.True(submit.BodyJson.GetProperty("noCache").GetBoolean());
        Assert.All(_daemon.Requests, r => Assert.Equal($"Bearer {Secret}", r.Authorization));
        Assert.Equal(Reference, stdout.Trim());
        Assert.DoesNotContain(Secret, stdout + stderr);
    }

    [Fact]
    public async Task Validate_WithDigest_SubmitsValidateJobWithTheDigest()
    {
        _daemon.Kind = "validate";
        _daemon.Result = new JsonObject { ["reference"] = Reference, ["passed"] = true, ["tests"] = new JsonArray(new JsonObject(), new JsonObject()) };

        var (exitCode, stdout, _) = await RunAsync("validate", "app", "--digest", Digest);

        Assert.Equal(0, exitCode);
        var body = _daemon.Requests.Single(r => r.Method == HttpMethod.Post).BodyJson;
        Assert.Equal("validate", body.GetProperty("kind").GetString());
        Assert.Equal(Digest, body.GetProperty("digest").GetString());
        Assert.Equal($"{Reference} passed 2 test(s)", stdout.Trim());
    }

    [Fact]
    public async Task Validate_WithoutDigest_LeavesTheDigestToTheDaemon()
    {
        _daemon.Kind = "validate";

        await RunAsync("validate", "app", "--no-wait");

        var body = _daemon.Requests.Single(r => r.Method == HttpMethod.Post).BodyJson;
        Assert.False(body.TryGetProperty("digest", out _));
    }

    [Fact]
    public async Task Promote_DryRun_SubmitsPromoteJobWithDigestStageAndDryRun()
    {
        _daemon.Kind = "promote";

        var (exitCode, _, _) = await RunAsync("promote", "app", "--digest", Digest, "--to", "production", "--dry-run", "--no-wait");

        Assert.Equal(0, exitCode);
        var body = _daemon.Requests.Single(r => r.Method == HttpMethod.Post).BodyJson;
        Assert.Equal("promote", body.GetProperty("kind").GetString());
        Assert.Equal(Digest, body.GetProperty("digest").GetString());
        Assert.Equal("production", body.GetProperty("stage").GetString());
        Assert.True(body.GetProperty("dryRun").GetBoolean());
    }

    [Fact]
    public async Task Promote_AttestWithServer_JobBodyAsksForTheStatement()
    {
        // Given a daemon
        _daemon.Kind = "promote";

        // When a promotion with --attest is sent to it
        var (exitCode, _, _) = await RunAsync("promote", "app", "--digest", Digest, "--attest", "--no-wait");

        // Then the job it submitted asks for the promotion statement
        Assert.Equal(0, exitCode);
        var body = _daemon.Requests.Single(r => r.Method == HttpMethod.Post).BodyJson;
        Assert.Equal("promote", body.GetProperty("kind").GetString());
        Assert.True(body.GetProperty("attest").GetBoolean());
    }

    [Fact]
    public async Task Run_WithServer_SubmitsRunJob()
    {
        _daemon.Kind = "run";
        _daemon.Result = BuildResult();

        var (exitCode, stdout, _) = await RunAsync("run", "app");

        Assert.Equal(0, exitCode);
        var body = _daemon.Requests.Single(r => r.Method == HttpMethod.Post).BodyJson;
        Assert.Equal("run", body.GetProperty("kind").GetString());
        Assert.False(body.GetProperty("noCache").GetBoolean());
        Assert.Equal(Reference, stdout.Trim());
    }

    [Fact]
    public async Task Promote_MalformedDigest_ExitsTwoWithoutSubmitting()
    {
        var (exitCode, _, stderr) = await RunAsync("promote", "app", "--digest", "sha256:xyz", "--to", "production");

        Assert.Equal(2, exitCode);
        Assert.Contains("--digest", stderr);
        Assert.Empty(_daemon.Requests);
    }

    [Fact]
    public async Task Build_Following_PrintsLogLinesInOrderWithReporterConventions()
    {
        // Given a job that writes its log over three polls
        _daemon.Result = BuildResult();
        _daemon
            .Page(("step", "build app (job 42, attempt 1, by ci)"), ("detail", "base 127.0.0.1:5001/base/deb@sha256:aa"))
            .Page(("output", "Step 1/4 : FROM base"), ("output", "noise from apt"), ("progress", "5f70bf18a086: Pushing (12 MiB)"))
            .Page(("progress", "5f70bf18a086: Pushed"), ("step", "done"));

        // When it is followed
        var (exitCode, _, stderr) = await RunAsync("build", "app");

        // Then every line is printed once, in order: steps as '==>', the rest indented, engine noise only with --verbose
        Assert.Equal(0, exitCode);
        string[] expected =
        [
            "==> build app (job 42, attempt 1, by ci)",
            "    base 127.0.0.1:5001/base/deb@sha256:aa",
            "    Step 1/4 : FROM base",
            "    5f70bf18a086: Pushing (12 MiB)",
            "    5f70bf18a086: Pushed",
            "==> done",
        ];
        var positions = expected.Select(line => stderr.IndexOf(line + Environment.NewLine, StringComparison.Ordinal)).ToList();
        Assert.All(positions, p => Assert.True(p >= 0, stderr));
        Assert.Equal(positions.Order(), positions);
        Assert.DoesNotContain("noise from apt", stderr);
        Assert.Single(stderr.Split(Environment.NewLine), l => l == "==> done");

        // And the log was polled with after= the last sequence seen
        var afters = _daemon.Requests.Where(r => r.PathAndQuery.StartsWith("/api/jobs/42/log", StringComparison.Ordinal)).Select(r => r.PathAndQuery).ToList();
        Assert.Equal(["/api/jobs/42/log?after=0", "/api/jobs/42/log?after=2", "/api/jobs/42/log?after=5", "/api/jobs/42/log?after=7"], afters);
    }

    [Fact]
    public async Task Build_FollowingVerbose_PrintsEngineOutputToo()
    {
        _daemon.Page(("output", "noise from apt"));

        var (_, _, stderr) = await RunAsync("build", "app", "--verbose");

        Assert.Contains("    noise from apt", stderr);
    }

    [Theory]
    [InlineData("succeeded", 0, null)]
    [InlineData("failed", 1, "validation failed: 1 of 3 test(s) failed")]
    [InlineData("failed", 2, "no pipeline named 'app'")]
    [InlineData("cancelled", 1, "cancelled; tags are only set after every manifest is verified")]
    public async Task Build_JobEnds_ExitsWithTheJobsExitCodeAndPrintsItsError(string state, int jobExitCode, string? error)
    {
        // Given a job that ends in that state
        _daemon.Page(("step", "build app"));
        (_daemon.FinalState, _daemon.FinalExitCode, _daemon.FinalError) = (state, jobExitCode, error);
        _daemon.Result = state == "succeeded" ? BuildResult() : null;

        // When it is followed
        var (exitCode, stdout, stderr) = await RunAsync("build", "app");

        // Then the CLI exits as the job did, with its error on stderr
        Assert.Equal(jobExitCode, exitCode);
        if (error is not null)
        {
            Assert.Contains($"orchestrator: {error}", stderr);
            Assert.Empty(stdout);
        }
    }

    [Fact]
    public async Task Validate_FailedWithJson_PrintsTheValidationDocument()
    {
        _daemon.Kind = "validate";
        (_daemon.FinalState, _daemon.FinalExitCode, _daemon.FinalError) = ("failed", 1, "validation failed");
        _daemon.Result = new JsonObject { ["reference"] = Reference, ["passed"] = false };

        var (exitCode, stdout, _) = await RunAsync("validate", "app", "--json");

        Assert.Equal(1, exitCode);
        Assert.False(JsonDocument.Parse(stdout).RootElement.GetProperty("passed").GetBoolean());
    }

    [Fact]
    public async Task Build_Json_PrintsTheJobsResultDocument()
    {
        _daemon.Result = BuildResult();

        var (exitCode, stdout, _) = await RunAsync("build", "app", "--json");

        Assert.Equal(0, exitCode);
        var result = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(Digest, result.GetProperty("digest").GetString());
        Assert.Equal(Reference, result.GetProperty("reference").GetString());
    }

    [Fact]
    public async Task Build_NoWait_PrintsTheIdAndDoesNotFollow()
    {
        var (exitCode, stdout, _) = await RunAsync("build", "app", "--no-wait");

        Assert.Equal(0, exitCode);
        Assert.Equal("42", stdout.Trim());
        Assert.DoesNotContain(_daemon.Requests, r => r.Method == HttpMethod.Get);
    }

    [Fact]
    public async Task Build_NoWaitJson_PrintsTheIdAsJson()
    {
        var (exitCode, stdout, _) = await RunAsync("build", "app", "--no-wait", "--json");

        Assert.Equal(0, exitCode);
        Assert.Equal(42, JsonDocument.Parse(stdout).RootElement.GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task Build_NoWaitWithoutServer_ExitsTwo()
    {
        _variables.Remove("ORCHESTRATOR_URL");

        var (exitCode, _, stderr) = await RunAsync("build", "app", "--no-wait", "--config", "/nonexistent/orchestrator.yaml");

        Assert.Equal(2, exitCode);
        Assert.Empty(_daemon.Requests);
        Assert.Contains("orchestrator.yaml", stderr);
    }

    [Fact]
    public async Task Build_WithServerInACheckout_SendsTheDefinitionHashOfThisCheckoutAndNoLock()
    {
        // Given a checkout whose pipeline app has no lock file, and a daemon whose build succeeds
        using var workspace = new CliWorkspace();
        var definitionFile = Path.Combine(workspace.Root, "pipelines", "app.yaml");
        var expected = (await Core.Definitions.DefinitionHashes.OfFilesAsync(definitionFile))!;
        _daemon.Result = BuildResult();

        // When the build is asked for through the daemon with that checkout's config
        var (exitCode, _, stderr) = await RunAsync("build", "app", "--config", workspace.ConfigPath);

        // Then the job body carries the sha256 of the definition as this checkout has it, and says there is no lock
        Assert.True(exitCode == 0, stderr);
        var body = _daemon.Requests.Single(r => r.Method == HttpMethod.Post).BodyJson;
        Assert.Equal(expected.Definition.ToString(), body.GetProperty("definitionSha256").GetString());
        Assert.True(!body.TryGetProperty("lockSha256", out var lockHash) || lockHash.ValueKind == System.Text.Json.JsonValueKind.Null, $"lockSha256 should be absent or null, was {lockHash}");
    }

    [Fact]
    public async Task Build_DaemonHoldsOtherContent_ExitsOneWithTheDaemonsConflictMessage()
    {
        // Given a daemon that answers 409: its checkout is not this one
        _daemon.Refuse = (HttpStatusCode.Conflict, "the daemon's copy of pipeline 'app' is not yours: the definition differs even after reloading");

        // When a build is asked for
        var (exitCode, _, stderr) = await RunAsync("build", "app");

        // Then it exits 1 (refused, nothing queued) with the daemon's reason, not a generic status line
        Assert.Equal(1, exitCode);
        Assert.Contains("the definition differs", stderr);
        Assert.DoesNotContain("its log has the details", stderr);
    }

    [Fact]
    public async Task Build_Unauthorized_ExitsOneSayingWhichVariableToSet()
    {
        // Given a daemon that does not know the token
        _daemon.Refuse = (HttpStatusCode.Unauthorized, "unknown token");

        var (exitCode, stdout, stderr) = await RunAsync("build", "app");

        // Then the refusal exits 1 and names the variable, never the secret
        Assert.Equal(1, exitCode);
        Assert.Contains("unknown token", stderr);
        Assert.Contains("ORCHESTRATOR_TOKEN", stderr);
        Assert.DoesNotContain(Secret, stdout + stderr);
    }

    [Fact]
    public async Task Build_NoTokenSet_SendsNoAuthorizationAndHintsAtTheVariable()
    {
        _variables.Remove("ORCHESTRATOR_TOKEN");
        _daemon.Refuse = (HttpStatusCode.Unauthorized, "a bearer token is required");

        var (exitCode, _, stderr) = await RunAsync("build", "app");

        Assert.Equal(1, exitCode);
        Assert.Null(Assert.Single(_daemon.Requests).Authorization);
        Assert.Contains("set $ORCHESTRATOR_TOKEN", stderr);
    }

    [Fact]
    public async Task Promote_Forbidden_ExitsOneNamingTheRole()
    {
        _daemon.Refuse = (HttpStatusCode.Forbidden, "token 'ci' lacks the role(s) 'promote:production'");

        var (exitCode, _, stderr) = await RunAsync("promote", "app", "--digest", Digest, "--to", "production");

        Assert.Equal(1, exitCode);
        Assert.Contains("token 'ci' lacks the role(s) 'promote:production'", stderr);
        Assert.Contains("promote:production", stderr[stderr.IndexOf("needs the role", StringComparison.Ordinal)..]);
    }

    [Theory]
    [InlineData(HttpStatusCode.BadRequest)]
    [InlineData(HttpStatusCode.NotFound)]
    public async Task Build_DaemonSaysBadInput_ExitsTwoWithItsMessage(HttpStatusCode status)
    {
        _daemon.Refuse = (status, "no pipeline named 'app'; known pipelines: web");

        var (exitCode, stdout, stderr) = await RunAsync("build", "app", "--json");

        Assert.Equal(2, exitCode);
        Assert.Contains("orchestrator: no pipeline named 'app'; known pipelines: web", stderr);
        Assert.Equal(2, JsonDocument.Parse(stdout).RootElement.GetProperty("error").GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task Build_DaemonUnreachable_ExitsOneWithTheHint()
    {
        // Given a server URL on a port nothing listens on, reached through a real socket
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var console = new CliConsole(stdout, stderr)
        {
            Environment = new CliEnvironment(name => name == "ORCHESTRATOR_TOKEN" ? Secret : null, TimeProvider.System, null, TimeSpan.FromMilliseconds(1)),
        };

        // When a build is submitted there
        var exitCode = await CliApplication.RunAsync(["build", "app", "--server", "http://127.0.0.1:9"], console);

        // Then it exits 1 saying how to start a daemon or run in-process
        Assert.Equal(1, exitCode);
        Assert.Contains("no daemon answers at http://127.0.0.1:9/", stderr.ToString());
        Assert.Contains("start it with 'orchestrator daemon' or unset ORCHESTRATOR_URL", stderr.ToString());
        Assert.DoesNotContain(Secret, stderr.ToString());
    }

    [Fact]
    public async Task Build_ServerOption_OverridesTheVariable()
    {
        _variables["ORCHESTRATOR_URL"] = "http://elsewhere.test:1";

        await RunAsync("build", "app", "--no-wait", "--server", "http://daemon.test:5080");

        Assert.Single(_daemon.Requests);
    }

    [Fact]
    public async Task Build_TokenEnv_ReadsTheTokenFromTheNamedVariable()
    {
        _variables["RELEASE_TOKEN"] = "other-secret";

        await RunAsync("build", "app", "--no-wait", "--token-env", "RELEASE_TOKEN");

        Assert.Equal("Bearer other-secret", Assert.Single(_daemon.Requests).Authorization);
    }

    [Fact]
    public async Task Build_TokenEnvUnset_ExitsTwoNamingTheVariable()
    {
        var (exitCode, _, stderr) = await RunAsync("build", "app", "--token-env", "MISSING_TOKEN");

        Assert.Equal(2, exitCode);
        Assert.Contains("$MISSING_TOKEN", stderr);
        Assert.Empty(_daemon.Requests);
    }

    [Fact]
    public async Task Build_NotAnHttpUrl_ExitsTwo()
    {
        var (exitCode, _, stderr) = await RunAsync("build", "app", "--server", "daemon:5080");

        Assert.Equal(2, exitCode);
        Assert.Contains("not an http:// or https:// URL", stderr);
    }

    [Theory]
    [InlineData("jobs")]
    [InlineData("job", "42")]
    public async Task JobVerbs_WithoutServer_ExitTwoSayingHowToSetOne(params string[] args)
    {
        _variables.Clear();

        var (exitCode, _, stderr) = await RunAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Contains("--server URL or set ORCHESTRATOR_URL", stderr);
    }

    [Fact]
    public async Task Jobs_WithFilters_QueriesTheDaemonAndPrintsATable()
    {
        var (exitCode, stdout, _) = await RunAsync("jobs", "--pipeline", "app", "--state", "Succeeded", "--kind", "build", "--limit", "5");

        Assert.Equal(0, exitCode);
        Assert.Equal("/api/jobs?pipeline=app&state=succeeded&kind=build&limit=5", Assert.Single(_daemon.Requests).PathAndQuery);
        var lines = stdout.TrimEnd().Split(Environment.NewLine);
        Assert.StartsWith("ID", lines[0]);
        Assert.Contains("REQUESTED BY", lines[0]);
        Assert.Matches(@"^42\s+build\s+app\s+-\s+succeeded\s+1\s+ci\s+2026-11-22 05:00:00Z\s+1m05s$", lines[1]);
    }

    [Fact]
    public async Task Jobs_UnknownState_ExitsTwoListingTheStatesWithoutAskingTheDaemon()
    {
        var (exitCode, _, stderr) = await RunAsync("jobs", "--state", "done");

        Assert.Equal(2, exitCode);
        Assert.Contains("queued, running, succeeded, failed, cancelled", stderr);
        Assert.Empty(_daemon.Requests);
    }

    [Fact]
    public async Task Job_Cancel_PostsTheCancel()
    {
        _daemon.Page(("step", "build app"));

        var (exitCode, stdout, _) = await RunAsync("job", "42", "--cancel");

        Assert.Equal(0, exitCode);
        Assert.Contains(_daemon.Requests, r => r.Method == HttpMethod.Post && r.PathAndQuery == "/api/jobs/42/cancel");
        Assert.Contains("job 42 cancelled", stdout);
    }

    [Fact]
    public async Task Job_Details_PrintsFieldsAndTheWholeLog()
    {
        _daemon.Result = BuildResult();
        _daemon.Page(("step", "build app")).Page(("detail", "pushed"));

        var (exitCode, stdout, _) = await RunAsync("job", "42");

        Assert.Equal(0, exitCode);
        Assert.Contains("requested by: ci", stdout);
        Assert.Contains("==> build app", stdout);
        Assert.Contains("    pushed", stdout);
        Assert.Contains("log (2 line(s))", stdout);
    }

    [Fact]
    public async Task Job_Follow_ExitsWithTheJobsExitCode()
    {
        _daemon.Page(("step", "validate app"));
        (_daemon.FinalState, _daemon.FinalExitCode, _daemon.FinalError) = ("failed", 1, "validation failed");

        var (exitCode, _, stderr) = await RunAsync("job", "42", "--follow");

        Assert.Equal(1, exitCode);
        Assert.Contains("==> validate app", stderr);
        Assert.DoesNotContain(_daemon.Requests, r => r.Method == HttpMethod.Post);
    }

    [Fact]
    public async Task Build_StopFollowing_LeavesTheJobRunningAndSaysHowToCancel()
    {
        // Given a job that never ends, and a Ctrl+C while following it
        for (var i = 0; i < 1000; i++)
        {
            _daemon.Page(("detail", $"line {i}"));
        }

        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var stderr = new StringWriter();
        var console = new CliConsole(new StringWriter(), stderr)
        {
            Environment = new CliEnvironment(name => _variables.GetValueOrDefault(name), TimeProvider.System, _daemon, TimeSpan.FromMilliseconds(20)),
        };

        var exitCode = await CliApplication.RunAsync(["build", "app"], console, cancellation.Token);

        // Then it stops following, without asking the daemon to cancel
        Assert.Equal(1, exitCode);
        Assert.Contains("it keeps running on the daemon", stderr.ToString());
        Assert.Contains("orchestrator job 42 --cancel", stderr.ToString());
        Assert.DoesNotContain(_daemon.Requests, r => r.PathAndQuery.EndsWith("/cancel", StringComparison.Ordinal));
    }
}
