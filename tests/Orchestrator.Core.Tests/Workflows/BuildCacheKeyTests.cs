using Orchestrator.Core.Definitions;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class BuildCacheKeyTests : IDisposable
{
    private static readonly Digest BaseDigest = Digest.Sha256Of("base"u8);

    private readonly WorkflowHarness _harness = new();
    private readonly string _file;

    public BuildCacheKeyTests()
    {
        _file = _harness.WriteFile("hello/greeting.txt", "hello\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
    }

    public void Dispose() => _harness.Dispose();

    public static TheoryData<string> Inputs() =>
    [
        "name", "version", "repository", "base variant", "base digest", "package version", "package added", "package order",
        "env value", "env added", "user", "workdir", "entrypoint", "cmd", "label", "tag", "file destination", "file mode",
        "file bytes", "file added", "lock", "build arg", "engine label",
    ];

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Compute_OneInputChanged_KeyChanges(string input)
    {
        // Given a pipeline using every input, and its key
        var pipeline = FullPipeline();
        var baseline = Key(pipeline);

        // When exactly one input changes
        var digest = BaseDigest;
        var lockText = "lock-v1";
        var args = new Dictionary<string, string>(StringComparer.Ordinal) { ["A"] = "1" };
        var engineLabels = new Dictionary<string, string>(StringComparer.Ordinal) { ["org.opencontainers.image.source"] = "pipelines/hello.yaml" };
        switch (input)
        {
            case "name": pipeline = pipeline with { Name = "hello2" }; break;
            case "version": pipeline = pipeline with { Version = "1.1" }; break;
            case "repository": pipeline = pipeline with { Repository = "apps/other" }; break;
            case "base variant": pipeline = pipeline with { Base = new BaseVariantRef("debian-bookworm", "full") }; break;
            case "base digest": digest = Digest.Sha256Of("rebuilt base"u8); break;
            case "package version": pipeline = pipeline with { AptPackages = [new AptPackage("curl", "7.88.1-10+deb12u6"), new AptPackage("jq", "1.6-2.1")] }; break;
            case "package added": pipeline = pipeline with { AptPackages = [.. pipeline.AptPackages, new AptPackage("less", "590-2")] }; break;
            case "package order": pipeline = pipeline with { AptPackages = [.. pipeline.AptPackages.Reverse()] }; break;
            case "env value": pipeline = pipeline with { Env = [new("GREETING", "hi")] }; break;
            case "env added": pipeline = pipeline with { Env = [.. pipeline.Env, new("MORE", "1")] }; break;
            case "user": pipeline = pipeline with { User = "root" }; break;
            case "workdir": pipeline = pipeline with { WorkingDirectory = "/opt" }; break;
            case "entrypoint": pipeline = pipeline with { Entrypoint = ["/bin/sh", "-c"] }; break;
            case "cmd": pipeline = pipeline with { Cmd = ["cat", "/etc/hostname"] }; break;
            case "label": pipeline = pipeline with { Labels = [new("team", "blue")] }; break;
            case "tag": pipeline = pipeline with { Tags = ["1.0", "1.0.1"] }; break;
            case "file destination": pipeline = pipeline with { Files = [new FileCopy(_file, "/srv/other.txt", 420)] }; break;
            case "file mode": pipeline = pipeline with { Files = [new FileCopy(_file, "/srv/greeting.txt", 493)] }; break;
            case "file bytes": File.WriteAllText(_file, "hello!\n"); break;
            case "file added": pipeline = pipeline with { Files = [.. pipeline.Files, new FileCopy(_file, "/srv/copy.txt", 420)] }; break;
            case "lock": lockText = "lock-v2"; break;
            case "build arg": args["A"] = "2"; break;
            case "engine label": engineLabels["org.opencontainers.image.source"] = "pipelines/elsewhere/hello.yaml"; break;
            default: throw new ArgumentOutOfRangeException(nameof(input), input, "unknown input");
        }

        var changed = BuildCacheKey.Compute(pipeline, digest, lockText, args, engineLabels);

        // Then the key differs
        Assert.NotEqual(baseline, changed);
    }

    [Fact]
    public void Compute_NoLockAndLock_Differ()
    {
        // Given one pipeline
        var pipeline = FullPipeline();

        // When keyed without and with a lock
        // Then the keys differ
        Assert.NotEqual(BuildCacheKey.Compute(pipeline, BaseDigest, null, null), BuildCacheKey.Compute(pipeline, BaseDigest, "lock", null));
    }

    [Fact]
    public void Compute_SameInputsTwice_SameSha256Key()
    {
        // Given one pipeline keyed twice, the second time from an equal but separately built definition
        var first = Key(FullPipeline());
        var second = Key(FullPipeline());

        // Then the keys are equal SHA-256 digests
        Assert.Equal(first, second);
        Assert.Equal("sha256", first.Algorithm);
    }

    [Fact]
    public void Compute_FileMtimeChanged_KeyUnchanged()
    {
        // Given a key
        var pipeline = FullPipeline();
        var before = Key(pipeline);

        // When only the copied file's modification time changes
        File.SetLastWriteTimeUtc(_file, new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc));

        // Then the key is the same
        Assert.Equal(before, Key(pipeline));
    }

    [Fact]
    public void Compute_ValidationOrFloatingTagsChanged_KeyUnchanged()
    {
        // Given a key
        var pipeline = FullPipeline();
        var before = Key(pipeline);

        // When only what cannot reach the image changes: the validation tests and the floating tags
        var changed = pipeline with
        {
            Validate = new ValidationSpec([new CommandTest("runs", ["true"], 0, null, null, TimeSpan.FromSeconds(5))], [], null, 100),
            FloatingTags = ["1.0"],
        };

        // Then the key is the same
        Assert.Equal(before, Key(changed));
    }

    [Fact]
    public void Compute_BuildArgsInAnotherOrder_KeyUnchanged()
    {
        // Given build args given in two orders
        var pipeline = FullPipeline();
        var ab = new Dictionary<string, string>(StringComparer.Ordinal) { ["A"] = "1", ["B"] = "2" };
        var ba = new Dictionary<string, string>(StringComparer.Ordinal) { ["B"] = "2", ["A"] = "1" };

        // Then they key the same
        Assert.Equal(BuildCacheKey.Compute(pipeline, BaseDigest, null, ab), BuildCacheKey.Compute(pipeline, BaseDigest, null, ba));
    }

    [Fact]
    public void LockChecksum_LockFileNextToDefinition_ItsBytesSha256_ElseNull()
    {
        // Given a pipeline without a lock file
        var pipeline = FullPipeline();
        Assert.Null(BuildCacheKey.LockChecksum(pipeline));

        // When pipelines/hello.lock.yaml is written
        var path = _harness.WriteFile("hello.lock.yaml", "packages: []\n");

        // Then the checksum is the SHA-256 of its bytes
        Assert.Equal(path, pipeline.LockFile);
        Assert.Equal(Digest.Sha256Of(File.ReadAllBytes(path)).ToString(), BuildCacheKey.LockChecksum(pipeline));
    }

    private static Digest Key(PipelineDefinition pipeline) =>
        BuildCacheKey.Compute(
            pipeline, BaseDigest, "lock-v1",
            new Dictionary<string, string>(StringComparer.Ordinal) { ["A"] = "1" },
            new Dictionary<string, string>(StringComparer.Ordinal) { ["org.opencontainers.image.source"] = "pipelines/hello.yaml" });

    private PipelineDefinition FullPipeline() => _harness.Pipeline() with
    {
        AptPackages = [new AptPackage("curl", "7.88.1-10+deb12u5"), new AptPackage("jq", "1.6-2.1")],
        Files = [new FileCopy(_file, "/srv/greeting.txt", 420)],
        Env = [new("GREETING", "hello")],
        User = "nobody",
        WorkingDirectory = "/srv",
        Entrypoint = ["/bin/sh"],
        Cmd = ["-c", "cat /srv/greeting.txt"],
        Labels = [new("team", "red")],
    };
}
