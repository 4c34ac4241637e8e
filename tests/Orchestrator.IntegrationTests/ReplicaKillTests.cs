using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;
using Xunit.Abstractions;
using static Orchestrator.IntegrationTests.Infrastructure.ProcessWitness;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Issue 14, item 2 with the real parts: two replicas of the published daemon on one fresh PostgreSQL database (ports
/// 5180 and 5181), at least 30 builds, validations and promotions of four pipelines, and one replica SIGKILLed in the
/// middle of a job at least five times (at seeded random points, restarted each time). Every job must end once, right;
/// production must serve the built digest (read with skopeo); jobs of one lane (pipeline and stage) must never overlap in
/// their recorded times; both replicas must have run jobs; the watcher lock must move to the survivor when its holder
/// dies. Each killed job is recorded in the <c>replica-kills</c> figures. <c>ORCHESTRATOR_KILL_SEED=N</c> replays a run.
/// </summary>
[Collection(RealPartsCollection.Name)]
[Trait("Category", "Integration")]
public sealed class ReplicaKillTests(RealPartsFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Suite = "replica-kills";
    private const string PasswordEnv = "IT_ORCHESTRATOR_PG_PASSWORD";
    private const int JobsWanted = 30;
    private const int KillsWanted = 5;
    private static readonly int[] Ports = [5180, 5181];
    // Rounds stop at 30 jobs and 5 kills; this caps them (the counts are then asserted). Cold builds are the slow part:
    // a few minutes on an idle machine, far more on a loaded one. ORCHESTRATOR_REPLICA_KILL_MINUTES overrides it.
    private static readonly TimeSpan RoundsBudget = TimeSpan.FromMinutes(
        int.TryParse(Environment.GetEnvironmentVariable("ORCHESTRATOR_REPLICA_KILL_MINUTES"), out var minutes) && minutes > 0 ? minutes : 12);

    private readonly string _database = "replicas_it_" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _password = TestPostgres.ReadPassword();

    private static string AdminSecret => DaemonProcess.AdminSecret;

    public async Task InitializeAsync()
    {
        var created = await PsqlAsync("orchestrator", $"CREATE DATABASE {_database} TEMPLATE template0;");
        Assert.True(created.ExitCode == 0, $"PostgreSQL at 127.0.0.1:5433 is not usable (run scripts/setup-postgres): {created.Stderr}");
    }

    public async Task DisposeAsync() => await PsqlAsync("orchestrator", $"DROP DATABASE IF EXISTS {_database} WITH (FORCE);");

    [Fact]
    public async Task Replicas_TwoOnOnePostgresQueueOneKilledMidJobFiveTimes_EveryJobEndsOnceRightAndLanesNeverOverlap()
    {
        // Given four locked pipelines, a config on the test's PostgreSQL database with 3 s leases, and two replicas
        var seed = Environment.GetEnvironmentVariable("ORCHESTRATOR_KILL_SEED") is { Length: > 0 } fixedSeed ? int.Parse(fixedSeed, System.Globalization.CultureInfo.InvariantCulture) : Environment.TickCount & 0x7fffffff;
        output.WriteLine($"replica kill seed {seed} (ORCHESTRATOR_KILL_SEED={seed} replays it)");
        var random = new Random(seed);
        var pipelines = new List<string>();
        foreach (var suffix in new[] { "a", "b", "c", "d" })
        {
            var name = fixture.Workspace.AddHelloPipeline($"replicas-test-{suffix}");
            fixture.Track($"{fixture.Workspace.Prefix}/apps/{name}");
            pipelines.Add(name);
        }

        await Task.WhenAll(pipelines.Select(fixture.Workspace.LockAsync));
        var config = ReplicaConfig();
        var replicas = new DaemonProcess[2];
        var digests = new Dictionary<string, string>(StringComparer.Ordinal);
        var validated = new HashSet<string>(StringComparer.Ordinal);
        var jobs = new List<SuiteJob>();
        var killedKinds = new List<string>();
        var kills = 0; // SIGKILLs that hit at least one running job; one kill can hit two (a replica runs two at once)
        var clock = Stopwatch.StartNew();
        try
        {
            for (var i = 0; i < replicas.Length; i++)
            {
                replicas[i] = await StartReplicaAsync(config, Ports[i]);
            }

            // When rounds of one job per pipeline run (builds first, then validations, promotions and cache-hit builds at
            // random), one replica, alternately, SIGKILLed once it leases a job of the round, and started again at once
            for (var round = 1; (jobs.Count < JobsWanted || kills < KillsWanted) && clock.Elapsed < RoundsBudget; round++)
            {
                var roundJobs = new List<SuiteJob>();
                foreach (var pipeline in pipelines)
                {
                    var kind = !digests.ContainsKey(pipeline) ? "build"
                        : !validated.Contains(pipeline) ? "validate"
                        : random.Next(3) switch { 0 => "build", 1 => "validate", _ => "promote" };
                    var job = new SuiteJob(round, kind, pipeline, kind == "build" ? null : digests[pipeline]);
                    job.Id = await SubmitAsync(replicas[roundJobs.Count % 2], job.Body);
                    roundJobs.Add(job);
                }

                var victim = round % 2;
                var survivor = replicas[1 - victim];
                if (await WaitForLeaseAsync(survivor, replicas[victim].Url, roundJobs) is true)
                {
                    await Task.Delay(random.Next(0, 1200));
                    await replicas[victim].KillAsync();
                    await replicas[victim].DisposeAsync();

                    // The jobs the dead replica still leases are the ones it was killed in the middle of.
                    var hit = false;
                    foreach (var lease in await LeasesOfAsync(survivor, replicas[victim].Url))
                    {
                        if (roundJobs.FirstOrDefault(j => j.Id == lease) is { } killed)
                        {
                            killed.KilledMidJob = true;
                            killedKinds.Add(killed.Kind);
                            hit = true;
                        }
                    }

                    kills += hit ? 1 : 0;

                    replicas[victim] = await StartReplicaAsync(config, Ports[victim]);
                }

                foreach (var job in roundJobs)
                {
                    var final = await survivor.WaitForFinalAsync(job.Id, AdminSecret, TimeSpan.FromMinutes(3));
                    job.Check(final, digests);
                    if (job.Problem is null && job.Kind == "validate")
                    {
                        validated.Add(job.Pipeline);
                    }

                    if (job.KilledMidJob)
                    {
                        SuiteFigures.Record(Suite, $"replica SIGKILL during {job.Kind} (round {round}, seed {seed})",
                            job.Problem is null ? SuiteOutcome.Success : SuiteOutcome.Inconsistent, job.Detail);
                    }
                }

                jobs.AddRange(roundJobs);
            }

            output.WriteLine($"{clock.Elapsed.TotalSeconds:0} s: {jobs.Count} jobs, {kills} kills mid-job, {killedKinds.Count} jobs killed ({string.Join(", ", killedKinds)})");

            // Then every job ended once, succeeded with the right result, and the ones killed mid-job ran again
            var problems = string.Join(Environment.NewLine, jobs.Where(j => j.Problem is not null).Select(j => j.Detail));
            Assert.True(problems.Length == 0, $"seed {seed}: jobs that did not end right:{Environment.NewLine}{problems}");
            Assert.True(jobs.Count >= JobsWanted, $"seed {seed}: only {jobs.Count} jobs ran within {RoundsBudget}");
            Assert.True(kills >= KillsWanted, $"seed {seed}: only {kills} kills hit a running job within {RoundsBudget}");
            Assert.All(jobs.Where(j => j.KilledMidJob), j => Assert.True(j.Attempt >= 2, $"job {j.Id} was killed mid-job but ran once: {j.Detail}"));

            // And production serves each promoted pipeline's one built digest, and nothing for the others (read with skopeo)
            foreach (var pipeline in pipelines)
            {
                var repository = $"{fixture.Workspace.Prefix}/apps/{pipeline}";
                Assert.Equal(digests[pipeline], await SkopeoDigestAsync($"{TestWorkspace.Staging}/{repository}:1.0.0"));
                if (jobs.Any(j => j.Pipeline == pipeline && j.Kind == "promote"))
                {
                    Assert.Equal(digests[pipeline], await SkopeoDigestAsync($"{TestWorkspace.Production}/{repository}:1.0.0"));
                }
                else
                {
                    Assert.False(await SkopeoExistsAsync($"{TestWorkspace.Production}/{repository}:1.0.0"), $"{pipeline} is in production though no promotion ran");
                }
            }

            // And no two jobs of one lane overlap in their recorded start and end times
            await AssertLanesNeverOverlapAsync(jobs);

            // And both replicas ran jobs to their end (the last attempt's "runs on replica" line names each one's URL)
            var ranOn = await LastAttemptUrlsAsync(jobs);
            foreach (var port in Ports)
            {
                Assert.Contains($"http://127.0.0.1:{port}", ranOn.Values);
            }

            // And the builds and validations spread over both engines (each job's result names the engine it ran on)
            var engines = await EnginesUsedAsync(jobs);
            Assert.Contains(FirstEngine, engines);
            Assert.Contains(SecondEngine, engines);

            // And GET /api/replicas (and status --replicas) shows both live replicas, the dead ones down, one watcher
            // (a replica killed in the last round shows alive until its heartbeat expires: a few lease lengths at most)
            var expected = Ports.Select(p => $"http://127.0.0.1:{p}").Order().ToList();
            var settle = System.Diagnostics.Stopwatch.StartNew();
            JsonElement document;
            List<JsonElement> alive;
            do
            {
                document = await ReplicasAsync(replicas[0]);
                alive = document.GetProperty("replicas").EnumerateArray().Where(r => r.GetProperty("state").GetString() == "alive").ToList();
                if (alive.Select(r => r.GetProperty("urls").GetString()!).Order().SequenceEqual(expected))
                {
                    break;
                }

                await Task.Delay(500);
            }
            while (settle.Elapsed < TimeSpan.FromSeconds(30));

            Assert.Equal(expected, alive.Select(r => r.GetProperty("urls").GetString()!).Order());
            Assert.True(document.GetProperty("replicas").EnumerateArray().Count(r => r.GetProperty("state").GetString() == "down") >= kills);
            var watcher = document.GetProperty("watcher").GetString();
            Assert.Single(alive, r => r.GetProperty("id").GetString() == watcher);
            var cli = await StatusReplicasAsync(replicas[1].Url);
            Assert.Equal("postgres", cli.GetProperty("store").GetString());
            Assert.Equal(watcher, cli.GetProperty("watcher").GetString());

            // And when the watcher's replica dies, the other one takes the watcher lock over within a few seconds
            var holder = Array.FindIndex(replicas, r => alive.Single(a => a.GetProperty("id").GetString() == watcher).GetProperty("urls").GetString() == r.Url);
            await replicas[holder].KillAsync();
            var other = replicas[1 - holder];
            var takenOver = await WaitForAsync(
                async () =>
                {
                    var now = await ReplicasAsync(other);
                    var id = now.TryGetProperty("watcher", out var w) ? w.GetString() : null;
                    var mine = now.GetProperty("replicas").EnumerateArray().FirstOrDefault(r => r.GetProperty("urls").GetString() == other.Url && r.GetProperty("state").GetString() == "alive");
                    return id is not null && mine.ValueKind == JsonValueKind.Object && mine.GetProperty("id").GetString() == id ? id : null;
                },
                TimeSpan.FromSeconds(20),
                "the surviving replica to hold the watcher lock");
            Assert.NotEqual(watcher, takenOver);
        }
        finally
        {
            foreach (var replica in replicas.Where(r => r is not null))
            {
                await replica.DisposeAsync();
            }
        }

        // And no validation container of these digests is left in the engine
        Assert.Empty(await LabelledContainersAsync(digests.Values));
    }

    private const string FirstEngine = "engine-1";
    private const string SecondEngine = "engine-2";
    private const string SecondEngineSocket = "/run/orchestrator-engine2/docker.sock";

    private async Task<DaemonProcess> StartReplicaAsync(string config, int port)
    {
        var replica = new DaemonProcess(config, port);
        replica.Environment[PasswordEnv] = _password;
        await replica.StartAsync();
        return replica;
    }

    /// <summary>The fixture's orchestrator.yaml with the daemon section, its state in the test's database, 3 s leases.</summary>
    private string ReplicaConfig()
    {
        fixture.Workspace.EnableDaemon();
        var text = File.ReadAllText(fixture.Workspace.ConfigPath);
        var withPostgres = text
            .Replace("state:\n  path: state/state.db", $"state:\n  postgres: {{ host: 127.0.0.1, port: 5433, database: {_database}, username: orchestrator, password-env: {PasswordEnv} }}", StringComparison.Ordinal)
            .Replace("\ndaemon:\n", "\ndaemon:\n  lease-seconds: 3\n", StringComparison.Ordinal)
            // Two engines (issue 14 item 4): the shared one and the second dockerd scripts/setup-second-engine starts, one
            // slot each, so a replica's second concurrent build or validation goes to the engine the first left free.
            .Replace(
                "engine:\n  endpoint: unix:///var/run/docker.sock\n",
                $"engines:\n  - {{ name: {FirstEngine}, endpoint: \"unix:///var/run/docker.sock\", slots: 1 }}\n  - {{ name: {SecondEngine}, endpoint: \"unix://{SecondEngineSocket}\", slots: 1 }}\n",
                StringComparison.Ordinal);
        Assert.True(File.Exists(SecondEngineSocket), $"{SecondEngineSocket} is missing: start the second engine with scripts/setup-second-engine");
        Assert.Contains(SecondEngineSocket, withPostgres, StringComparison.Ordinal);
        Assert.Contains(_database, withPostgres, StringComparison.Ordinal);
        Assert.Contains("lease-seconds: 3", withPostgres, StringComparison.Ordinal);
        var path = Path.Combine(fixture.Workspace.Root, "orchestrator-replicas.yaml");
        File.WriteAllText(path, withPostgres);
        return path;
    }

    private static async Task<long> SubmitAsync(DaemonProcess daemon, object body)
    {
        var response = await daemon.SendAsync(HttpMethod.Post, "/api/jobs", AdminSecret, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"submitting {JsonSerializer.Serialize(body)}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetInt64();
    }

    private static async Task<JsonElement> ReplicasAsync(DaemonProcess daemon)
    {
        var response = await daemon.SendAsync(HttpMethod.Get, "/api/replicas", AdminSecret);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /api/replicas: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>The ids of the Running jobs the live replica listening on <paramref name="url"/> leases, as <paramref name="daemon"/> sees them.</summary>
    private static async Task<IReadOnlyList<long>> LeasesOfAsync(DaemonProcess daemon, string url) =>
        (await ReplicasAsync(daemon)).GetProperty("replicas").EnumerateArray()
            .Where(r => r.GetProperty("urls").GetString() == url && r.GetProperty("state").GetString() == "alive")
            .SelectMany(r => r.GetProperty("leases").EnumerateArray().Select(l => l.GetProperty("job").GetInt64()))
            .ToList();

    /// <summary>True once the replica on <paramref name="url"/> leases a job of <paramref name="jobs"/>; false when they all ended first.</summary>
    private static async Task<bool> WaitForLeaseAsync(DaemonProcess survivor, string url, IReadOnlyList<SuiteJob> jobs)
    {
        var ids = jobs.Select(j => j.Id).ToHashSet();
        var seen = await WaitForAsync(
            async () =>
            {
                if ((await LeasesOfAsync(survivor, url)).Any(ids.Contains))
                {
                    return "leased";
                }

                foreach (var job in jobs)
                {
                    if ((await survivor.GetJobAsync(job.Id, AdminSecret)).GetProperty("state").GetString() is "queued" or "running")
                    {
                        return null;
                    }
                }

                return "ended";
            },
            TimeSpan.FromMinutes(3),
            $"a job leased by the replica at {url}");
        return seen == "leased";
    }

    /// <summary><c>orchestrator status --replicas --json --server URL</c>, the CLI asking the daemon.</summary>
    private async Task<JsonElement> StatusReplicasAsync(string url)
    {
        Environment.SetEnvironmentVariable(DaemonProcess.AdminSecretEnv, AdminSecret);
        var status = await CliRunner.RunAsync(fixture.Workspace.ConfigPath, "status", "--replicas", "--json", "--server", url, "--token-env", DaemonProcess.AdminSecretEnv);
        Assert.True(status.ExitCode == 0, status.ToString());
        return status.Json;
    }

    private async Task AssertLanesNeverOverlapAsync(IReadOnlyList<SuiteJob> jobs)
    {
        var ids = string.Join(",", jobs.Select(j => j.Id));
        var rows = await PsqlAsync(_database, $"SELECT id, kind, pipeline, coalesce(stage, ''), started_at, finished_at FROM jobs WHERE id IN ({ids}) ORDER BY id;");
        Assert.True(rows.ExitCode == 0, rows.Stderr);
        var lanes = rows.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('|'))
            .Select(f => (Id: f[0], Lane: f[1] == "Promote" ? $"{f[2]}/{f[3]}" : $"{f[2]}/staging", Start: f[4], End: f[5]))
            .ToList();
        Assert.Equal(jobs.Count, lanes.Count);
        foreach (var lane in lanes.GroupBy(l => l.Lane))
        {
            // ISO-8601 UTC text with 7 fraction digits: text order is time order.
            var ordered = lane.OrderBy(l => l.Start, StringComparer.Ordinal).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                Assert.True(
                    string.CompareOrdinal(ordered[i - 1].End, ordered[i].Start) <= 0,
                    $"lane {lane.Key}: job {ordered[i - 1].Id} ran {ordered[i - 1].Start}..{ordered[i - 1].End}, overlapping job {ordered[i].Id} from {ordered[i].Start}");
            }
        }
    }

    /// <summary>Each job's last "attempt N runs on replica ID (URLS)" log line's URLs.</summary>
    private async Task<Dictionary<long, string>> LastAttemptUrlsAsync(IReadOnlyList<SuiteJob> jobs)
    {
        var ids = string.Join(",", jobs.Select(j => j.Id));
        var rows = await PsqlAsync(_database,
            $"SELECT DISTINCT ON (job_id) job_id, message FROM job_log WHERE job_id IN ({ids}) AND message LIKE 'attempt % runs on replica %' ORDER BY job_id, sequence DESC;");
        Assert.True(rows.ExitCode == 0, rows.Stderr);
        var urls = new Dictionary<long, string>();
        foreach (var line in rows.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var bar = line.IndexOf('|', StringComparison.Ordinal);
            var message = line[(bar + 1)..];
            urls[long.Parse(line[..bar], System.Globalization.CultureInfo.InvariantCulture)] = message[(message.LastIndexOf('(') + 1)..^1];
        }

        Assert.Equal(jobs.Count, urls.Count);
        return urls;
    }

    private static async Task<IReadOnlyList<string>> LabelledContainersAsync(IEnumerable<string> digests)
    {
        var left = new List<string>();
        foreach (var digest in digests)
        {
            foreach (var host in new[] { "unix:///var/run/docker.sock", $"unix://{SecondEngineSocket}" })
            {
                var listed = await RunAsync("docker", "-H", host, "ps", "-a", "-q", "--filter", $"label=io.orchestrator.validation={digest}");
                left.AddRange(listed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(id => $"{host} {id}"));
            }
        }

        return left;
    }

    /// <summary>The engines the jobs' results name (<c>"engine"</c>, added by the job runner on a pool); promotions take none.</summary>
    private async Task<IReadOnlySet<string>> EnginesUsedAsync(IReadOnlyList<SuiteJob> jobs)
    {
        var ids = string.Join(",", jobs.Select(j => j.Id));
        var rows = await PsqlAsync(_database, $"SELECT DISTINCT result_json::json->>'engine' FROM jobs WHERE id IN ({ids}) AND result_json IS NOT NULL;");
        Assert.True(rows.ExitCode == 0, rows.Stderr);
        return rows.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(e => e.Length > 0).ToHashSet(StringComparer.Ordinal);
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

            await Task.Delay(50);
        }

        throw new TimeoutException($"waited {timeout} for {what}");
    }

    private Task<ProcessWitness.Result> PsqlAsync(string database, string sql) => TestPostgres.PsqlAsync(_password, database, sql);

    /// <summary>One submitted job and how it ended.</summary>
    private sealed class SuiteJob(int round, string kind, string pipeline, string? digest)
    {
        public int Round { get; } = round;

        public string Kind { get; } = kind;

        public string Pipeline { get; } = pipeline;

        public string? Digest { get; } = digest;

        public long Id { get; set; }

        public bool KilledMidJob { get; set; }

        public int Attempt { get; private set; }

        /// <summary>Why the job did not end right; null when it did.</summary>
        public string? Problem { get; private set; }

        public string Detail { get; private set; } = string.Empty;

        public object Body => Kind switch
        {
            "build" => new { kind = Kind, pipeline = Pipeline },
            "promote" => new { kind = Kind, pipeline = Pipeline, digest = Digest, stage = "production" },
            _ => (object)new { kind = Kind, pipeline = Pipeline, digest = Digest },
        };

        /// <summary>Succeeded, with a build's digest the pipeline's one digest and any other job's result naming the requested digest.</summary>
        public void Check(JsonElement final, Dictionary<string, string> digests)
        {
            var state = final.GetProperty("state").GetString();
            Attempt = final.GetProperty("attempt").GetInt32();
            Detail = $"job {Id} {Kind} {Pipeline} round {Round} attempt {Attempt}{(KilledMidJob ? " (killed mid-job)" : string.Empty)}: {state}";
            if (state != "succeeded")
            {
                Problem = $"{state}: {final.GetProperty("error")}";
                Detail += $" ({Problem})";
                return;
            }

            var result = final.TryGetProperty("result", out var r) && r.ValueKind == JsonValueKind.Object ? r : default;
            var got = result.ValueKind == JsonValueKind.Object && result.TryGetProperty("digest", out var d) ? d.GetString() : null;
            if (Kind == "build")
            {
                if (got is null || (digests.TryGetValue(Pipeline, out var known) && known != got))
                {
                    Problem = $"built {got ?? "no digest"}, not the pipeline's one digest";
                }
                else
                {
                    digests[Pipeline] = got;
                }
            }
            else if (got is not null && got != Digest)
            {
                Problem = $"result names {got}, not the requested {Digest}";
            }

            Detail += Problem is null ? string.Empty : $" ({Problem})";
        }
    }
}
