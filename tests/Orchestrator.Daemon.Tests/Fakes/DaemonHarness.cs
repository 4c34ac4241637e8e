using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;
using Orchestrator.Daemon.Api;
using Orchestrator.Daemon.Hosting;
using Orchestrator.State;

namespace Orchestrator.Daemon.Tests.Fakes;

/// <summary>
/// A daemon hosted for real (Kestrel on a free loopback port) over fakes and a real SqliteJobStore in
/// a temporary folder. Pipelines <c>hello</c> (copies hello.txt) and <c>other</c>; stages staging and
/// production; tokens ci, release, admin and builder (no read). Can be stopped and started again over
/// the same store, as a restarted daemon would be.
/// </summary>
internal sealed class DaemonHarness : IAsyncDisposable
{
    public const string CiSecret = "ci-secret-0123456789";
    public const string ReleaseSecret = "release-secret-0123456789";
    public const string AdminSecret = "admin-secret-0123456789";
    public const string BuilderSecret = "builder-secret-0123456789";
    public const string StagingHost = "127.0.0.1:5001";
    public const string ProductionHost = "127.0.0.1:5002";
    public const string BaseRepository = "base/debian-bookworm";

    private WebApplication? _app;

    public const string QaHost = "127.0.0.1:5003";

    public DaemonHarness(int concurrency = 2, IReadOnlyList<string>? autoPromote = null, AutoMode helloAuto = AutoMode.None, bool withQa = false, TimeProvider? time = null, bool publicRead = false)
    {
        Root = Path.Combine(Path.GetTempPath(), $"orchestrator-daemon-tests-{Guid.NewGuid():N}");
        var pipelines = Path.Combine(Root, "pipelines");
        Directory.CreateDirectory(pipelines);
        File.WriteAllText(Path.Combine(pipelines, "hello.yaml"), "name: hello\n");
        File.WriteAllText(Path.Combine(pipelines, "hello.txt"), "hello\n");
        File.WriteAllText(Path.Combine(pipelines, "other.yaml"), "name: other\n");

        var stages = new List<StageDefinition>
        {
            new("staging", new RegistryEndpoint(StagingHost, PlainHttp: true)),
            new("production", new RegistryEndpoint(ProductionHost, PlainHttp: true)),
        };
        if (withQa)
        {
            stages.Insert(1, new("qa", new RegistryEndpoint(QaHost, PlainHttp: true)));
        }

        var config = new OrchestratorConfig(
            Path.Combine(Root, "orchestrator.yaml"), Root, new EngineSettings(EngineSettings.DefaultEndpoint), stages,
            Path.Combine(Root, "state.db"), Path.Combine(Root, "base-images"), pipelines, Path.Combine(Root, "work"))
        {
            Daemon = new DaemonSettings(
                "http://127.0.0.1:0",
                concurrency,
                [
                    new TokenDefinition("ci", "T_CI", [JobAuthorization.Read, JobAuthorization.Build, JobAuthorization.Validate, "promote:staging"]),
                    new TokenDefinition("release", "T_RELEASE", [JobAuthorization.Read, "promote:production"]),
                    new TokenDefinition("admin", "T_ADMIN", [JobAuthorization.Read, JobAuthorization.Build, JobAuthorization.Validate, "promote:production"]),
                    new TokenDefinition("builder", "T_BUILDER", [JobAuthorization.Build]),
                    new TokenDefinition("unset", "T_UNSET", [JobAuthorization.Read]),
                ],
                autoPromote ?? [],
                TimeSpan.FromHours(1),
                publicRead),
        };
        var variant = new BaseVariantDefinition("slim", "bookworm", null, null, ["main"], "minbase", true, [], null);
        var bases = new Dictionary<string, BaseImageDefinition>(StringComparer.Ordinal)
        {
            ["debian-bookworm"] = new("debian-bookworm", Path.Combine(Root, "base-images", "debian-bookworm.yaml"), BaseRepository, "slim",
                new Dictionary<string, BaseVariantDefinition>(StringComparer.Ordinal) { ["slim"] = variant }),
        };
        var pipelineDefinitions = new Dictionary<string, PipelineDefinition>(StringComparer.Ordinal)
        {
            ["hello"] = Pipeline("hello", Path.Combine(pipelines, "hello.yaml"), [new FileCopy(Path.Combine(pipelines, "hello.txt"), "/hello.txt")]) with { Auto = helloAuto },
            ["other"] = Pipeline("other", Path.Combine(pipelines, "other.yaml"), []),
        };
        Workspace = new Workspace(config, bases, pipelineDefinitions);
        Services = new WorkflowGraph(Engine, Registries, new UnusedCopier(), State, new UnusedRootfs(), time ?? TimeProvider.System, LoggerFactory);
        Jobs = new SqliteJobStore(config.StatePath);
    }

    public string Root { get; }

    public Workspace Workspace { get; set; }

    public WorkflowGraph Services { get; }

    public FakeEngine Engine { get; } = new();

    /// <summary>The engine pool the daemon places jobs on; null for a pool of one over <see cref="Engine"/>.</summary>
    public IEnginePool? Engines { get; set; }

    public FakeRegistries Registries { get; } = new();

    public FakeStateStore State { get; } = new();

    public ScriptedJobs Runner { get; set; } = new();

    public IJobStore Jobs { get; set; }

    public CapturingLoggerProvider Logs { get; } = new();

    public ILoggerFactory LoggerFactory => _loggerFactory ??= Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));

    private ILoggerFactory? _loggerFactory;

    public IReleaseQueries? Releases { get; set; }

    public bool StartWatcher { get; set; }

    public Func<CancellationToken, Task<Workspace>>? Reload { get; set; }

    public TimeSpan? WatchInterval { get; set; }

    public HttpClient Http { get; private set; } = new();

    public WebApplication App => _app ?? throw new InvalidOperationException("not started");

    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal)
    {
        ["T_CI"] = CiSecret,
        ["T_RELEASE"] = ReleaseSecret,
        ["T_ADMIN"] = AdminSecret,
        ["T_BUILDER"] = BuilderSecret,
    };

    public static PipelineDefinition Pipeline(string name, string sourceFile, IReadOnlyList<FileCopy> files) => new(
        name, "1.0.0", sourceFile, new BaseVariantRef("debian-bookworm", "slim"), $"apps/{name}", [], files, [], null, null, null, null, [], ["1.0.0"], ValidationSpec.Empty);

    public async Task StartAsync()
    {
        var options = new DaemonOptions(Workspace, Services, Jobs, LoggerFactory, "http://127.0.0.1:0")
        {
            GetEnvironmentVariable = name => Environment.GetValueOrDefault(name),
            ExecuteJob = Runner.RunAsync,
            Releases = Releases,
            PollInterval = TimeSpan.FromMilliseconds(100),
            HealthTimeout = TimeSpan.FromSeconds(2),
            StartWatcher = StartWatcher,
            ReloadWorkspace = Reload,
            WatchInterval = WatchInterval,
            Engines = Engines,
        };
        await Jobs.InitializeAsync();
        _app = DaemonHost.Build(options);
        await _app.StartAsync();
        // A restarted host listens on a new port: a new client for it.
        Http.Dispose();
        Http = new HttpClient { BaseAddress = new Uri(_app.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Stops the host the way SIGTERM does (graceful shutdown), keeping the store.</summary>
    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? secret, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (secret is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }

        if (body is not null)
        {
            request.Content = body as HttpContent ?? new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        return await Http.SendAsync(request);
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    public async Task<Job> SubmitAsync(object body, string secret = AdminSecret)
    {
        var response = await SendAsync(HttpMethod.Post, "/api/jobs", secret, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"expected 202, got {(int)response.StatusCode}: {text}");
        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetInt64();
        return (await Jobs.GetAsync(id))!;
    }

    /// <summary>Polls the store until job <paramref name="id"/> satisfies <paramref name="condition"/>.</summary>
    public async Task<Job> WaitForJobAsync(long id, Func<Job, bool> condition, string because)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        Job? job = null;
        while (DateTime.UtcNow < deadline)
        {
            job = await Jobs.GetAsync(id);
            if (job is not null && condition(job))
            {
                return job;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"job {id} never {because}; last seen: {job}");
    }

    /// <summary>The running worker's passes: wait for a whole one to know it would have started a job by now.</summary>
    public Orchestrator.Daemon.Workers.PassCounter WorkerPasses => App.Services.GetRequiredService<Orchestrator.Daemon.Workers.JobWorker>().Passes;

    /// <summary>
    /// Returns once the worker has made a whole pass after this call, woken at once rather than at its poll
    /// interval: every job it could start by then has been claimed (Running in the store), so a job still Queued
    /// afterwards was held back by the rules, not by timing.
    /// </summary>
    public async Task WorkerPassedAsync()
    {
        var pass = WorkerPasses.NextWholePassAsync();
        App.Services.GetRequiredService<Orchestrator.Daemon.Workers.JobSignal>().Notify();
        await pass.WaitAsync(TimeSpan.FromSeconds(15));
    }

    /// <summary>Returns once <paramref name="count"/> jobs have run to their end in the running worker, follow-up jobs (auto-promotion, a watcher build's validation) queued.</summary>
    public Task JobsFinishedAsync(int count) =>
        App.Services.GetRequiredService<Orchestrator.Daemon.Workers.JobWorker>().JobsFinished.WaitForAsync(count).WaitAsync(TimeSpan.FromSeconds(15));

    public static Digest DigestOf(char c) => Digest.Parse("sha256:" + new string(c, 64));

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Http.Dispose();
        if (Jobs is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        _loggerFactory?.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder left behind is harmless.
        }
    }
}
