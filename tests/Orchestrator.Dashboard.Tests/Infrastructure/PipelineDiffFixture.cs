using Microsoft.Playwright;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.Dashboard.Tests.Infrastructure;

/// <summary>
/// Once per test class: a workspace whose pipeline (<c>dashboard-diff-ID</c>) has production serving v1 and staging
/// serving v2, pushed straight through the registries' API as small hand-made images (config labels naming two base
/// digests, random layers, an SPDX SBOM referrer each) so the daemon has to read both from the real registries; v2 is
/// tagged as signed in staging. A real daemon (native binary, port <see cref="DaemonPort"/>) and Debian's chromium.
/// Between v1 and v2: <c>curl</c> added, <c>oldpkg</c> removed, <c>hello</c> 2.10-2 → 2.10-3, Python <c>greet</c>
/// 1.0.0 → 1.1.0 and <c>requests</c> added, plus one Python package whose name is markup, to check it shows as text.
/// </summary>
public sealed class PipelineDiffFixture : IAsyncLifetime
{
    public const int DaemonPort = 5200;

    /// <summary>A Python package name that is HTML: the page must show it as these characters.</summary>
    public const string MarkupName = "<img src=x onerror=alert(1)>";

    public static readonly string BaseV1 = "sha256:" + new string('1', 64);
    public static readonly string BaseV2 = "sha256:" + new string('2', 64);

    private IPlaywright? _playwright;
    private DaemonProcess? _daemon;
    private IBrowser? _browser;

    public PipelineDiffFixture()
    {
        Prefix = $"dashboard-diff-{Guid.NewGuid().ToString("N")[..8]}";
        Root = Directory.CreateTempSubdirectory("orchestrator-dashboard-diff-").FullName;
    }

    public string Prefix { get; }

    public string Root { get; }

    public string ConfigPath => Path.Combine(Root, "orchestrator.yaml");

    /// <summary>The pipeline's name is the run's prefix, so its row is easy to find and unique.</summary>
    public string Pipeline => Prefix;

    public string Repository => $"{Prefix}/apps/app";

    internal DaemonProcess Daemon => _daemon ?? throw new InvalidOperationException("not started");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("not started");

    internal OciPusher.Pushed Production { get; private set; } = null!;

    internal OciPusher.Pushed Staging { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(DashboardFixture.ChromiumPath))
        {
            throw new InvalidOperationException($"{DashboardFixture.ChromiumPath} is missing: run scripts/setup-chromium (apt-get install chromium)");
        }

        WriteWorkspace();
        using (var production = new OciPusher(DashboardFixture.Production, Repository))
        {
            Production = await production.PushImageAsync("1.0.0", Labels(BaseV1), [4096, 6000]);
            await production.AttachSbomAsync(Production,
            [
                Deb("hello", "2.10-2", "amd64"), Deb("libc6", "2.36-9+deb12u9", "amd64"), Deb("oldpkg", "1.0-1", "all"),
                Pypi("greet", "1.0.0"),
            ]);
        }

        using (var staging = new OciPusher(DashboardFixture.Staging, Repository))
        {
            Staging = await staging.PushImageAsync("1.0.0", Labels(BaseV2), [4096, 9000, 2048]);
            await staging.AttachSbomAsync(Staging,
            [
                Deb("hello", "2.10-3", "amd64"), Deb("libc6", "2.36-9+deb12u9", "amd64"), Deb("curl", "7.88.1-10+deb12u8", "amd64"),
                Pypi("greet", "1.1.0"), Pypi("requests", "2.32.3"), Pypi(MarkupName, "6.6.6"),
            ]);
            await staging.TagSignatureAsync(Staging);
        }

        _daemon = new DaemonProcess(ConfigPath, DaemonPort);
        _daemon.Environment[DashboardFixture.ViewerSecretEnv] = DashboardFixture.ViewerSecret;
        await _daemon.StartAsync();

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = DashboardFixture.ChromiumPath,
            Headless = true,
            Args = Environment.UserName == "root" ? ["--no-sandbox"] : [],
        });
        Directory.CreateDirectory(DashboardFixture.ScreenshotDirectory);
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

        await Janitor.DeleteRepositoryAsync(DashboardFixture.Staging, Repository);
        await Janitor.DeleteRepositoryAsync(DashboardFixture.Production, Repository);
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }

    private static Dictionary<string, string> Labels(string baseDigest) => new(StringComparer.Ordinal)
    {
        ["org.opencontainers.image.base.name"] = "127.0.0.1:5001/base/debian-bookworm:slim",
        ["org.opencontainers.image.base.digest"] = baseDigest,
    };

    private static (string, string, string) Deb(string name, string version, string architecture) =>
        (name, version, $"pkg:deb/debian/{Uri.EscapeDataString(name)}@{Uri.EscapeDataString(version)}?arch={architecture}&distro=debian-12");

    private static (string, string, string) Pypi(string name, string version) =>
        (name, version, $"pkg:pypi/{Uri.EscapeDataString(name)}@{Uri.EscapeDataString(version)}");

    private void WriteWorkspace()
    {
        Directory.CreateDirectory(Path.Combine(Root, "base-images"));
        Directory.CreateDirectory(Path.Combine(Root, "pipelines"));
        File.WriteAllText(ConfigPath, $"""
            engine:
              endpoint: unix:///var/run/docker.sock
            stages: [staging, production]
            registries:
              staging: {"{"} url: http://{DashboardFixture.Staging} {"}"}
              production: {"{"} url: http://{DashboardFixture.Production} {"}"}
            state:
              path: state/state.db
            paths:
              work: work
            daemon:
              concurrency: 1
              watch-interval-seconds: 3600
              tokens:
                - {"{"} name: admin, secret-env: {DaemonProcess.AdminSecretEnv}, roles: [read, build, validate, "promote:production"] {"}"}
                - {"{"} name: viewer, secret-env: {DashboardFixture.ViewerSecretEnv}, roles: [read] {"}"}
            """);
        File.WriteAllText(Path.Combine(Root, "base-images", "it-bookworm.yaml"), $"""
            repository: {Prefix}/base/debian-bookworm
            default-variant: slim
            suite: bookworm
            components: [main]
            variants:
              slim:
                debootstrap-variant: minbase
                slim: true
            """);
        File.WriteAllText(Path.Combine(Root, "pipelines", $"{Pipeline}.yaml"), $"""
            name: {Pipeline}
            version: 2.0.0
            base: it-bookworm/slim
            repository: {Repository}
            packages:
              apt:
                hello: "2.10-3"
                curl: "7.88.1-10+deb12u8"
            tags: ["1.0.0"]
            """);
    }
}
