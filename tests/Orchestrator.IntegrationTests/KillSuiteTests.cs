using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Orchestrator.Core.Jobs;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit.Abstractions;
using static Orchestrator.IntegrationTests.Infrastructure.ProcessWitness;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// The kill suite: the daemon SIGKILLed at random (seeded) points of builds, validations and promotions and
/// restarted each time, and a Docker Engine stopped and restarted during a build. Every job must end terminal
/// with the right result, or failed with nothing half-applied and a rerun that succeeds; nothing may be left in
/// the engine; the state store must pass SQLite's integrity check. Each killed job is recorded in the
/// <c>kills</c> figures. The seed is printed; <c>ORCHESTRATOR_KILL_SEED=N</c> replays a run.
/// </summary>
[Collection(RealPartsCollection.Name)]
[Trait("Category", "Integration")]
public sealed class KillSuiteTests(RealPartsFixture fixture, ITestOutputHelper output)
{
    private const string Suite = "kills";
    private const int KilledJobsWanted = 50;

    /// <summary>Rounds stop once this much time went by even if fewer jobs were killed (the assertion then fails).</summary>
    private static readonly TimeSpan RoundsBudget = TimeSpan.FromMinutes(4);

    private static string AdminSecret => DaemonProcess.AdminSecret;

    [Fact]
    public async Task Janitor_DaemonKilledDuringAValidation_RestartRemovesTheValidationContainerItLeft()
    {
        // Given a built digest and a daemon validating it
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("kill-validation");
        Track(name);
        var build = await CliRunner.RunAsync(fixture.Workspace.ConfigPath, "build", name, "--json");
        Assert.True(build.ExitCode == 0, build.ToString());
        var digest = build.Json.GetProperty("digest").GetString()!;
        var config = DaemonConfig("orchestrator-janitor.yaml", concurrency: 1);
        var owner = ContainerOwnership.DaemonOwner(StatePath);
        long id;
        string container;
        await using (var daemon = new DaemonProcess(config))
        {
            await daemon.StartAsync();
            id = await SubmitAsync(daemon, new { kind = "validate", pipeline = name, digest });

            // When it is SIGKILLed as soon as one of its validation containers exists
            container = await WaitForAsync(async () => (await OwnedContainersAsync(owner)).FirstOrDefault(), TimeSpan.FromMinutes(2), "a validation container of the daemon");
            await daemon.KillAsync();
        }

        // Then the container is left behind, carrying the validation label
        var labels = await RunAsync("docker", "inspect", "--format", "{{json .Config.Labels}}", container);
        Assert.True(labels.ExitCode == 0, $"the container {container} was gone before the restart: {labels.Stderr}");
        Assert.Contains("io.orchestrator.validation", labels.Stdout);

        // When the daemon starts again
        await using var restarted = new DaemonProcess(config);
        await restarted.StartAsync();

        // Then the leftover is removed, and the validation, run again, passes
        await WaitForAsync(async () => (await RunAsync("docker", "inspect", container)).ExitCode != 0 ? "gone" : null, TimeSpan.FromSeconds(60), $"the removal of {container}");
        var job = await restarted.WaitForFinalAsync(id, AdminSecret, TimeSpan.FromMinutes(3));
        Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
        Assert.Empty(await OwnedContainersAsync(owner));
    }

    [Fact]
    public async Task KillSuite_DaemonKilledAtRandomPointsOfFiftyJobs_EveryJobEndsRightOrCleanAndNothingIsLeft()
    {
        // Given four locked pipelines and a daemon running four jobs at once; a seed printed for replays
        var seed = Environment.GetEnvironmentVariable("ORCHESTRATOR_KILL_SEED") is { Length: > 0 } fixedSeed ? int.Parse(fixedSeed, System.Globalization.CultureInfo.InvariantCulture) : Environment.TickCount & 0x7fffffff;
        output.WriteLine($"kill suite seed {seed} (ORCHESTRATOR_KILL_SEED={seed} replays it)");
        var random = new Random(seed);
        var pipelines = new List<string>();
        foreach (var suffix in new[] { "a", "b", "c", "d" })
        {
            var name = fixture.Workspace.AddHelloPipeline($"kill-{suffix}");
            Track(name);
            pipelines.Add(name);
        }

        await Task.WhenAll(pipelines.Select(fixture.Workspace.LockAsync));
        var config = DaemonConfig("orchestrator-kills.yaml", concurrency: 4);
        var digests = new Dictionary<string, string>(StringComparer.Ordinal);
        var validated = new HashSet<string>(StringComparer.Ordinal);
        var jobs = new List<SuiteJob>();
        var daemon = new DaemonProcess(config);
        await daemon.StartAsync();
        var clock = Stopwatch.StartNew();
        try
        {
            // When rounds run until 50 jobs were killed while running: one job per pipeline (a build first, real, then
            // cache hits, validations and promotions at random), a SIGKILL at a random point once one runs, a restart
            var killed = 0;
            for (var round = 1; killed < KilledJobsWanted && clock.Elapsed < RoundsBudget; round++)
            {
                var roundJobs = new List<SuiteJob>();
                foreach (var pipeline in pipelines)
                {
                    var kind = !digests.ContainsKey(pipeline) ? "build"
                        : random.Next(4) switch { 0 => "build", 1 when validated.Contains(pipeline) => "promote", _ => "validate" };
                    var job = new SuiteJob(round, kind, pipeline, kind == "build" ? null : digests[pipeline]);
                    job.Id = await SubmitAsync(daemon, job.Body);
                    roundJobs.Add(job);
                }

                // The native daemon can run a whole round (cache hits, warm promotions) between two polls: a round whose
                // jobs all ended before one was seen running is not killed, and counts only as jobs that ran.
                var seen = await WaitForAsync(() => RunningOrAllEndedAsync(daemon, roundJobs), TimeSpan.FromMinutes(2), $"a job of round {round} to run");
                if (seen == "running")
                {
                    await Task.Delay(random.Next(0, 1500));
                    await daemon.KillAsync();
                    await daemon.DisposeAsync();
                    daemon = new DaemonProcess(config);
                    await daemon.StartAsync();
                }

                foreach (var job in roundJobs)
                {
                    var final = await daemon.WaitForFinalAsync(job.Id, AdminSecret, TimeSpan.FromMinutes(5));
                    job.Killed = final.GetProperty("attempt").GetInt32() >= 2;
                    killed += job.Killed ? 1 : 0;
                    job.Outcome = await ClassifyAsync(daemon, job, final, digests);
                    if (job.Outcome != SuiteOutcome.Inconsistent && job.Kind == "validate")
                    {
                        validated.Add(job.Pipeline);
                    }

                    if (job.Killed)
                    {
                        SuiteFigures.Record(Suite, $"daemon SIGKILL during {job.Kind} (round {round}, seed {seed})", job.Outcome, job.Detail);
                    }
                }

                jobs.AddRange(roundJobs);
            }

            output.WriteLine($"{clock.Elapsed.TotalSeconds:0} s: {jobs.Count} jobs, {killed} killed while running, " +
                $"{jobs.Count(j => j.Outcome == SuiteOutcome.Success)} right, {jobs.Count(j => j.Outcome == SuiteOutcome.CleanFailure)} clean failures");
        }
        finally
        {
            await daemon.DisposeAsync();
        }

        // Then at least 50 jobs were killed while running, and none ended inconsistent
        var failures = string.Join(Environment.NewLine, jobs.Where(j => j.Outcome == SuiteOutcome.Inconsistent).Select(j => j.Detail));
        Assert.True(failures.Length == 0, $"seed {seed}: inconsistent jobs:{Environment.NewLine}{failures}");
        Assert.True(jobs.Count(j => j.Killed) >= KilledJobsWanted, $"seed {seed}: only {jobs.Count(j => j.Killed)} of {jobs.Count} jobs were running at a kill within {RoundsBudget}");

        // And every build of a pipeline gave one digest, which staging serves, and production serves it or nothing (read with skopeo)
        foreach (var pipeline in pipelines)
        {
            var repository = $"{fixture.Workspace.Prefix}/apps/{pipeline}";
            Assert.Equal(digests[pipeline], await SkopeoDigestAsync($"{TestWorkspace.Staging}/{repository}:1.0.0"));
            var promoted = jobs.Any(j => j.Pipeline == pipeline && j.Kind == "promote" && j.Outcome != SuiteOutcome.Inconsistent);
            if (promoted)
            {
                Assert.Equal(digests[pipeline], await SkopeoDigestAsync($"{TestWorkspace.Production}/{repository}:1.0.0"));
            }
            else
            {
                Assert.False(await SkopeoExistsAsync($"{TestWorkspace.Production}/{repository}:1.0.0"), $"{pipeline} is in production though no promotion ran");
            }
        }

        // And no container of the daemon is left in the engine, and the state store passes its integrity check
        Assert.Empty(await OwnedContainersAsync(ContainerOwnership.DaemonOwner(StatePath)));
        Assert.Empty(await LabelledContainersAsync(digests.Values));
        Assert.Equal("ok", IntegrityCheck(StatePath));
    }

    [Fact]
    public async Task KillSuite_EngineStoppedAndRestartedDuringABuild_BuildEndsTerminalAndNothingIsLeftInTheEngine()
    {
        // Given a daemon on a second engine of its own (never the shared one), and a locked pipeline
        await using var engine = await SecondEngine.StartAsync();
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("kill-engine");
        Track(name);
        var config = DaemonConfig("orchestrator-engine.yaml", concurrency: 1);
        await using var daemon = new DaemonProcess(config);
        daemon.Environment["DOCKER_HOST"] = engine.Host;
        await daemon.StartAsync();

        // When a build runs and the engine is stopped (SIGTERM) while a container of the build runs, then started again
        var job = new SuiteJob(1, "build", name, null);
        job.Id = await SubmitAsync(daemon, job.Body);
        await WaitForAsync(async () => (await engine.DockerAsync("ps", "-q")).Stdout.Trim() is { Length: > 0 } running ? running : null, TimeSpan.FromMinutes(3), "a running build container on the second engine");
        var during = await daemon.GetJobAsync(job.Id, AdminSecret);
        await engine.StopAsync();
        await engine.StartAgainAsync();

        // Then the job was running at the stop and ends terminal: built right, or failed with a rerun that builds right
        Assert.Equal("running", during.GetProperty("state").GetString());
        var final = await daemon.WaitForFinalAsync(job.Id, AdminSecret, TimeSpan.FromMinutes(5));
        var digests = new Dictionary<string, string>(StringComparer.Ordinal);
        job.Outcome = await ClassifyAsync(daemon, job, final, digests);
        SuiteFigures.Record(Suite, "engine stopped and restarted during a build", job.Outcome, job.Detail);
        Assert.True(job.Outcome != SuiteOutcome.Inconsistent, job.Detail);
        Assert.Equal(digests[name], await SkopeoDigestAsync($"{TestWorkspace.Staging}/{fixture.Workspace.Prefix}/apps/{name}:1.0.0"));

        // And the engine comes to hold no container at all: everything on it was the build's, and the daemon removes
        // what the engine's builder left (a pass after the engine answers again), without help from the test
        var left = string.Empty;
        try
        {
            await WaitForAsync(
                async () =>
                {
                    // A container in "removing" has had its removal asked for (by the daemon: nothing else here removes):
                    // after an engine stopped mid-build, its overlay2 driver may keep such a removal open on a busy mount.
                    var listed = await engine.DockerAsync("ps", "-a", "--format", "{{.ID}} {{.Image}} {{.State}} {{.Command}}");
                    Assert.True(listed.ExitCode == 0, listed.Stderr);
                    left = listed.Stdout.Trim();
                    var notBeingRemoved = left.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => line.Split(' ')[2] != "removing");
                    return notBeingRemoved.Any() ? null : "nothing left but removals in progress";
                },
                TimeSpan.FromSeconds(60),
                "the engine to hold no container");
        }
        catch (TimeoutException)
        {
            Assert.Fail($"containers left on the restarted engine:{Environment.NewLine}{left}");
        }

        Assert.Equal("ok", IntegrityCheck(StatePath));
    }

    private string StatePath => Path.Combine(fixture.Workspace.Root, "state", "state.db");

    private void Track(string name) => fixture.Track($"{fixture.Workspace.Prefix}/apps/{name}");

    /// <summary>The workspace's orchestrator.yaml with the daemon section and <paramref name="concurrency"/>, as another file over the same state.</summary>
    private string DaemonConfig(string fileName, int concurrency)
    {
        fixture.Workspace.EnableDaemon();
        var path = Path.Combine(fixture.Workspace.Root, fileName);
        var text = File.ReadAllText(fixture.Workspace.ConfigPath).Replace("concurrency: 2", $"concurrency: {concurrency}", StringComparison.Ordinal);
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<long> SubmitAsync(DaemonProcess daemon, object body)
    {
        var response = await daemon.SendAsync(HttpMethod.Post, "/api/jobs", AdminSecret, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"submitting {JsonSerializer.Serialize(body)}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetInt64();
    }

    /// <summary>"running" when one of <paramref name="jobs"/> runs, "ended" when every one has ended, else null (still queued).</summary>
    private static async Task<string?> RunningOrAllEndedAsync(DaemonProcess daemon, IEnumerable<SuiteJob> jobs)
    {
        var ended = 0;
        var count = 0;
        foreach (var job in jobs)
        {
            count++;
            var state = (await daemon.GetJobAsync(job.Id, AdminSecret)).GetProperty("state").GetString();
            if (state == "running")
            {
                return "running";
            }

            ended += state is "succeeded" or "failed" or "cancelled" ? 1 : 0;
        }

        return ended == count ? "ended" : null;
    }

    /// <summary>
    /// Success: succeeded with the right result (a build's digest is the pipeline's one digest). CleanFailure:
    /// failed, production not at another digest, and the same request, submitted again, succeeds. Else Inconsistent.
    /// </summary>
    private async Task<SuiteOutcome> ClassifyAsync(DaemonProcess daemon, SuiteJob job, JsonElement final, Dictionary<string, string> digests)
    {
        var state = final.GetProperty("state").GetString();
        job.Detail = $"job {job.Id} {job.Kind} {job.Pipeline} attempt {final.GetProperty("attempt").GetInt32()}: {state}";
        if (state == "succeeded")
        {
            return RightResult(job, final, digests);
        }

        if (state != "failed")
        {
            job.Detail += $" (not succeeded or failed: {final})";
            return SuiteOutcome.Inconsistent;
        }

        job.Detail += $" ({final.GetProperty("error")})";
        var production = $"{TestWorkspace.Production}/{fixture.Workspace.Prefix}/apps/{job.Pipeline}:1.0.0";
        if (digests.TryGetValue(job.Pipeline, out var digest) && await SkopeoExistsAsync(production) && await SkopeoDigestAsync(production) != digest)
        {
            job.Detail += $"; production serves another digest than {digest}";
            return SuiteOutcome.Inconsistent;
        }

        var rerun = await daemon.WaitForFinalAsync(await SubmitAsync(daemon, job.Body), AdminSecret, TimeSpan.FromMinutes(5));
        job.Detail += $"; rerun {rerun.GetProperty("state").GetString()}";
        return rerun.GetProperty("state").GetString() == "succeeded" && RightResult(job, rerun, digests) == SuiteOutcome.Success
            ? SuiteOutcome.CleanFailure
            : SuiteOutcome.Inconsistent;
    }

    private static SuiteOutcome RightResult(SuiteJob job, JsonElement final, Dictionary<string, string> digests)
    {
        var result = final.TryGetProperty("result", out var r) && r.ValueKind == JsonValueKind.Object ? r : default;
        var digest = result.ValueKind == JsonValueKind.Object && result.TryGetProperty("digest", out var d) ? d.GetString() : null;
        if (job.Kind == "build")
        {
            if (digest is null)
            {
                job.Detail += "; a build result without a digest";
                return SuiteOutcome.Inconsistent;
            }

            if (digests.TryGetValue(job.Pipeline, out var known) && known != digest)
            {
                job.Detail += $"; built {digest}, another digest than the earlier {known} for the same inputs";
                return SuiteOutcome.Inconsistent;
            }

            digests[job.Pipeline] = digest;
            return SuiteOutcome.Success;
        }

        if (digest is not null && digest != job.Digest)
        {
            job.Detail += $"; result names {digest}, not the requested {job.Digest}";
            return SuiteOutcome.Inconsistent;
        }

        return SuiteOutcome.Success;
    }

    /// <summary>Ids of the containers (running or not) carrying <paramref name="owner"/>, read with the docker CLI.</summary>
    private static async Task<IReadOnlyList<string>> OwnedContainersAsync(string owner)
    {
        var listed = await RunAsync("docker", "ps", "-a", "-q", "--filter", $"label={ContainerOwnership.OwnerLabel}={owner}");
        Assert.True(listed.ExitCode == 0, listed.Stderr);
        return listed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Containers with a validation or lock label for one of <paramref name="digests"/>, owner or not.</summary>
    private static async Task<IReadOnlyList<string>> LabelledContainersAsync(IEnumerable<string> digests)
    {
        var left = new List<string>();
        foreach (var digest in digests)
        {
            var listed = await RunAsync("docker", "ps", "-a", "-q", "--filter", $"label=io.orchestrator.validation={digest}");
            left.AddRange(listed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        return left;
    }

    /// <summary><c>PRAGMA integrity_check</c> on the state store, read with Microsoft.Data.Sqlite directly.</summary>
    private static string IntegrityCheck(string path)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        return string.Join("; ", ReadAll(command));

        static IEnumerable<string> ReadAll(SqliteCommand command)
        {
            using var reader = command.ExecuteReader();
            var rows = new List<string>();
            while (reader.Read())
            {
                rows.Add(reader.GetString(0));
            }

            return rows;
        }
    }

    private static async Task<string> WaitForAsync(Func<Task<string?>> probe, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await probe() is { } found)
            {
                return found;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"waited {timeout} for {what}");
    }

    /// <summary>One submitted job of the suite and how it ended.</summary>
    private sealed class SuiteJob(int round, string kind, string pipeline, string? digest)
    {
        public int Round { get; } = round;

        public string Kind { get; } = kind;

        public string Pipeline { get; } = pipeline;

        public string? Digest { get; } = digest;

        public long Id { get; set; }

        public bool Killed { get; set; }

        public SuiteOutcome Outcome { get; set; }

        public string Detail { get; set; } = string.Empty;

        public object Body => Kind switch
        {
            "build" => new { kind = Kind, pipeline = Pipeline },
            "promote" => new { kind = Kind, pipeline = Pipeline, digest = Digest, stage = "production" },
            _ => (object)new { kind = Kind, pipeline = Pipeline, digest = Digest },
        };
    }
}
