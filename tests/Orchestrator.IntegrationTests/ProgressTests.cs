using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Registry;
using Orchestrator.Registry.Tests;
using Orchestrator.State;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Live progress in the terminal (issue 15, item 6), with the CLI as its own process doing real promotions of
/// synthetic <c>progress-test/*</c> images from staging (127.0.0.1:5001) to production (127.0.0.1:5002): under a
/// pseudo-terminal (util-linux <c>script</c>) it draws ANSI bars with bytes; with standard error to a file it writes plain
/// lines with no escape byte and no carriage return; with <c>--json</c> standard output is exactly one JSON document; and
/// following a daemon job (ports 5210–5219) shows the same progress.
/// </summary>
[Trait("Category", "Integration")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ProgressTests : IAsyncLifetime
{
    private const string Staging = "127.0.0.1:5001";
    private const string Production = "127.0.0.1:5002";
    private const string Tag = "1.0.0";
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-progress-").FullName;
    private readonly string _prefix = $"progress-test/{Guid.NewGuid().ToString("N")[..8]}";
    private readonly List<string> _repositories = [];

    private string ConfigPath => Path.Combine(_root, "orchestrator.yaml");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_root, "base-images"));
        Directory.CreateDirectory(Path.Combine(_root, "pipelines"));
        Directory.CreateDirectory(Path.Combine(_root, "state"));
        await File.WriteAllTextAsync(ConfigPath, $"""
            stages: [staging, production]
            registries:
              staging: {"{"} url: http://{Staging} {"}"}
              production: {"{"} url: http://{Production} {"}"}
            state:
              path: state/state.db
            """ + DaemonProcess.DaemonSection());
        await File.WriteAllTextAsync(Path.Combine(_root, "base-images", "deb.yaml"), """
            repository: base/deb
            default-variant: slim
            suite: bookworm
            variants:
              slim: { debootstrap-variant: minbase, slim: true }
            """);
    }

    public async Task DisposeAsync()
    {
        foreach (var repository in _repositories)
        {
            await Janitor.DeleteRepositoryAsync(Staging, repository);
            await Janitor.DeleteRepositoryAsync(Production, repository);
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Promote_UnderPseudoTerminal_DrawsAnsiBarsWithBytesForEachBlob()
    {
        // Given a validated image of two fresh layers in staging
        var (pipeline, digest, layers) = await SeedAsync("pty");

        // When it is promoted with standard error (and output) a terminal
        var result = await RunUnderTerminalAsync(["promote", pipeline, "--digest", digest.ToString(), "--to", "production"]);

        // Then it succeeded and the terminal got ANSI bars with each blob's bytes
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("\u001b[", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("━", result.Stdout, StringComparison.Ordinal);
        foreach (var layer in layers)
        {
            Assert.Contains($"copy {layer.ToShortString()}", result.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("100%", result.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"[35]\.0 MiB", result.Stdout);
        Assert.Contains($"{Production}/{_prefix}/{pipeline}@{digest}", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promote_UnderPseudoTerminalWithNoColor_DrawsTheBarsWithoutColours()
    {
        // Given a validated image in staging
        var (pipeline, digest, layers) = await SeedAsync("nocolor");

        // When it is promoted on a terminal with NO_COLOR set
        var result = await RunUnderTerminalAsync(["promote", pipeline, "--digest", digest.ToString(), "--to", "production"], new Dictionary<string, string> { ["NO_COLOR"] = "1" });

        // Then the bars are drawn (cursor control is still ANSI) but no colour is set
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("━", result.Stdout, StringComparison.Ordinal);
        Assert.All(layers, layer => Assert.Contains($"copy {layer.ToShortString()}", result.Stdout, StringComparison.Ordinal));
        Assert.DoesNotMatch(@"\u001b\[(3[0-7]|9[0-7]|38;[25];)[0-9;]*m", result.Stdout);
    }

    [Fact]
    public async Task Promote_StandardErrorToAFile_PlainLinesWithoutEscapesOrCarriageReturns()
    {
        // Given a validated image of two fresh layers in staging
        var (pipeline, digest, layers) = await SeedAsync("file");

        // When it is promoted with standard error redirected (not a terminal)
        var result = await RunAsync(["promote", pipeline, "--digest", digest.ToString(), "--to", "production"]);

        // Then standard error has one started and one done line per blob, and no escape byte or carriage return
        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var layer in layers)
        {
            Assert.Contains($"    copy {layer.ToShortString()} started (", result.Stderr, StringComparison.Ordinal);
            Assert.Contains($"    copy {layer.ToShortString()} done: ", result.Stderr, StringComparison.Ordinal);
        }

        Assert.DoesNotContain('\u001b', result.Stderr + result.Stdout);
        Assert.DoesNotContain('\r', result.Stderr + result.Stdout);
        Assert.Equal($"{Production}/{_prefix}/{pipeline}@{digest}", result.Stdout.Trim());
    }

    [Fact]
    public async Task Promote_Json_StandardOutputIsExactlyOneJsonDocument()
    {
        // Given a validated image of two fresh layers in staging
        var (pipeline, digest, _) = await SeedAsync("json");

        // When it is promoted with --json
        var result = await RunAsync(["promote", pipeline, "--digest", digest.ToString(), "--to", "production", "--json"]);

        // Then standard output parses as one JSON document (any trailing text would fail the parse), progress stays on standard error
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal(digest.ToString(), json.RootElement.GetProperty("digest").GetString());
        Assert.Contains(" started (", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', result.Stderr);
    }

    [Fact]
    public async Task Promote_FollowingADaemonJob_ShowsTheSameProgressLiveAndPlain()
    {
        // Given a daemon on this part's port and two validated images
        var (livePipeline, liveDigest, liveLayers) = await SeedAsync("daemon-pty");
        var (plainPipeline, plainDigest, plainLayers) = await SeedAsync("daemon-file");
        await using var daemon = new DaemonProcess(ConfigPath, FreePortIn(5210, 5219));
        await daemon.StartAsync();
        var remote = new Dictionary<string, string> { ["ORCHESTRATOR_URL"] = daemon.Url, ["ORCHESTRATOR_TOKEN"] = DaemonProcess.AdminSecret };

        // When each is promoted through the daemon, one followed on a terminal, one with standard error to a file
        var live = await RunUnderTerminalAsync(["promote", livePipeline, "--digest", liveDigest.ToString(), "--to", "production"], remote);
        var plain = await RunAsync(["promote", plainPipeline, "--digest", plainDigest.ToString(), "--to", "production"], remote);

        // Then the terminal shows the daemon's blobs as ANSI bars, and the file the same plain lines as in-process
        Assert.True(live.ExitCode == 0, live + Environment.NewLine + daemon.Output);
        Assert.Contains("accepted by", live.Stdout, StringComparison.Ordinal);
        Assert.Contains("\u001b[", live.Stdout, StringComparison.Ordinal);
        Assert.Contains("━", live.Stdout, StringComparison.Ordinal);
        Assert.All(liveLayers, layer => Assert.Contains($"copy {layer.ToShortString()}", live.Stdout, StringComparison.Ordinal));
        Assert.True(plain.ExitCode == 0, plain + Environment.NewLine + daemon.Output);
        Assert.All(plainLayers, layer =>
        {
            Assert.Contains($"    copy {layer.ToShortString()} started (", plain.Stderr, StringComparison.Ordinal);
            Assert.Contains($"    copy {layer.ToShortString()} done: ", plain.Stderr, StringComparison.Ordinal);
        });
        Assert.DoesNotContain('\u001b', plain.Stderr);
        Assert.DoesNotContain("{\"kind\"", plain.Stderr, StringComparison.Ordinal);
    }

    // A pipeline whose image (two random layers, 3 and 5 MiB, so each is copied, not found) is in staging with a passing validation.
    private async Task<(string Pipeline, Digest Digest, Digest[] Layers)> SeedAsync(string name)
    {
        var repository = $"{_prefix}/{name}";
        _repositories.Add(repository);
        using var factory = new RegistryClientFactory();
        var client = factory.Create(new RegistryEndpoint(Staging, PlainHttp: true));
        var layers = new List<(Digest Digest, long Size)>();
        foreach (var size in new[] { 3 * 1024 * 1024, 5 * 1024 * 1024 })
        {
            var layer = RandomNumberGenerator.GetBytes(size);
            var layerDigest = Digest.Sha256Of(layer);
            await client.UploadBlobAsync(repository, layerDigest, layer.Length, new MemoryStream(layer));
            layers.Add((layerDigest, layer.Length));
        }

        var config = SyntheticManifest.Config("amd64", layers.Select(l => l.Digest));
        var configDigest = Digest.Sha256Of(config);
        await client.UploadBlobAsync(repository, configDigest, config.Length, new MemoryStream(config));
        var manifest = SyntheticManifest.Manifest(docker: false, configDigest, config.Length, layers);
        var digest = await client.PutManifestAsync(repository, Tag, manifest, MediaTypes.OciManifest);

        await File.WriteAllTextAsync(Path.Combine(_root, "pipelines", $"{name}.yaml"), $"""
            name: {name}
            version: {Tag}
            base: deb/slim
            repository: {repository}
            tags: ["{Tag}"]
            """);
        await using var state = new SqliteStateStore(Path.Combine(_root, "state", "state.db"));
        await state.InitializeAsync();
        await state.RecordValidationAsync(new ValidationRecord(
            0, name, "staging", ImageReference.Create(Staging, repository, digest: digest), true,
            [new TestResult("command", "seeded by the progress tests", true, "exit 0", TimeSpan.Zero)], "progress-it", DateTimeOffset.UtcNow, TimeSpan.Zero));
        return (name, digest, [.. layers.Select(l => l.Digest)]);
    }

    private Task<CliRunner.Result> RunAsync(string[] arguments, IReadOnlyDictionary<string, string>? environment = null) =>
        StartAsync(CliBinary.StartInfo([.. arguments, "--config", ConfigPath]), environment);

    // script(1) runs the command on a new pseudo-terminal and copies what the terminal shows to its own standard output.
    private Task<CliRunner.Result> RunUnderTerminalAsync(string[] arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var cli = CliBinary.StartInfo([.. arguments, "--config", ConfigPath]);
        var command = string.Join(' ', new[] { cli.FileName }.Concat(cli.ArgumentList).Select(Quote));
        var start = new ProcessStartInfo("script") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in new[] { "-qec", command, "/dev/null" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["TERM"] = "xterm-256color";
        start.Environment.Remove("NO_COLOR");
        return StartAsync(start, environment);
    }

    private async Task<CliRunner.Result> StartAsync(ProcessStartInfo start, IReadOnlyDictionary<string, string>? environment)
    {
        start.WorkingDirectory = _root;
        start.Environment.Remove("ORCHESTRATOR_URL");
        start.Environment["ORCHESTRATOR_ACTOR"] = "progress-it";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        if (start.RedirectStandardInput)
        {
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new CliRunner.Result(process.ExitCode, await stdout, await stderr);
    }

    private static string Quote(string argument) => "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static int FreePortIn(int first, int last)
    {
        for (var port = first; port <= last; port++)
        {
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try the next one in the range.
            }
        }

        throw new InvalidOperationException($"no free port in {first}–{last} for the daemon");
    }
}
