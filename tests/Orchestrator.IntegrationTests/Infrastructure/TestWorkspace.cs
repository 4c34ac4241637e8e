namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway workspace against the real engine and registries: its own orchestrator.yaml, state file,
/// base image definition and pipelines, with every repository under a unique prefix so concurrent runs
/// and earlier leftovers never collide.
/// </summary>
internal sealed class TestWorkspace : IDisposable
{
    public const string Staging = "127.0.0.1:5001";
    public const string Production = "127.0.0.1:5002";

    public TestWorkspace()
    {
        Prefix = $"it-{Guid.NewGuid().ToString("N")[..8]}";
        Root = Directory.CreateTempSubdirectory("orchestrator-it-").FullName;
        Directory.CreateDirectory(Path.Combine(Root, "base-images"));
        Directory.CreateDirectory(Path.Combine(Root, "pipelines"));
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
              full: {"{"}{"}"}                 # built only by the tests that need it (Python build base)
            """);
    }

    /// <summary>
    /// The test certificates scripts/setup-pki made (ca.crt, other-ca.crt, client.crt, …): under $ORCHESTRATOR_STATE_DIR/pki,
    /// else the checkout's .orchestrator/pki, where the TLS and token test registries took their server certificate.
    /// </summary>
    public static string PkiFile(string name) => Path.Combine(
        Environment.GetEnvironmentVariable("ORCHESTRATOR_STATE_DIR") is { Length: > 0 } state ? state : Path.Combine(RepoRoot(), ".orchestrator"),
        "pki", name);

    /// <summary>The repository's root (the folder with Orchestrator.sln), where the samples and scripts are.</summary>
    public static string RepoRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Orchestrator.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("no Orchestrator.sln above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// Copies the repository's sample pipeline <paramref name="sample"/> (its definition and folder) into this
    /// workspace, on this workspace's base and under its repository prefix, as pipeline <paramref name="name"/>.
    /// </summary>
    public string AddSample(string sample, string name)
    {
        var pipelines = Path.Combine(RepoRoot(), "pipelines");
        CopyFolder(Path.Combine(pipelines, sample), Path.Combine(Root, "pipelines", name));
        var text = File.ReadAllText(Path.Combine(pipelines, $"{sample}.yaml"))
            .Replace("debian-bookworm/", "it-bookworm/", StringComparison.Ordinal)
            .Replace($"name: {sample}\n", $"name: {name}\n", StringComparison.Ordinal)
            .Replace($"{sample}/", $"{name}/", StringComparison.Ordinal)
            .Replace($"repository: apps/{sample}", $"repository: {Prefix}/apps/{name}", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(Root, "pipelines", $"{name}.yaml"), text);
        return name;
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(p => p is "build" or "__pycache__" || p.EndsWith(".egg-info", StringComparison.Ordinal)))
            {
                continue;
            }

            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    /// <summary>The unique first path component of every repository this workspace uses.</summary>
    public string Prefix { get; }

    public string Root { get; }

    public string ConfigPath => Path.Combine(Root, "orchestrator.yaml");

    public string BaseRepository => $"{Prefix}/base/debian-bookworm";

    /// <summary>
    /// <see cref="AddHelloPipeline"/>, then <c>orchestrator lock NAME</c> on the real base and mirror, since
    /// builds refuse a pipeline without a lock.
    /// </summary>
    public async Task<string> AddLockedHelloPipelineAsync(string name, string version = "1.0.0", string greetingPattern = "^hello from orchestrator$", bool floatingLatest = false)
    {
        AddHelloPipeline(name, version, greetingPattern, floatingLatest);
        await LockAsync(name);
        return name;
    }

    /// <summary>Runs <c>orchestrator lock NAME</c> and fails the test unless it exits 0.</summary>
    public async Task LockAsync(string name)
    {
        var locked = await CliRunner.RunAsync(ConfigPath, "lock", name);
        Assert.True(locked.ExitCode == 0, $"locking {name} failed: {locked}");
    }

    /// <summary>
    /// Writes pipelines/NAME.yaml on the slim base installing the pinned <c>hello</c> package and a copied
    /// script; <paramref name="greetingPattern"/> is what its validation expects the script to print.
    /// </summary>
    public string AddHelloPipeline(string name, string version = "1.0.0", string greetingPattern = "^hello from orchestrator$", bool floatingLatest = false)
    {
        var folder = Path.Combine(Root, "pipelines", name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "greet.sh"), "#!/bin/sh\necho hello from orchestrator\n");
        File.WriteAllText(Path.Combine(Root, "pipelines", $"{name}.yaml"), $"""
            name: {name}
            version: {version}
            base: it-bookworm/slim
            repository: {Prefix}/apps/{name}
            packages:
              apt:
                hello: "2.10-3"
            files:
              - src: {name}/greet.sh
                dest: /app/greet.sh
                mode: "0755"
            env: {"{"} GREETING_STYLE: plain {"}"}
            user: "10001"
            entrypoint: ["/app/greet.sh"]
            tags: ["{"{version}"}", "latest"]
            floating-tags: [{(floatingLatest ? "latest" : string.Empty)}]
            validate:
              commands:
                - name: greets
                  run: ["/app/greet.sh"]
                  expect-stdout: "{greetingPattern}"
                - name: pinned hello runs
                  run: ["hello", "-g", "42"]
                  expect-stdout: "^42$"
              files:
                - {"{"} path: /app/greet.sh, exists: true {"}"}
                - {"{"} path: /usr/share/man/man1/hello.1.gz, exists: false {"}"}
              metadata: {"{"} user: "10001" {"}"}
              max-size-mb: 200
            """);
        return name;
    }

    /// <summary>Adds the daemon section (tokens ci, release, admin) to orchestrator.yaml, once.</summary>
    public void EnableDaemon()
    {
        lock (this)
        {
            var text = File.ReadAllText(ConfigPath);
            if (!text.Contains("\ndaemon:", StringComparison.Ordinal))
            {
                File.AppendAllText(ConfigPath, DaemonProcess.DaemonSection());
            }
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
