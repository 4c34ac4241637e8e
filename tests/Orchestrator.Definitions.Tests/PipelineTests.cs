using Orchestrator.Core.Definitions;

namespace Orchestrator.Definitions.Tests;

/// <summary>pipelines/NAME.yaml: every refusal, and what a good one loads as.</summary>
public sealed class PipelineTests
{
    private const string File = "pipelines/app.yaml";

    private static async Task<(string Path, string Text, Core.Errors.DefinitionError Error)> SingleErrorAsync(TestWorkspace ws, string text)
    {
        var path = ws.Write(File, text);
        return (path, text, await ws.SingleErrorAsync());
    }

    [Fact]
    public async Task LoadAsync_FullPipeline_LoadsEveryField()
    {
        // Given a pipeline using every key, with defaults left out where allowed
        using var ws = new TestWorkspace();
        ws.Write("pipelines/app/main.py", "print('hi')\n");
        ws.Write(File, """
            name: app
            version: 2.1.0
            base: debian-bookworm
            repository: apps/app
            packages:
              apt:
                python3-minimal: "3.11.2-1+b1"
                libc6: 2.36-9+deb12u10
                tzdata: 1:2024a-0+deb12u1
            files:
              - src: app/main.py
                dest: /app/main.py
              - { src: ./app/../app/main.py, dest: /app/copy.py, mode: "0644" }
            env: { A: "1", B: two }
            user: "10001"
            workdir: /app
            entrypoint: ["python3"]
            cmd: ["/app/main.py"]
            labels: { team: platform, org.opencontainers.image.title: app }
            tags: ["{version}", "{name}-{version}", latest]
            validate:
              commands:
                - name: runs
                  run: ["python3", "/app/main.py"]
                  expect-stdout: "^hi$"
                - name: fails as expected
                  run: ["false"]
                  expect-exit: 1
                  expect-stderr: ""
                  timeout-seconds: 5
              files:
                - { path: /app/main.py }
                - { path: /tmp/nothing, exists: false }
              metadata:
                user: "10001"
                env: { A: "1" }
                labels: { team: platform }
              max-size-mb: 99.5
            """);

        // When loaded
        var pipeline = (await ws.LoadAsync()).GetPipeline("app");

        // Then every field is there, in definition order, with defaults applied
        Assert.Equal(new BaseVariantRef("debian-bookworm", "full"), pipeline.Base);
        Assert.Equal(["python3-minimal=3.11.2-1+b1", "libc6=2.36-9+deb12u10", "tzdata=1:2024a-0+deb12u1"], pipeline.AptPackages.Select(p => p.ToString()));
        Assert.Equal(new FileCopy(ws.PathOf("pipelines/app/main.py"), "/app/main.py"), pipeline.Files[0]);
        Assert.Equal(new FileCopy(ws.PathOf("pipelines/app/main.py"), "/app/copy.py", 0x1A4), pipeline.Files[1]);
        Assert.Equal([new("A", "1"), new("B", "two")], pipeline.Env);
        Assert.Equal(("10001", "/app"), (pipeline.User, pipeline.WorkingDirectory));
        Assert.Equal(["python3"], pipeline.Entrypoint!);
        Assert.Equal(["/app/main.py"], pipeline.Cmd!);
        Assert.Equal("org.opencontainers.image.title", pipeline.Labels[1].Key);
        Assert.Equal(["2.1.0", "app-2.1.0", "latest"], pipeline.Tags);
        Assert.Equal(ws.PathOf(File), pipeline.SourceFile);
        var (first, second) = (pipeline.Validate.Commands[0], pipeline.Validate.Commands[1]);
        Assert.Equal((0, TimeSpan.FromSeconds(60), (string?)null), (first.ExpectExit, first.Timeout, first.ExpectStderr));
        Assert.Equal((1, TimeSpan.FromSeconds(5), ""), (second.ExpectExit, second.Timeout, second.ExpectStderr));
        Assert.Equal([new FileTest("/app/main.py", true), new FileTest("/tmp/nothing", false)], pipeline.Validate.Files);
        Assert.Equal("10001", pipeline.Validate.Metadata!.User);
        Assert.Null(pipeline.Validate.Metadata.Entrypoint);
        Assert.Equal([new("team", "platform")], pipeline.Validate.Metadata.Labels!);
        Assert.Equal(99.5, pipeline.Validate.MaxSizeMb);
        Assert.Equal(6, pipeline.Validate.Count);
    }

    [Theory]
    [InlineData("name")]
    [InlineData("version")]
    [InlineData("base")]
    [InlineData("repository")]
    public async Task LoadAsync_MissingRequiredKey_RefusedAtFileStart(string key)
    {
        // Given a pipeline without the key
        using var ws = new TestWorkspace();
        var text = string.Join('\n', TestWorkspace.Pipeline.Split('\n').Where(l => !l.StartsWith(key + ":", StringComparison.Ordinal)));

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then the key is named at the mapping's start with an example
        Assert.Equal((path, 1, 1), (error.File, error.Line, error.Column));
        error.AssertSays($"has no '{key}', which is required", $"add '{key}: ");
    }

    [Fact]
    public async Task LoadAsync_UnknownBase_ListsKnownBasesAtBaseValue()
    {
        // Given a base that does not exist
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline.Replace("base: debian-bookworm/slim", "base: debian-bookwrom/slim", StringComparison.Ordinal);

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then the base value is named, with the known bases and a suggestion
        error.AssertAt(path, text, "debian-bookwrom");
        error.AssertSays("unknown base image 'debian-bookwrom'; known bases: debian-bookworm", "did you mean 'debian-bookworm'?");
    }

    [Fact]
    public async Task LoadAsync_UnknownVariant_ListsVariantsAtBaseValue()
    {
        // Given a variant the base does not have
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline.Replace("debian-bookworm/slim", "debian-bookworm/tiny", StringComparison.Ordinal);

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then the variants are listed
        error.AssertAt(path, text, "debian-bookworm/tiny");
        error.AssertSays("base image 'debian-bookworm' has no variant 'tiny'; its variants: full, slim", "debian-bookworm/full");
    }

    [Theory]
    [InlineData("python3-minimal:")]
    [InlineData("python3-minimal: ~")]
    [InlineData("python3-minimal: \"\"")]
    public async Task LoadAsync_AptPackageWithoutVersion_NamesPackageAndPinFix(string line)
    {
        // Given a package with an empty version
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline.Replace("python3-minimal: \"3.11.2-1+b1\"", line, StringComparison.Ordinal);

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then the package is named, with the exact pin and how to find it
        Assert.Equal(path, error.File);
        Assert.Equal(TestWorkspace.Locate(text, "python3-minimal").Line, error.Line);
        Assert.Contains("python3-minimal", error.Message, StringComparison.Ordinal);
        error.AssertSays("python3-minimal", "pin an exact version: python3-minimal: \"3.11.2-1+b1\" ('apt-cache policy python3-minimal' lists them)");
    }

    [Theory]
    [InlineData("\"*\"")]
    [InlineData("latest")]
    [InlineData("\">= 3.11\"")]
    [InlineData("3.11.*")]
    [InlineData("~3.11")]
    [InlineData("^1")]
    [InlineData("3.11 2")]
    public async Task LoadAsync_AptPackageWithInexactVersion_Refused(string version)
    {
        // Given a package version that is a wildcard, range or word
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline.Replace("\"3.11.2-1+b1\"", version, StringComparison.Ordinal);

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then the version is pointed at and the package named
        error.AssertAt(path, text, version);
        error.AssertSays("apt package 'python3-minimal' has version", "pin an exact version: python3-minimal: \"3.11.2-1+b1\"");
    }

    [Theory]
    [InlineData("Python3")]
    [InlineData("x")]
    [InlineData("py_thon")]
    public async Task LoadAsync_InvalidPackageName_Refused(string name)
    {
        // Given an invalid Debian package name
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline.Replace("python3-minimal:", name + ":", StringComparison.Ordinal);

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then the name is pointed at
        error.AssertAt(path, text, name + ":");
        error.AssertSays($"'{name}' is not a Debian package name", "apt-cache search");
    }

    [Theory]
    [InlineData("../secret.txt", "leaves the pipeline's folder")]
    [InlineData("app/../../secret.txt", "leaves the pipeline's folder")]
    [InlineData("/etc/passwd", "is an absolute path")]
    [InlineData("app/missing.py", "does not exist")]
    [InlineData("app", "is a folder")]
    public async Task LoadAsync_BadFileSource_Refused(string src, string inMessage)
    {
        // Given a file source outside the folder, absolute, missing, or a folder
        using var ws = new TestWorkspace();
        ws.Write("secret.txt", "secret\n");
        ws.Write("pipelines/app/main.py", "print('hi')\n");
        var text = TestWorkspace.Pipeline + $"\nfiles:\n  - src: {src}\n    dest: /app/x\n";

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then the src value is named with what to do
        error.AssertAt(path, text, "src: " + src + "\n", skip: "src: ".Length);
        Assert.Contains($"src '{src}' {inMessage}", error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Fix);
    }

    [Fact]
    public async Task LoadAsync_SymlinkResolvingOutside_Refused()
    {
        // Given a file inside the folder that is a symlink to a file outside it, and a link to a folder outside
        using var ws = new TestWorkspace();
        var secret = ws.Write("secret.txt", "secret\n");
        Directory.CreateDirectory(ws.PathOf("pipelines/app"));
        System.IO.File.CreateSymbolicLink(ws.PathOf("pipelines/app/link.txt"), secret);
        Directory.CreateSymbolicLink(ws.PathOf("pipelines/app/up"), ws.Root);
        var text = TestWorkspace.Pipeline + "\nfiles:\n  - { src: app/link.txt, dest: /a }\n  - { src: app/up/secret.txt, dest: /b }\n";
        var path = ws.Write(File, text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then both are refused, naming where they really point
        Assert.Equal(2, errors.Count);
        errors[0].AssertAt(path, text, "app/link.txt");
        errors[0].AssertSays($"resolves to {secret}, outside the pipeline's folder", "copy the file itself");
        errors[1].AssertAt(path, text, "app/up/secret.txt");
        errors[1].AssertSays("outside the pipeline's folder", "copy the file itself");
    }

    [Fact]
    public async Task LoadAsync_SymlinkInsideFolder_Accepted()
    {
        // Given a symlink that stays inside the pipeline's folder
        using var ws = new TestWorkspace();
        var target = ws.Write("pipelines/app/real.py", "print('hi')\n");
        System.IO.File.CreateSymbolicLink(ws.PathOf("pipelines/app/alias.py"), "real.py");
        ws.Write(File, TestWorkspace.Pipeline + "\nfiles:\n  - { src: app/alias.py, dest: /app/a.py }\n");

        // When loaded
        var pipeline = (await ws.LoadAsync()).GetPipeline("app");

        // Then it is accepted, with the source as written (the link), absolute
        Assert.Equal(ws.PathOf("pipelines/app/alias.py"), Assert.Single(pipeline.Files).Source);
        Assert.True(System.IO.File.Exists(target));
    }

    [Theory]
    [InlineData("app/x", "is not an absolute path")]
    [InlineData("/app/../etc/x", "contains '..'")]
    public async Task LoadAsync_BadDestination_Refused(string dest, string inMessage)
    {
        // Given a destination that is relative or climbs
        using var ws = new TestWorkspace();
        ws.Write("pipelines/app/main.py", "print('hi')\n");
        var text = TestWorkspace.Pipeline + $"\nfiles:\n  - src: app/main.py\n    dest: {dest}\n";

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then the dest value is named
        error.AssertAt(path, text, "dest: " + dest + "\n", skip: "dest: ".Length);
        error.AssertSays($"dest '{dest}' {inMessage}", "dest: /");
    }

    [Theory]
    [InlineData("\"0955\"")]
    [InlineData("rwxr-xr-x")]
    [InlineData("\"12345\"")]
    public async Task LoadAsync_BadMode_Refused(string mode)
    {
        // Given a mode that is not octal permission bits
        using var ws = new TestWorkspace();
        ws.Write("pipelines/app/main.py", "print('hi')\n");
        var text = TestWorkspace.Pipeline + $"\nfiles:\n  - {{ src: app/main.py, dest: /app/main.py, mode: {mode} }}\n";

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then the mode is named with the quoted form
        error.AssertAt(path, text, mode);
        error.AssertSays("is not an octal permission", "mode: \"0755\"");
    }

    [Fact]
    public async Task LoadAsync_InvalidRepository_UsesImageReferenceMessage()
    {
        // Given an upper-case repository
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline.Replace("repository: apps/app", "repository: Apps/App", StringComparison.Ordinal);

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then ImageReference's reason is given
        error.AssertAt(path, text, "Apps/App");
        error.AssertSays("the repository name 'Apps/App' has upper-case letters in 'Apps'", "repository: apps/");
    }

    [Fact]
    public async Task LoadAsync_TagInvalidAfterSubstitution_Refused()
    {
        // Given a version with '+', which no tag may contain
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline.Replace("version: 1.0.0", "version: 1.0.0+build5", StringComparison.Ordinal);

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then the tag template is named with what it rendered to
        error.AssertAt(path, text, "\"{version}\"");
        error.AssertSays("tag '{version}' renders to '1.0.0+build5': the tag '1.0.0+build5' is invalid", "'+' is not allowed");
    }

    [Fact]
    public async Task LoadAsync_UnknownPlaceholderAndDuplicateTag_BothRefused()
    {
        // Given an unknown placeholder and two templates rendering the same tag
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline.Replace("tags: [\"{version}\", latest]", "tags: [\"{version}\", \"{sha}\", \"1.0.0\"]", StringComparison.Ordinal);
        var path = ws.Write(File, text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then both are named at their items
        Assert.Equal(2, errors.Count);
        errors[0].AssertAt(path, text, "\"{sha}\"");
        errors[0].AssertSays("unknown placeholder {sha}", "use only {version} and {name}");
        errors[1].AssertAt(path, text, "\"1.0.0\"");
        errors[1].AssertSays("renders to '1.0.0', the same as the tag at line", "remove one");
    }

    [Fact]
    public async Task LoadAsync_FloatingTags_OnlyTheNamedRenderedTagsFloat()
    {
        // Given 'latest' declared floating
        using var ws = new TestWorkspace();
        ws.Write(File, TestWorkspace.Pipeline + "\nfloating-tags: [latest]\n");

        // When loaded
        var pipeline = (await ws.LoadAsync()).GetPipeline("app");

        // Then latest floats and the version tag stays immutable
        Assert.Equal(["latest"], pipeline.FloatingTags);
        Assert.Contains("1.0.0", pipeline.Tags);
        Assert.DoesNotContain("1.0.0", pipeline.FloatingTags);
    }

    [Fact]
    public async Task LoadAsync_FloatingTagNotAmongTags_Refused()
    {
        // Given a floating tag the pipeline never sets
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline + "\nfloating-tags: [stable]\n";

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then it is named, with the pipeline's tags
        error.AssertAt(path, text, "stable");
        error.AssertSays("floating tag 'stable' is not one of the pipeline's tags (1.0.0, latest)", "add it to 'tags'");
    }

    [Fact]
    public async Task LoadAsync_InvalidRegex_IncludesDotNetMessage()
    {
        // Given an expect-stdout pattern with an unclosed group, and one for stderr with a bad quantifier
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline + "\nvalidate:\n  commands:\n    - name: t\n      run: [\"true\"]\n      expect-stdout: \"^(42$\"\n      expect-stderr: \"*x\"\n";
        var path = ws.Write(File, text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then each names the pattern and carries .NET's reason
        Assert.Equal(2, errors.Count);
        errors[0].AssertAt(path, text, "\"^(42$\"");
        errors[0].AssertSays("expect-stdout '^(42$' is not a valid .NET regular expression: ", "fix the pattern");
        Assert.Contains("Not enough )'s", errors[0].Message, StringComparison.Ordinal);
        errors[1].AssertAt(path, text, "\"*x\"");
        Assert.Contains("Quantifier", errors[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_EmptyRunAndMissingName_Refused()
    {
        // Given a command test with an empty argument vector and no name
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline + "\nvalidate:\n  commands:\n    - run: []\n";
        var path = ws.Write(File, text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then both are named
        Assert.Equal(2, errors.Count);
        Assert.All(errors, e => Assert.Equal(path, e.File));
        Assert.Contains(errors, e => e.Message.Contains("validate.commands[0] has no 'name'", StringComparison.Ordinal));
        var run = Assert.Single(errors, e => e.Message.Contains("'run' in validate.commands[0] is empty", StringComparison.Ordinal));
        run.AssertAt(path, text, "[]");
        Assert.Contains("run: [", run.Fix, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    public async Task LoadAsync_MaxSizeNotPositive_Refused(string value)
    {
        // Given a non-positive size limit
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline + $"\nvalidate:\n  max-size-mb: {value}\n";

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then it is named with a sensible example
        error.AssertAt(path, text, "max-size-mb: " + value, skip: "max-size-mb: ".Length);
        error.AssertSays("must be greater than 0", "max-size-mb: 120");
    }

    [Fact]
    public async Task LoadAsync_BadNumbersInCommandTest_Refused()
    {
        // Given a non-numeric exit code, an out-of-range one and a zero timeout
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline + "\nvalidate:\n  commands:\n    - { name: a, run: [x], expect-exit: zero }\n    - { name: b, run: [x], expect-exit: 300, timeout-seconds: 0 }\n";
        var path = ws.Write(File, text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then all three are named
        Assert.Equal(3, errors.Count);
        errors[0].AssertAt(path, text, "zero");
        errors[0].AssertSays("must be a whole number", "expect-exit: 0");
        errors[1].AssertAt(path, text, "300");
        errors[1].AssertSays("is not an exit code", "0 to 255");
        errors[2].AssertAt(path, text, "0 }");
        errors[2].AssertSays("timeout-seconds 0 must be greater than 0", "timeout-seconds: 60");
    }

    [Fact]
    public async Task LoadAsync_NameDiffersFromFileName_RefusedAtNameSuggestingTheRename()
    {
        // Given two pipeline files, a.yaml and b.yaml, both saying 'name: app'
        using var ws = new TestWorkspace();
        var first = ws.Write("pipelines/a.yaml", TestWorkspace.Pipeline);
        var second = ws.Write("pipelines/b.yaml", TestWorkspace.Pipeline.Replace("apps/app", "apps/other", StringComparison.Ordinal));

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then each is refused at its name, saying to rename the file or the name
        Assert.Equal(2, errors.Count);
        errors[0].AssertAt(first, TestWorkspace.Pipeline, "app\n");
        errors[0].AssertSays("pipeline name 'app' differs from its file name 'a.yaml'", "rename the file to app.yaml");
        Assert.Contains("'name: a'", errors[0].Fix!, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(second), errors[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_InvalidPipelineName_Refused()
    {
        // Given a pipeline name with upper case and a space
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline.Replace("name: app", "name: My App", StringComparison.Ordinal);

        // When loaded
        var (path, _, error) = await SingleErrorAsync(ws, text);

        // Then it is named, with a valid suggestion
        error.AssertAt(path, text, "My App");
        error.AssertSays("pipeline name 'My App' is invalid", "name: my-app");
    }

    [Fact]
    public async Task LoadAsync_PipelineOnBrokenBase_ReportsOnlyTheBase()
    {
        // Given a base that itself has an error, and a pipeline on it
        using var ws = new TestWorkspace();
        var baseText = TestWorkspace.Base.Replace("suite: bookworm", "suite: bookworm\nbogus: 1", StringComparison.Ordinal);
        var basePath = ws.Write("base-images/debian-bookworm.yaml", baseText);
        ws.Write(File, TestWorkspace.Pipeline);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then only the base's own problem is reported, not a confusing "unknown base"
        error.AssertAt(basePath, baseText, "bogus");
    }

    [Fact]
    public async Task LoadAsync_EnvAndMetadataMistakes_Refused()
    {
        // Given an env var with a bad name, one with no value, and a metadata key typo
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline + "\nenv:\n  1BAD: x\n  EMPTY:\nvalidate:\n  metadata: { usr: \"1\" }\n";
        var path = ws.Write(File, text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then each is reported
        Assert.Equal(3, errors.Count);
        errors[0].AssertAt(path, text, "1BAD");
        errors[0].AssertSays("is not an environment variable name", "letters, digits");
        errors[1].AssertAt(path, text, "EMPTY");
        errors[1].AssertSays("'EMPTY' in 'env' has no value", "EMPTY: \"\"");
        errors[2].AssertAt(path, text, "usr");
        errors[2].AssertSays("unknown key 'usr' in validate.metadata", "did you mean 'user'?");
    }
}
