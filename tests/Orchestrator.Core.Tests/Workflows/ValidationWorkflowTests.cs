using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class ValidationWorkflowTests : IDisposable
{
    private readonly WorkflowHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task ValidateAsync_ExitCodeAsExpected_Passes()
    {
        // Given a command test expecting exit 0 and a container that exits 0
        var digest = Given(Command("version", ["python3", "--version"]));
        _harness.Engine.Script = _ => new ContainerScript(0, "Python 3.11.2\n");

        // When the digest is validated
        var result = await Validate(digest);

        // Then the test and the validation pass
        var test = Assert.Single(result.Results);
        Assert.True(test.Passed, test.Detail);
        Assert.Equal("command", test.Kind);
        Assert.Equal("version", test.Name);
        Assert.True(result.Passed);
    }

    [Fact]
    public async Task ValidateAsync_CommandTests_ReportStartedThenPassedOrFailedEvents()
    {
        // Given two command tests, the second failing
        var digest = Given(Command("version", ["python3", "--version"]), Command("broken", ["false"]));
        _harness.Engine.Script = spec => spec.Entrypoint![0] == "false" ? new ContainerScript(1, Stderr: "boom\n") : new ContainerScript(0);

        // When the digest is validated
        await Validate(digest);

        // Then each test is reported as started, then passed or failed with its elapsed time and what failed
        var events = _harness.Reporter.Events.Where(e => e.Kind.StartsWith("test-", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            [(ProgressKind.TestStarted, "version"), (ProgressKind.TestPassed, "version"), (ProgressKind.TestStarted, "broken"), (ProgressKind.TestFailed, "broken")],
            events.Take(4).Select(e => (e.Kind, e.Name)));
        Assert.All(events.Where(e => e.IsEnd), e => Assert.NotNull(e.ElapsedSeconds));
        Assert.Contains("exit code 1", events[3].Detail, StringComparison.Ordinal);
        Assert.Null(events[1].Detail);
    }

    [Fact]
    public async Task ValidateAsync_EngineCredentialSourceComposed_PullsTheDigestWithWhatItGivesForTheFirstStage()
    {
        // Given an engine credential source (docker's config.json in the product) that knows the first stage's registry
        var digest = Given(Command("version", ["python3", "--version"]));
        _harness.Engine.Script = _ => new ContainerScript(0, "Python 3.11.2\n");
        var source = new RecordingEngineCredentials(new RegistryCredentials(string.Empty, string.Empty, IdentityToken: "refresh-abc"));
        _harness.EngineCredentials = source;

        // When the digest is validated
        await Validate(digest);

        // Then the engine pulled the digest with those credentials, asked for the first stage's registry
        var pulled = Assert.Single(_harness.Engine.Pulls);
        Assert.Equal(digest, pulled.Digest);
        Assert.Equal("refresh-abc", Assert.Single(_harness.Engine.PullCredentials)?.IdentityToken);
        Assert.Equal(_harness.Config.FirstStage.Registry, Assert.Single(source.Asked));
    }

    [Fact]
    public async Task ValidateAsync_ExitCodeDiffers_FailsNamingBothCodes()
    {
        // Given a command test expecting exit 0 and a container that exits 3
        var digest = Given(Command("version", ["python3", "--version"]));
        _harness.Engine.Script = _ => new ContainerScript(3, Stderr: "boom\n");

        // When the digest is validated
        var result = await Validate(digest);

        // Then it fails, saying what came back and what was expected, with the output
        var test = Assert.Single(result.Results);
        Assert.False(test.Passed);
        Assert.False(result.Passed);
        Assert.Contains("exit code 3, expected 0", test.Detail, StringComparison.Ordinal);
        Assert.Contains("boom", test.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_NonZeroExpectedExit_PassesOnThatCode()
    {
        // Given a test that expects a command to fail with 2
        var digest = Given(Command("refuses", ["false"]) with { ExpectExit = 2 });
        _harness.Engine.Script = _ => new ContainerScript(2);

        // When the digest is validated
        var result = await Validate(digest);

        // Then exit 2 is a pass
        Assert.True(Assert.Single(result.Results).Passed);
    }

    [Theory]
    [InlineData("^Python 3\\.11\\.\\d+$", "Python 3.11.2\n", true)]
    [InlineData("^Python 3\\.11\\.\\d+\\z", "Python 3.11.2\n", true)]
    [InlineData("^second$", "first\nsecond\nthird\n", true)]
    [InlineData("^Python 3\\.12", "Python 3.11.2\n", false)]
    [InlineData("^ok$", "not ok\n", false)]
    public async Task ValidateAsync_StdoutRegex_MultiLineWithTrailingNewlineIgnored(string pattern, string stdout, bool passes)
    {
        // Given a stdout expectation and a container printing stdout
        var digest = Given(Command("out", ["app"]) with { ExpectStdout = pattern });
        _harness.Engine.Script = _ => new ContainerScript(0, stdout);

        // When the digest is validated
        var test = Assert.Single((await Validate(digest)).Results);

        // Then it passes exactly when a line matches, and a failure names the pattern
        Assert.Equal(passes, test.Passed);
        if (!passes)
        {
            Assert.Contains($"stdout does not match /{pattern}/", test.Detail, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("^warning: deprecated$", "info\nwarning: deprecated\n", true)]
    [InlineData("^error", "warning: deprecated\n", false)]
    public async Task ValidateAsync_StderrRegex_CheckedAgainstStderrOnly(string pattern, string stderr, bool passes)
    {
        // Given a stderr expectation; stdout would match it, stderr may not
        var digest = Given(Command("err", ["app"]) with { ExpectStderr = pattern });
        _harness.Engine.Script = _ => new ContainerScript(0, "error on stdout\nwarning: deprecated\n", stderr);

        // When the digest is validated
        var test = Assert.Single((await Validate(digest)).Results);

        // Then only stderr decides
        Assert.Equal(passes, test.Passed);
        if (!passes)
        {
            Assert.Contains($"stderr does not match /{pattern}/", test.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ValidateAsync_CommandExceedsTimeout_KilledRemovedAndFailsTimedOut()
    {
        // Given a command that never exits and a short timeout
        var digest = Given(Command("hangs", ["sleep", "infinity"]) with { Timeout = TimeSpan.FromMilliseconds(100) });
        _harness.Engine.Script = _ => new ContainerScript(0, "partial output", RunsForever: true);

        // When the digest is validated
        var test = Assert.Single((await Validate(digest)).Results);

        // Then the container was killed and removed, and the test failed as timed out with what it printed
        Assert.False(test.Passed);
        Assert.Contains("timed out", test.Detail, StringComparison.Ordinal);
        Assert.Contains("partial output", test.Detail, StringComparison.Ordinal);
        var id = Assert.Single(_harness.Engine.KilledContainers);
        Assert.Equal([id], _harness.Engine.RemovedContainers);
    }

    [Fact]
    public async Task ValidateAsync_CommandTest_ContainerIsLockedDownWithRunAsEntrypointAndCmd()
    {
        // Given a command test with arguments
        var digest = Given(Command("version", ["python3", "-c", "print(1)"]));

        // When the digest is validated
        await Validate(digest);

        // Then the container runs the digest with no network, no capabilities, no new privileges,
        // a read-only root with a tmpfs /tmp, bounded resources, run[0] as entrypoint and the rest as cmd
        var spec = Assert.Single(_harness.Engine.CreatedContainers);
        Assert.Equal($"{WorkflowHarness.StagingHost}/{WorkflowHarness.PipelineRepository}@{digest}", spec.Image);
        Assert.Equal("none", spec.NetworkMode);
        Assert.True(spec.CapDropAll);
        Assert.True(spec.NoNewPrivileges);
        Assert.True(spec.ReadonlyRootfs);
        Assert.NotNull(spec.Tmpfs);
        Assert.True(spec.Tmpfs.ContainsKey("/tmp"));
        Assert.True(spec.MemoryBytes > 0);
        Assert.True(spec.PidsLimit > 0);
        Assert.Equal(["python3"], spec.Entrypoint);
        Assert.Equal(["-c", "print(1)"], spec.Cmd);
        Assert.NotNull(spec.Labels);
        Assert.Equal(digest.ToString(), spec.Labels[ValidationWorkflow.ContainerLabel]);
    }

    [Fact]
    public async Task ValidateAsync_SingleWordRun_EmptyCmdSoTheImageCmdIsNotAppended()
    {
        // Given a command test that is a single word
        var digest = Given(Command("id", ["id"]));

        // When the digest is validated
        await Validate(digest);

        // Then cmd is an empty list (not null, which would keep the image's CMD as arguments)
        var spec = Assert.Single(_harness.Engine.CreatedContainers);
        Assert.Equal(["id"], spec.Entrypoint);
        Assert.NotNull(spec.Cmd);
        Assert.Empty(spec.Cmd);
    }

    [Fact]
    public async Task ValidateAsync_SeveralCommands_EveryContainerRemoved()
    {
        // Given three command tests, one failing
        var digest = Given(Command("a", ["a"]), Command("b", ["b"]), Command("c", ["c"]));
        _harness.Engine.Script = spec => new ContainerScript(spec.Entrypoint![0] == "b" ? 1 : 0);

        // When the digest is validated
        var result = await Validate(digest);

        // Then each ran in its own container and every container was removed
        Assert.Equal([true, false, true], result.Results.Select(r => r.Passed));
        Assert.Equal(3, _harness.Engine.CreatedContainers.Count);
        Assert.Equal(["c1", "c2", "c3"], _harness.Engine.RemovedContainers);
    }

    [Fact]
    public async Task ValidateAsync_StartThrows_ContainerStillRemovedAndErrorPropagates()
    {
        // Given an engine that fails to start the container
        var digest = Given(Command("a", ["a"]));
        _harness.Engine.StartThrows = new EngineException("fake: cannot start container");

        // When the digest is validated
        var error = await Assert.ThrowsAsync<EngineException>(() => Validate(digest));

        // Then the created container was removed anyway, and no validation was recorded
        Assert.Contains("cannot start", error.Message, StringComparison.Ordinal);
        Assert.Equal(["c1"], _harness.Engine.RemovedContainers);
        Assert.Empty(_harness.State.Validations);
    }

    [Fact]
    public async Task ValidateAsync_CallerCancelsWhileCommandRuns_ContainerRemovedAndCancellationPropagates()
    {
        // Given a command that runs forever with a long timeout, and a caller who gives up
        var digest = Given(Command("hangs", ["sleep"]) with { Timeout = TimeSpan.FromMinutes(5) });
        _harness.Engine.Script = _ => new ContainerScript(0, RunsForever: true);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        // When the digest is validated
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _harness.Workflows.Validations.ValidateAsync("hello", digest, cancel.Token));

        // Then it is not reported as a timed-out test, and the container is removed
        Assert.Equal(["c1"], _harness.Engine.RemovedContainers);
        Assert.Empty(_harness.State.Validations);
    }

    [Fact]
    public async Task ValidateAsync_FileTests_ExistsAbsentAndUnexpectedlyPresent()
    {
        // Given an image with /app/main.py and /usr/bin/python3 but no /bin/curl
        var digest = Given(files: [new FileTest("/app/main.py", true), new FileTest("/bin/curl", true), new FileTest("/usr/bin/python3", false), new FileTest("/root/.cache", false)]);
        _harness.Engine.Paths["/app/main.py"] = new PathStat("main.py", 42, 0b110_100_100, string.Empty);
        _harness.Engine.Paths["/usr/bin/python3"] = new PathStat("python3", 7, (1u << 27) | 0b111_111_111, "python3.11");

        // When the digest is validated
        var result = await Validate(digest);

        // Then each is judged by the stat, named after the expectation, with what was seen
        Assert.Equal(4, result.Results.Count);
        Assert.All(result.Results, r => Assert.Equal("file", r.Kind));
        Assert.Equal(["/app/main.py exists", "/bin/curl exists", "/usr/bin/python3 is absent", "/root/.cache is absent"], result.Results.Select(r => r.Name));
        Assert.Equal([true, false, false, true], result.Results.Select(r => r.Passed));
        Assert.Contains("42 bytes", result.Results[0].Detail, StringComparison.Ordinal);
        Assert.Contains("does not exist", result.Results[1].Detail, StringComparison.Ordinal);
        Assert.Contains("symlink to python3.11", result.Results[2].Detail, StringComparison.Ordinal);
        Assert.False(result.Passed);
    }

    [Fact]
    public async Task ValidateAsync_FileTests_OneNeverStartedContainerStatsEveryPathAndIsRemoved()
    {
        // Given two file tests
        var digest = Given(files: [new FileTest("/a", true), new FileTest("/b", false)]);

        // When the digest is validated
        await Validate(digest);

        // Then one container of the digest was created, never started, stat'ed for each path, and removed
        var spec = Assert.Single(_harness.Engine.CreatedContainers);
        Assert.Equal($"{WorkflowHarness.StagingHost}/{WorkflowHarness.PipelineRepository}@{digest}", spec.Image);
        Assert.DoesNotContain(_harness.Engine.Calls, c => c.StartsWith("Start", StringComparison.Ordinal));
        Assert.Contains("Stat c1 /a", _harness.Engine.Calls);
        Assert.Contains("Stat c1 /b", _harness.Engine.Calls);
        Assert.Equal(["c1"], _harness.Engine.RemovedContainers);
    }

    [Fact]
    public async Task ValidateAsync_StatThrows_FileContainerStillRemoved()
    {
        // Given an engine whose stat fails
        var digest = Given(files: [new FileTest("/a", true)]);
        _harness.Engine.StatThrows = new EngineException("fake: stat failed");

        // When the digest is validated
        await Assert.ThrowsAsync<EngineException>(() => Validate(digest));

        // Then the container was removed anyway
        Assert.Equal(["c1"], _harness.Engine.RemovedContainers);
    }

    [Fact]
    public async Task ValidateAsync_MetadataMatches_Passes()
    {
        // Given an image whose configuration matches the expectation (env and labels are subsets)
        var digest = Given(metadata: new MetadataExpectation("app", [new("LANG", "C.UTF-8")], ["python3"], ["/app/main.py"], "/app", [new("team", "core")]));
        _harness.Engine.InspectResult = Inspect(new ImageRunConfig("app", ["PATH=/usr/bin", "LANG=C.UTF-8"], ["python3"], ["/app/main.py"], "/app",
            new Dictionary<string, string> { ["team"] = "core", ["other"] = "x" }));

        // When the digest is validated
        var test = Assert.Single((await Validate(digest)).Results);

        // Then metadata passes
        Assert.Equal("metadata", test.Kind);
        Assert.True(test.Passed, test.Detail);
    }

    [Fact]
    public void CheckMetadata_EveryMemberDiffers_EachMismatchNamed()
    {
        // Given a configuration differing from the expectation in every member
        var expected = new MetadataExpectation("app", [new("LANG", "C.UTF-8"), new("MODE", "prod")], ["python3"], ["/app/main.py"], "/app", [new("team", "core"), new("tier", "1")]);
        var actual = new ImageRunConfig("root", ["LANG=POSIX"], ["sh"], ["bash"], "/", new Dictionary<string, string> { ["team"] = "ops" });

        // When checked
        var result = ValidationWorkflow.CheckMetadata(actual, expected);

        // Then it fails and each mismatch is named with what it is and what was expected
        Assert.False(result.Passed);
        Assert.Contains("user is 'root', expected 'app'", result.Detail, StringComparison.Ordinal);
        Assert.Contains("env LANG is 'POSIX', expected 'C.UTF-8'", result.Detail, StringComparison.Ordinal);
        Assert.Contains("env MODE is not set, expected 'prod'", result.Detail, StringComparison.Ordinal);
        Assert.Contains("entrypoint is [\"sh\"], expected [\"python3\"]", result.Detail, StringComparison.Ordinal);
        Assert.Contains("cmd is [\"bash\"], expected [\"/app/main.py\"]", result.Detail, StringComparison.Ordinal);
        Assert.Contains("workdir is '/', expected '/app'", result.Detail, StringComparison.Ordinal);
        Assert.Contains("label team is 'ops', expected 'core'", result.Detail, StringComparison.Ordinal);
        Assert.Contains("label tier", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckMetadata_NullExpectations_NotChecked()
    {
        // Given an expectation that names only the user
        var expected = new MetadataExpectation("app", null, null, null, null, null);
        var actual = new ImageRunConfig("app", [], ["anything"], null, null, new Dictionary<string, string>());

        // When checked
        var result = ValidationWorkflow.CheckMetadata(actual, expected);

        // Then nothing else is compared
        Assert.True(result.Passed, result.Detail);
    }

    [Fact]
    public void CheckMetadata_ExpectedEntrypointButImageHasNone_Fails()
    {
        // Given an image without entrypoint and an expectation of one
        var expected = new MetadataExpectation(null, null, ["python3"], null, null, null);
        var actual = new ImageRunConfig(null, [], null, null, null, new Dictionary<string, string>());

        // When checked
        var result = ValidationWorkflow.CheckMetadata(actual, expected);

        // Then it fails, showing "(none)"
        Assert.False(result.Passed);
        Assert.Contains("entrypoint is (none)", result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(100L * 1024 * 1024, 100.0, true)]
    [InlineData(100L * 1024 * 1024 + 1, 100.0, false)]
    [InlineData(80L * 1024 * 1024, 120.5, true)]
    public void CheckSize_AgainstLimit_PassesAtOrBelow(long sizeBytes, double limit, bool passes)
    {
        // Given an image size and a limit
        // When checked
        var result = ValidationWorkflow.CheckSize(sizeBytes, limit);

        // Then it passes at or below the limit, and says both numbers
        Assert.Equal("size", result.Kind);
        Assert.Equal(passes, result.Passed);
        Assert.Contains("MiB uncompressed (limit", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_ImageTooLarge_SizeTestFails()
    {
        // Given a 50 MiB image and a 10 MiB limit
        var digest = Given(maxSizeMb: 10);

        // When the digest is validated
        var test = Assert.Single((await Validate(digest)).Results);

        // Then the size test fails with the size
        Assert.Equal("size", test.Kind);
        Assert.False(test.Passed);
        Assert.Contains("50.0 MiB", test.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_DigestNotInFirstStage_JobFailedBeforeAnyPull()
    {
        // Given a digest staging never had
        _harness.Hello = _harness.Hello with { Validate = new ValidationSpec([Command("a", ["a"])], [], null, null) };
        var digest = Digest.Sha256Of("never pushed"u8);

        // When it is validated
        var error = await Assert.ThrowsAsync<JobFailedException>(() => Validate(digest));

        // Then it fails before the engine is touched, telling what to validate instead
        Assert.Contains("is not in staging", error.Message, StringComparison.Ordinal);
        Assert.Contains("orchestrator build hello", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Engine.Calls);
        Assert.Empty(_harness.State.Validations);
    }

    [Fact]
    public async Task ValidateAsync_UnknownPipeline_InputException()
    {
        // Given no pipeline named nope
        // When it is validated
        var error = await Assert.ThrowsAsync<InputException>(() => _harness.Workflows.Validations.ValidateAsync("nope", Digest.Sha256Of("x"u8)));

        // Then the known pipelines are listed
        Assert.Contains("hello", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_Digest_PulledByDigestBeforeAnyContainer()
    {
        // Given a command test
        var digest = Given(Command("a", ["a"]));

        // When validated
        await Validate(digest);

        // Then the exact digest was pulled from staging before the first container was created
        var pull = Assert.Single(_harness.Engine.Pulls);
        Assert.Equal(digest, pull.Digest);
        Assert.Equal(WorkflowHarness.StagingHost, pull.Registry);
        Assert.True(_harness.Engine.Calls.IndexOf($"Pull {pull}") < _harness.Engine.Calls.IndexOf("CreateContainer c1"));
    }

    [Fact]
    public async Task ValidateAsync_MixedResults_RecordHasEveryResultAndPassedIsTheConjunction()
    {
        // Given a passing command, a failing file test, passing metadata and a passing size check
        var digest = Given(
            [Command("ok", ["true"])], [new FileTest("/missing", true)], new MetadataExpectation(null, null, null, ["bash"], null, null), 100);

        // When validated
        var result = await Validate(digest);

        // Then the record holds all four results in order, is not passed, and carries who, when, where and what
        var record = Assert.Single(_harness.State.Validations);
        Assert.Equal(["command", "file", "metadata", "size"], record.Results.Select(r => r.Kind));
        Assert.Equal([true, false, true, true], record.Results.Select(r => r.Passed));
        Assert.False(record.Passed);
        Assert.Equal("hello", record.Pipeline);
        Assert.Equal("staging", record.Stage);
        Assert.Equal(digest, record.Digest);
        Assert.Equal(WorkflowHarness.Actor, record.Actor);
        Assert.Equal(WorkflowHarness.Now, record.At);
        Assert.Equal(record.Id, result.ValidationId);
        Assert.False(result.Passed);
    }

    [Fact]
    public async Task ValidateAsync_AllPass_RecordPassed()
    {
        // Given a passing command and file test
        var digest = Given([Command("ok", ["true"])], [new FileTest("/etc/os-release", true)]);
        _harness.Engine.Paths["/etc/os-release"] = new PathStat("os-release", 10, 0b110_100_100, string.Empty);

        // When validated
        var result = await Validate(digest);

        // Then the record says passed
        Assert.True(result.Passed);
        Assert.True(Assert.Single(_harness.State.Validations).Passed);
    }

    [Fact]
    public async Task ValidateAsync_Reporter_OnePassOrFailLinePerTest()
    {
        // Given a passing and a failing command test and a failing file test
        var digest = Given([Command("good", ["true"]), Command("bad", ["false"])], [new FileTest("/nope", true)]);
        _harness.Engine.Script = spec => new ContainerScript(spec.Entrypoint![0] == "false" ? 1 : 0);

        // When validated
        await Validate(digest);

        // Then each test got one PASS or FAIL line, failures with their reason
        var lines = _harness.Reporter.Details.Where(d => d.StartsWith("PASS", StringComparison.Ordinal) || d.StartsWith("FAIL", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Equal("PASS command 'good'", lines[0]);
        Assert.StartsWith("FAIL command 'bad': exit code 1, expected 0", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("FAIL file '/nope exists'", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAsync_LockedPipelineWithEveryKindOfTest_AnnouncesTheCountItReports()
    {
        // Given a locked pipeline with two command tests, a file test, a metadata and a size expectation
        // (the lock adds the built-in installed-packages check, the one the announced count used to miss)
        var digest = Given(
            [Command("good", ["true"]), Command("also", ["true"])],
            [new FileTest("/etc", true)],
            new MetadataExpectation(User: null, Entrypoint: null, Cmd: null, Env: null, Labels: null, WorkingDirectory: null),
            maxSizeMb: 500);
        _harness.Hello = _harness.Hello with { Lock = WorkflowHarness.LockFor(_harness.Hello, Digest.Sha256Of([1])) };
        _harness.Engine.Script = spec => spec.Entrypoint![0] == "dpkg-query" ? new ContainerScript(0, string.Empty) : new ContainerScript(0);

        // When the digest is validated
        var result = await Validate(digest);

        // Then the step announces exactly as many tests as the result holds, the lock's check among them
        var announced = Assert.Single(_harness.Reporter.Steps, s => s.StartsWith("running ", StringComparison.Ordinal));
        Assert.Equal($"running {result.Results.Count} test(s) on {digest.ToShortString()}", announced);
        Assert.Contains(result.Results, r => r.Name == Orchestrator.Core.Locks.InstalledPackagesTest.Name);
        Assert.Equal(6, result.Results.Count);
    }

    [Fact]
    public async Task ValidateAsync_LongOutput_CutInDetail()
    {
        // Given a command printing far more than a detail keeps
        var digest = Given(Command("loud", ["yes"]));
        _harness.Engine.Script = _ => new ContainerScript(0, new string('y', ValidationWorkflow.MaxOutputCharacters * 3));

        // When validated
        var test = Assert.Single((await Validate(digest)).Results);

        // Then the detail is bounded and says how much was cut
        Assert.True(test.Detail.Length < ValidationWorkflow.MaxOutputCharacters + 500, $"detail is {test.Detail.Length} characters");
        Assert.Contains($"({ValidationWorkflow.MaxOutputCharacters * 2} more characters)", test.Detail, StringComparison.Ordinal);
    }

    private static CommandTest Command(string name, IReadOnlyList<string> run) =>
        new(name, run, 0, null, null, TimeSpan.FromSeconds(30));

    private static ImageInspect Inspect(ImageRunConfig config) =>
        new("sha256:" + new string('2', 64), [], [], 50L * 1024 * 1024, config, "amd64", "linux");

    private Digest Given(params CommandTest[] commands) => Given(commands, []);

    private Digest Given(IReadOnlyList<CommandTest>? commands = null, IReadOnlyList<FileTest>? files = null, MetadataExpectation? metadata = null, double? maxSizeMb = null)
    {
        _harness.Hello = _harness.Hello with { Validate = new ValidationSpec(commands ?? [], files ?? [], metadata, maxSizeMb) };
        return _harness.SeedImage();
    }

    private Task<ValidationResult> Validate(Digest digest) => _harness.Workflows.Validations.ValidateAsync("hello", digest);

    private sealed class RecordingEngineCredentials(RegistryCredentials? credentials) : IEngineCredentialSource
    {
        public List<RegistryEndpoint> Asked { get; } = [];

        public ValueTask<RegistryCredentials?> GetAsync(RegistryEndpoint registry, CancellationToken cancellationToken = default)
        {
            Asked.Add(registry);
            return ValueTask.FromResult(credentials);
        }
    }
}
