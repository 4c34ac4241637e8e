using System.Text.Json;
using Orchestrator.Cli;
using Orchestrator.Cli.Infrastructure;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// Exit codes and error output of the CLI for bad input and refusals that are decided before any
/// engine or registry is contacted (the registries here point at a closed port to prove it).
/// </summary>
public sealed class CliApplicationTests : IDisposable
{
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private readonly CliWorkspace _workspace = new(CliWorkspace.DefaultPipeline + "\n" + """
        packages:
          apt:
            hello: "2.10-3"
        """);

    private string ConfigPath => _workspace.ConfigPath;

    public void Dispose() => _workspace.Dispose();

    // In-process: a daemon named by the machine's environment (ORCHESTRATOR_URL) must not take these over.
    private Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) => _workspace.RunAsync(args);

    [Fact]
    public async Task Check_ValidWorkspace_ExitsZeroWithSummary()
    {
        // When the definitions are checked
        var (exitCode, stdout, _) = await RunAsync("check");

        // Then they load
        Assert.Equal(0, exitCode);
        Assert.Contains("1 base image(s), 1 pipeline(s), stages staging -> production", stdout);
    }

    [Fact]
    public async Task Check_UnpinnedPackage_ExitsTwoNamingFileLineColumnAndPackage()
    {
        // Given a pipeline whose package has no version, on line 7 column 5
        File.WriteAllText(Path.Combine(_workspace.Root, "pipelines", "app.yaml"), """
            name: app
            version: 1.0.0
            base: deb/slim
            repository: apps/app
            packages:
              apt:
                hello:
            """);

        // When the definitions are checked, as JSON
        var (exitCode, stdout, stderr) = await RunAsync("check", "--json");

        // Then the CLI exits 2, names the file, position and package, on stderr and in the JSON error
        Assert.Equal(2, exitCode);
        Assert.Contains("app.yaml:7:5:", stderr);
        Assert.Contains("'hello'", stderr);
        var error = JsonDocument.Parse(stdout).RootElement.GetProperty("error");
        Assert.Equal(2, error.GetProperty("exitCode").GetInt32());
        var definition = error.GetProperty("definitions").EnumerateArray().Single();
        Assert.Equal(7, definition.GetProperty("line").GetInt32());
        Assert.Equal(5, definition.GetProperty("column").GetInt32());
        Assert.EndsWith("app.yaml", definition.GetProperty("file").GetString());
    }

    [Fact]
    public async Task Build_BadDefinitions_ExitsTwoBeforeContactingAnything()
    {
        // Given a pipeline on a base that does not exist
        File.WriteAllText(Path.Combine(_workspace.Root, "pipelines", "app.yaml"), """
            name: app
            version: 1.0.0
            base: nope/slim
            repository: apps/app
            """);

        // When it is built
        var (exitCode, _, stderr) = await RunAsync("build", "app");

        // Then the definition error is reported (not an unreachable engine or registry)
        Assert.Equal(2, exitCode);
        Assert.Contains("app.yaml:3:", stderr);
        Assert.Contains("nope", stderr);
    }

    [Fact]
    public async Task Build_UnknownPipeline_ExitsTwoListingKnownPipelines()
    {
        var (exitCode, _, stderr) = await RunAsync("build", "missing");

        Assert.Equal(2, exitCode);
        Assert.Contains("no pipeline named 'missing'", stderr);
        Assert.Contains("known pipelines: app", stderr);
    }

    [Theory]
    [InlineData("sha256:xyz", "64 are required")]
    [InlineData("md5:0123", "unsupported digest algorithm")]
    [InlineData("0123456789abcdef", "not a digest")]
    public async Task Promote_MalformedDigest_ExitsTwoSayingWhatIsWrong(string digest, string expected)
    {
        var (exitCode, _, stderr) = await RunAsync("promote", "app", "--digest", digest, "--to", "production");

        Assert.Equal(2, exitCode);
        Assert.Contains(expected, stderr);
    }

    [Fact]
    public async Task Promote_WithoutPassingValidation_ExitsOneBeforeCopyingAnything()
    {
        // Given no validation is recorded for the digest (and the registries are unreachable)
        // When it is promoted
        var (exitCode, _, stderr) = await RunAsync("promote", "app", "--digest", Digest, "--to", "production");

        // Then the promotion is refused by the gate, not by a failed copy
        Assert.Equal(1, exitCode);
        Assert.Contains("no passing validation", stderr);
        Assert.Contains($"orchestrator validate app --digest {Digest}", stderr);
    }

    [Fact]
    public async Task Promote_ToFirstStage_ExitsTwo()
    {
        var (exitCode, _, stderr) = await RunAsync("promote", "app", "--digest", Digest, "--to", "staging");

        Assert.Equal(2, exitCode);
        Assert.Contains("first stage", stderr);
    }

    [Fact]
    public async Task Promote_UnknownStage_ExitsTwoListingStages()
    {
        var (exitCode, _, stderr) = await RunAsync("promote", "app", "--digest", Digest, "--to", "qa");

        Assert.Equal(2, exitCode);
        Assert.Contains("staging, production", stderr);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("promote", "app")]
    [InlineData("build")]
    [InlineData("build", "app", "--bogus")]
    public async Task Parse_UsageError_ExitsTwo(params string[] args)
    {
        var (exitCode, _, stderr) = await RunAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Contains("orchestrator --help", stderr);
    }

    [Theory]
    [InlineData("daemon", false)]
    [InlineData("check", false)]
    [InlineData("lock", false)]
    [InlineData("build", true)]
    [InlineData("status", true)]
    [InlineData("jobs", true)]
    public async Task Help_Verb_ListsServerOnlyWhereADaemonCanAnswer(string verb, bool listsServer)
    {
        // Given a verb, When its help is printed
        var stdout = new StringWriter();
        var exitCode = await CliApplication.RunAsync([verb, "--help"], new CliConsole(stdout, new StringWriter()) { Environment = CliWorkspace.Hermetic });

        // Then --server and --token-env are listed exactly for the verbs that can ask a daemon
        Assert.Equal(0, exitCode);
        Assert.Equal(listsServer, stdout.ToString().Contains("--server", StringComparison.Ordinal));
        Assert.Equal(listsServer, stdout.ToString().Contains("--token-env", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Daemon_GivenServer_ExitsTwoAsAnUnknownOption()
    {
        // Given --server on the daemon verb, which serves rather than asks a daemon
        var (exitCode, _, stderr) = await RunAsync("daemon", "--server", "http://127.0.0.1:9");

        // Then it is a usage error, not silently ignored
        Assert.Equal(2, exitCode);
        Assert.Contains("--server", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_Verbose_SaysTheBuildStepLinesShowWithoutIt()
    {
        // Given the build verb's help
        var stdout = new StringWriter();
        await CliApplication.RunAsync(["build", "--help"], new CliConsole(stdout, new StringWriter()) { Environment = CliWorkspace.Hermetic });

        // Then --verbose is described as what it adds, and says the 'Step N/M' lines show without it (as ConsoleJobReporter does)
        Assert.Contains("'Step N/M' lines show without it", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Reporter_NotVerbose_PrintsBuildStepLinesButNotOtherEngineOutput()
    {
        // Given a reporter without --verbose
        var stderr = new StringWriter();
        var reporter = new ConsoleJobReporter(stderr, verbose: false);

        // When the engine streams a build step and its output
        reporter.Progress(new Orchestrator.Core.Ports.EngineProgress(null, null, "Step 2/5 : RUN apt-get install\n", null, null));
        reporter.Progress(new Orchestrator.Core.Ports.EngineProgress(null, null, "Get:1 http://deb.debian.org bookworm InRelease\n", null, null));

        // Then only the step line shows, as --help says
        Assert.Equal("    Step 2/5 : RUN apt-get install" + Environment.NewLine, stderr.ToString());
    }

    [Fact]
    public async Task Run_NeitherPipelineNorAll_ExitsTwo()
    {
        var (exitCode, _, stderr) = await RunAsync("run");

        Assert.Equal(2, exitCode);
        Assert.Contains("--all", stderr);
    }

    [Fact]
    public async Task Validate_NoDigestAndNoRecordedBuild_ExitsTwoWithTheFix()
    {
        var (exitCode, _, stderr) = await RunAsync("validate", "app");

        Assert.Equal(2, exitCode);
        Assert.Contains("orchestrator build app", stderr);
    }

    [Fact]
    public async Task Check_MissingConfig_ExitsTwoWithTheFix()
    {
        var stderr = new StringWriter();
        var exitCode = await CliApplication.RunAsync(["check", "--config", Path.Combine(_workspace.Root, "nope.yaml")], new CliConsole(new StringWriter(), stderr) { Environment = CliWorkspace.Hermetic });

        Assert.Equal(2, exitCode);
        Assert.Contains("--config", stderr.ToString());
    }
}
