using System.Diagnostics;
using System.Text.Json;
using Microsoft.Playwright;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.Dashboard.Tests.Infrastructure;

/// <summary>
/// Once per test class: a throwaway workspace (unique repository prefix) with a slim debootstrap base built for real,
/// the small <c>hello</c> pipeline locked, built and validated through a real daemon (the native binary on a free
/// loopback port, tokens admin, release, viewer), so staging holds a validated digest and production nothing yet; and
/// Debian's chromium driven by Playwright. Everything it pushed is deleted at the end.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string Staging = "127.0.0.1:5001";
    public const string Production = "127.0.0.1:5002";
    public const string ViewerSecretEnv = "DASH_ORCHESTRATOR_TOKEN_VIEWER";

    /// <summary>The dashboard tests' daemons listen on 5200–5209, the ports set aside for them on the shared machine.</summary>
    public const int DaemonPort = 5201;

    /// <summary>Debian's chromium; Playwright's own download is not reachable here (scripts/setup-chromium installs it).</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private DaemonProcess? _daemon;
    private IBrowser? _browser;

    public DashboardFixture()
    {
        Prefix = $"dash-{Guid.NewGuid().ToString("N")[..8]}";
        Root = Directory.CreateTempSubdirectory("orchestrator-dashboard-").FullName;
    }

    public string Prefix { get; }

    public string Root { get; }

    public string ConfigPath => Path.Combine(Root, "orchestrator.yaml");

    /// <summary>Unique per run: the engine's build image (orchestrator-build/NAME) is named after the pipeline.</summary>
    public string Pipeline => $"hello-{Prefix}";

    public string Repository => $"{Prefix}/apps/{Pipeline}";

    public string BaseRepository => $"{Prefix}/base/debian-bookworm";

    /// <summary>A token with the read role only.</summary>
    public static string ViewerSecret { get; } = "viewer-" + Guid.NewGuid().ToString("N");

    internal DaemonProcess Daemon => _daemon ?? throw new InvalidOperationException("not started");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("not started");

    /// <summary>The digest the build pushed to staging and the validation passed.</summary>
    public string StagingDigest { get; private set; } = string.Empty;

    /// <summary>&lt;repo&gt;/.orchestrator/test-results/screenshots, for people to look at.</summary>
    public static string ScreenshotDirectory => Path.Combine(RepoRoot(), ".orchestrator", "test-results", "screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: run scripts/setup-chromium (apt-get install chromium)");
        }

        WriteWorkspace();
        var baseBuild = await RunCliAsync("base", "build", "it-bookworm/slim", "--json");
        Assert.True(baseBuild.ExitCode == 0, $"the base build failed: {baseBuild}");
        var locked = await RunCliAsync("lock", Pipeline);
        Assert.True(locked.ExitCode == 0, $"locking {Pipeline} failed: {locked}");

        _daemon = new DaemonProcess(ConfigPath, DaemonPort);
        _daemon.Environment[ViewerSecretEnv] = ViewerSecret;
        await _daemon.StartAsync();

        var build = await RunJobAsync(new { kind = "build", pipeline = Pipeline });
        StagingDigest = build.GetProperty("result").GetProperty("digest").GetString()!;
        await RunJobAsync(new { kind = "validate", pipeline = Pipeline, digest = StagingDigest });

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,

            // Chromium refuses to run its sandbox as root, which the test machine is.
            Args = Environment.UserName == "root" ? ["--no-sandbox"] : [],
        });
        Directory.CreateDirectory(ScreenshotDirectory);
    }

    /// <summary>Submits a job as admin and waits for it to succeed; returns the job.</summary>
    public async Task<JsonElement> RunJobAsync(object body)
    {
        var response = await Daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonProcess.AdminSecret, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"submitting {JsonSerializer.Serialize(body)} failed: {text}");
        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetInt64();
        var job = await Daemon.WaitForFinalAsync(id, DaemonProcess.AdminSecret, TimeSpan.FromMinutes(10));
        Assert.True(job.GetProperty("state").GetString() == "succeeded", $"job {id} did not succeed: {job}{Environment.NewLine}{Daemon.Output}");
        return job;
    }

    /// <summary>The native CLI as a process on this workspace.</summary>
    internal async Task<ProcessWitness.Result> RunCliAsync(params string[] arguments)
    {
        var start = CliBinary.StartInfo([.. arguments, "--config", ConfigPath]);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the CLI");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        await process.WaitForExitAsync(timeout.Token);
        return new ProcessWitness.Result(process.ExitCode, await stdout, await stderr);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }

        foreach (var repository in new[] { Repository, BaseRepository })
        {
            await Janitor.DeleteRepositoryAsync(Staging, repository);
            await Janitor.DeleteRepositoryAsync(Production, repository);
        }

        // The build's local engine image is named after the pipeline, not under the prefix; untagged without force,
        // so layers another build now shares stay.
        await ProcessWitness.RunAsync("docker", "rmi", $"orchestrator-build/{Pipeline}:latest");
        await Janitor.RemoveLocalImagesAsync(Prefix);

        // An image whose layers later builds (of any workspace: the same base content has the same id) now use
        // cannot be removed by id; its references under this run's prefix are untagged instead.
        var left = await ProcessWitness.RunAsync("docker", "images", "--digests", "--format", "{{.Repository}}@{{.Digest}}");
        foreach (var reference in left.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(r => r.Contains($"/{Prefix}/", StringComparison.Ordinal) && !r.EndsWith("@<none>", StringComparison.Ordinal)))
        {
            await ProcessWitness.RunAsync("docker", "rmi", reference);
        }
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }

    /// <summary>The repository's root (the folder with Orchestrator.sln).</summary>
    public static string RepoRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Orchestrator.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("no Orchestrator.sln above " + AppContext.BaseDirectory);
    }

    private void WriteWorkspace()
    {
        Directory.CreateDirectory(Path.Combine(Root, "base-images"));
        Directory.CreateDirectory(Path.Combine(Root, "pipelines", Pipeline));
        File.WriteAllText(ConfigPath, $"""
            engine:
              endpoint: unix:///var/run/docker.sock
            stages: [staging, production]
            registries:
              staging: {"{"} url: http://{Staging} {"}"}
              production: {"{"} url: http://{Production} {"}"}
            state:
              path: state/state.db
            paths:
              work: work
            daemon:
              concurrency: 2
              watch-interval-seconds: 3600
              tokens:
                - {"{"} name: release, secret-env: {DaemonProcess.ReleaseSecretEnv}, roles: [read, "promote:production"] {"}"}
                - {"{"} name: admin, secret-env: {DaemonProcess.AdminSecretEnv}, roles: [read, build, validate, "promote:production"] {"}"}
                - {"{"} name: viewer, secret-env: {ViewerSecretEnv}, roles: [read] {"}"}
            """);
        File.WriteAllText(Path.Combine(Root, "base-images", "it-bookworm.yaml"), $"""
            repository: {BaseRepository}
            default-variant: slim
            suite: bookworm
            components: [main]
            variants:
              slim:
                debootstrap-variant: minbase
                slim: true
              full: {"{"}{"}"}                 # not built: its bar shows "not built" next to slim
            """);
        File.WriteAllText(Path.Combine(Root, "pipelines", Pipeline, "greet.sh"), "#!/bin/sh\necho hello from orchestrator\n");
        File.WriteAllText(Path.Combine(Root, "pipelines", $"{Pipeline}.yaml"), $"""
            name: {Pipeline}
            version: 1.0.0
            base: it-bookworm/slim
            repository: {Repository}
            packages:
              apt:
                hello: "2.10-3"
            files:
              - src: {Pipeline}/greet.sh
                dest: /app/greet.sh
                mode: "0755"
            user: "10001"
            entrypoint: ["/app/greet.sh"]
            tags: ["1.0.0"]
            validate:
              commands:
                - name: greets
                  run: ["/app/greet.sh"]
                  expect-stdout: "^hello from orchestrator$"
                - name: pinned hello runs
                  run: ["hello", "-g", "42"]
                  expect-stdout: "^42$"
              files:
                - {"{"} path: /app/greet.sh, exists: true {"}"}
              metadata: {"{"} user: "10001" {"}"}
            """);
    }
}
