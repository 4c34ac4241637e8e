using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ProcessWitness;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Python pipelines end to end through the CLI on the fixture's real slim base and a real full build base: the
/// repository's two Python samples built, validated and promoted; hashless and unpinned requirements refused at their
/// line; loose requirements resolved by pip against a simple index served on loopback and pinned into the lock.
/// </summary>
[Collection(RealPartsCollection.Name)]
[Trait("Category", "Integration")]
public sealed class PythonTests(RealPartsFixture fixture)
{
    // The hash of greet 1.0.0 as scripts/wheelhouse.py builds it from python-packages/greet, byte for byte.
    private const string GreetSha256 = "69d6f81ae45b4652165436b5f95209845dbb7c95613982dd78760c388d169437";

    private string Config => fixture.Workspace.ConfigPath;

    private string PipelineFolder(string name) => Path.Combine(fixture.Workspace.Root, "pipelines", name);

    [Fact]
    public async Task Run_PythonSamples_BuiltOnFullValidatedOnSlimAndPromotedWithoutCompilerPipOrDevRequirement()
    {
        // Given the repository's two Python samples on the fixture's bases, and the wheelhouse built from python-packages/
        await fixture.FullBaseAsync();
        var service = fixture.Workspace.AddSample("hello-python", "py-service");
        var native = fixture.Workspace.AddSample("hello-native", "py-native");
        var wheels = await RunAsync(Path.Combine(TestWorkspace.RepoRoot(), "scripts", "build-wheelhouse"), Path.Combine(PipelineFolder(service), "wheels"));
        Assert.True(wheels.ExitCode == 0, wheels.Stderr);
        Assert.Contains($"{GreetSha256} greet-1.0.0-py3-none-any.whl", wheels.Stdout, StringComparison.Ordinal);

        var released = new Dictionary<string, string>();
        foreach (var name in new[] { service, native })
        {
            var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
            fixture.Track(repository);

            // When each is locked and run through every stage
            var locked = await CliRunner.RunAsync(Config, "lock", name);
            Assert.True(locked.ExitCode == 0, locked.ToString());

            // Then the lock names the build stage's closure on the full base, the compilers the build installs
            var lockText = await File.ReadAllTextAsync(Path.Combine(fixture.Workspace.Root, "pipelines", $"{name}.lock.yaml"));
            Assert.Contains("build-base:\n  name: \"it-bookworm/full\"", lockText, StringComparison.Ordinal);
            Assert.Contains("  - { name: \"python3-pip\", version: \"23.0.1+dfsg-1\"", lockText, StringComparison.Ordinal);
            if (name == native)
            {
                Assert.Contains("  - { name: \"gcc-12\", version: ", lockText, StringComparison.Ordinal);
            }

            var run = await CliRunner.RunAsync(Config, "run", name, "--json");

            // Then it is promoted, and production serves the digest staging validated
            Assert.True(run.ExitCode == 0, run.ToString());
            var digest = run.Json.GetProperty("digest").GetString()!;
            Assert.Equal(digest, await SkopeoDigestAsync($"{TestWorkspace.Staging}/{repository}:latest"));
            Assert.Equal(digest, await SkopeoDigestAsync($"{TestWorkspace.Production}/{repository}:latest"));
            released[name] = $"{TestWorkspace.Production}/{repository}@{digest}";
        }

        // And the built-in Python checks are among the passing tests
        var serviceDigest = released[service].Split('@')[1];
        var validation = await CliRunner.RunAsync(Config, "validate", service, "--digest", serviceDigest, "--json");
        Assert.True(validation.ExitCode == 0, validation.ToString());
        var python = validation.Json.GetProperty("tests").EnumerateArray()
            .Where(t => t.GetProperty("name").GetString()!.StartsWith("python: ", StringComparison.Ordinal))
            .ToDictionary(t => t.GetProperty("name").GetString()!, t => t.GetProperty("passed").GetBoolean());
        Assert.Equal(
            new Dictionary<string, bool> { ["python: packages at their pinned versions"] = true, ["python: no C compiler"] = true, ["python: no pip cache"] = true, ["python: no dev requirement installed"] = true },
            python);

        // And docker, as an independent witness, finds the service's packages at their pins and no compiler, pip, cache or dev tool
        var witness = await DockerShellAsync(released[service], """
            for c in gcc cc g++ x86_64-linux-gnu-gcc-12; do command -v $c; done
            python3 -c 'import importlib.metadata as m; print("greet", m.version("greet")); print("hello-service", m.version("hello-service"))'
            python3 -c 'import hello_devtools' 2>/dev/null && echo dev-present || echo dev-absent
            python3 -c 'import pip' 2>/dev/null && echo pip-present || echo pip-absent
            ls -d /root/.cache/pip /tmp/pip-* 2>/dev/null || echo no-pip-cache
            """);
        Assert.Equal("greet 1.0.0\nhello-service 2.0.0\ndev-absent\npip-absent\nno-pip-cache", witness.Stdout.Trim());

        // And the C extension compiled on full runs on slim, which has neither gcc nor Python.h
        var hashed = await RunAsync("docker", "run", "--rm", "--network", "none", released[native], "slim");
        Assert.True(hashed.ExitCode == 0, hashed.Stderr);
        Assert.Equal("738f3bfc slim", hashed.Stdout.Trim());
        var headers = await DockerShellAsync(released[native], "ls /usr/include/python3.11/Python.h /usr/bin/gcc 2>/dev/null | wc -l");
        Assert.Equal("0", headers.Stdout.Trim());
    }

    [Fact]
    public async Task Check_HashlessAndUnpinnedRequirements_RefusedWithTheirFileLineAndColumn()
    {
        // Given the service sample whose requirements gain a hashless line (5) and an unpinned one (6)
        var name = fixture.Workspace.AddSample("hello-python", "py-refused");
        try
        {
            await File.AppendAllTextAsync(Path.Combine(PipelineFolder(name), "requirements.txt"), "tomli==2.0.1\nidna>=3\n");

            // When the definitions are checked, and the pipeline is built
            var check = await CliRunner.RunAsync(Config, "check");
            var build = await CliRunner.RunAsync(Config, "build", name);

            // Then both are refused as bad input, each line named with its column and fix
            Assert.True(check.ExitCode == 2, check.ToString());
            Assert.Contains("requirements.txt:5:12: 'tomli==2.0.1' has no --hash=sha256:", check.Stderr, StringComparison.Ordinal);
            Assert.Contains("requirements.txt:6:5: 'idna>=3' is not pinned to one exact version", check.Stderr, StringComparison.Ordinal);
            Assert.True(build.ExitCode == 2, build.ToString());
            Assert.Contains("requirements.txt:5:12", build.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            // The broken pipeline would refuse every other test's workspace.
            File.Delete(Path.Combine(fixture.Workspace.Root, "pipelines", $"{name}.yaml"));
            Directory.Delete(PipelineFolder(name), recursive: true);
        }
    }

    [Fact]
    public async Task Lock_RequirementsInFromLocalIndex_PinsWhatPipResolvedAndRebuildsToTheSameDigest()
    {
        // Given a simple index on loopback serving the wheelhouse, and the service sample reading loose requirements from it
        await fixture.FullBaseAsync();
        var index = Directory.CreateTempSubdirectory("orchestrator-it-index-").FullName;
        var wheels = await RunAsync("python3", Path.Combine(TestWorkspace.RepoRoot(), "scripts", "wheelhouse.py"), index, "--index");
        Assert.True(wheels.ExitCode == 0, wheels.Stderr);
        using var server = await SimpleIndex.StartAsync(index);
        var name = fixture.Workspace.AddSample("hello-python", "py-indexed");
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);
        var definition = Path.Combine(fixture.Workspace.Root, "pipelines", $"{name}.yaml");
        var requirementsIn = Path.Combine(PipelineFolder(name), "requirements.in");
        await File.WriteAllTextAsync(requirementsIn, "# loose: orchestrator lock asks pip\ngreet>=1.0 ; python_version >= \"3.9\"\n");
        var text = (await File.ReadAllTextAsync(definition))
            .Replace($"requirements: {name}/requirements.txt", $"requirements: {name}/requirements.in", StringComparison.Ordinal)
            .Replace($"find-links: {name}/wheels", $"index: {server.Url}", StringComparison.Ordinal);
        await File.WriteAllTextAsync(definition, string.Join('\n', text.Split('\n').Where(l => !l.Contains("dev-requirements:", StringComparison.Ordinal))));
        try
        {
            // When it is built before any lock, Then it is refused with the fix
            var unlocked = await CliRunner.RunAsync(Config, "build", name);
            Assert.True(unlocked.ExitCode == 1, unlocked.ToString());
            Assert.Contains($"run 'orchestrator lock {name}'", unlocked.Stderr, StringComparison.Ordinal);

            // When it is locked
            var locked = await CliRunner.RunAsync(Config, "lock", name);

            // Then the lock pins what pip resolved from the index, with the hash of the file it fetched
            Assert.True(locked.ExitCode == 0, locked.ToString());
            var lockText = await File.ReadAllTextAsync(Path.Combine(fixture.Workspace.Root, "pipelines", $"{name}.lock.yaml"));
            Assert.Contains($"python-packages:\n  - {{ name: \"greet\", version: \"1.0.0\", sha256: \"{GreetSha256}\" }}\n", lockText, StringComparison.Ordinal);
            Assert.True((await CliRunner.RunAsync(Config, "lock", name, "--check")).ExitCode == 0);

            // And the build installs exactly that from the index, and validation passes
            var build = await CliRunner.RunAsync(Config, "build", name, "--json");
            Assert.True(build.ExitCode == 0, build.ToString());
            var digest = build.Json.GetProperty("digest").GetString()!;
            var validation = await CliRunner.RunAsync(Config, "validate", name, "--digest", digest);
            Assert.True(validation.ExitCode == 0, validation.ToString());
            Assert.Contains(server.Requests, r => r.Contains("/simple/greet/", StringComparison.Ordinal));

            // And a rebuild from the same lock without any cache gives the same digest
            var rebuild = await CliRunner.RunAsync(Config, "build", name, "--no-cache", "--json");
            Assert.True(rebuild.ExitCode == 0, rebuild.ToString());
            Assert.Equal(digest, rebuild.Json.GetProperty("digest").GetString());

            // When requirements.in changes, Then the lock's drift check fails for CI until it is locked again
            await File.AppendAllTextAsync(requirementsIn, "# changed\nhello-devtools\n");
            var drift = await CliRunner.RunAsync(Config, "lock", name, "--check");
            Assert.True(drift.ExitCode == 1, drift.ToString());
        }
        finally
        {
            File.Delete(definition);
            File.Delete(Path.Combine(fixture.Workspace.Root, "pipelines", $"{name}.lock.yaml"));
            Directory.Delete(PipelineFolder(name), recursive: true);
            Directory.Delete(index, recursive: true);
        }
    }

    [Fact]
    public async Task Build_NoCacheFromPythonLock_ReproducesTheImageDigest()
    {
        // Given the native sample, locked
        await fixture.FullBaseAsync();
        var name = fixture.Workspace.AddSample("hello-native", "py-repro");
        fixture.Track($"{fixture.Workspace.Prefix}/apps/{name}");
        Assert.True((await CliRunner.RunAsync(Config, "lock", name)).ExitCode == 0);

        // When it is built twice without any cache
        var first = await CliRunner.RunAsync(Config, "build", name, "--no-cache", "--json");
        var second = await CliRunner.RunAsync(Config, "build", name, "--no-cache", "--json");

        // Then both builds give the same digest
        Assert.True(first.ExitCode == 0 && second.ExitCode == 0, first + "\n" + second);
        Assert.Equal(first.Json.GetProperty("digest").GetString(), second.Json.GetProperty("digest").GetString());
    }

    [Fact]
    public async Task Lock_PythonPipelineWhoseBasesStagingLacks_BuildsTheRuntimeAndTheBuildBaseFirst()
    {
        // Given a base definition neither of whose variants is in staging yet (each a copy of the fixture's, which is fast),
        // and the native sample on it: slim at runtime, full to compile
        var slim = fixture.BaseReference;
        var full = await fixture.FullBaseAsync();
        var repository = $"{fixture.Workspace.Prefix}/base/copied";
        fixture.Track(repository);
        File.WriteAllText(Path.Combine(fixture.Workspace.Root, "base-images", "it-copied.yaml"), $"""
            repository: {repository}
            default-variant: slim
            suite: bookworm
            components: [main]
            variants:
              slim: {"{"} from: "{slim}" {"}"}
              full: {"{"} from: "{full}" {"}"}
            """);
        var name = fixture.Workspace.AddSample("hello-native", "py-lock-bases");
        var definition = Path.Combine(fixture.Workspace.Root, "pipelines", $"{name}.yaml");
        File.WriteAllText(definition, File.ReadAllText(definition).Replace("it-bookworm/", "it-copied/", StringComparison.Ordinal));
        try
        {
            // When it is locked
            var locked = await CliRunner.RunAsync(Config, "lock", name);

            // Then both bases were put in staging first, and the lock was written on them
            Assert.True(locked.ExitCode == 0, locked.ToString());
            Assert.Equal(slim.Split('@')[1], await SkopeoDigestAsync($"{TestWorkspace.Staging}/{repository}:slim"));
            Assert.Equal(full.Split('@')[1], await SkopeoDigestAsync($"{TestWorkspace.Staging}/{repository}:full"));
            Assert.True(File.Exists(Path.Combine(fixture.Workspace.Root, "pipelines", $"{name}.lock.yaml")));
        }
        finally
        {
            File.Delete(definition);
            File.Delete(Path.ChangeExtension(definition, ".lock.yaml"));
            File.Delete(Path.Combine(fixture.Workspace.Root, "base-images", "it-copied.yaml"));
        }
    }

    /// <summary><c>python3 -m http.server</c> on a free loopback port: a PEP 503 simple index of a folder with simple/NAME/FILE.</summary>
    private sealed class SimpleIndex : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _requests = [];

        private SimpleIndex(Process process, int port)
        {
            _process = process;
            Url = $"http://127.0.0.1:{port}/simple";
        }

        public string Url { get; }

        /// <summary>The request lines the server logged so far.</summary>
        public IReadOnlyList<string> Requests
        {
            get
            {
                lock (_requests)
                {
                    return [.. _requests];
                }
            }
        }

        public static async Task<SimpleIndex> StartAsync(string folder)
        {
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }

            var start = new ProcessStartInfo("python3") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in new[] { "-m", "http.server", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--directory", folder })
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start)!;
            var index = new SimpleIndex(process, port);
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { } line)
                {
                    lock (index._requests)
                    {
                        index._requests.Add(line);
                    }
                }
            };
            process.BeginErrorReadLine();
            using var client = new HttpClient();
            for (var attempt = 0; attempt < 100; attempt++)
            {
                try
                {
                    using var response = await client.GetAsync(index.Url + "/");
                    if (response.IsSuccessStatusCode)
                    {
                        return index;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                await Task.Delay(100);
            }

            index.Dispose();
            throw new InvalidOperationException($"python3 -m http.server did not answer on {index.Url}");
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit();
            }

            _process.Dispose();
        }
    }
}
