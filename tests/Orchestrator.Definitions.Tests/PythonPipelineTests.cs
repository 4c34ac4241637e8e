namespace Orchestrator.Definitions.Tests;

/// <summary>The <c>python:</c> block of pipelines/NAME.yaml: what loads, and every refusal with its place.</summary>
public sealed class PythonPipelineTests
{
    private const string Hash = "69d6f81ae45b4652165436b5f95209845dbb7c95613982dd78760c388d169437";

    private const string BuildPackages = """
          build-packages:
            python3: "3.11.2-1+b1"
            python3-pip: "23.0.1+dfsg-1"
            python3-setuptools: "66.1.1-1+deb12u2"
            python3-wheel: "0.38.4-2"
        """;

    private static TestWorkspace Workspace(string python, string requirements = $"greet==1.0.0 --hash=sha256:{Hash}\n")
    {
        var ws = new TestWorkspace();
        ws.Write("pipelines/app/src/pyproject.toml", "[project]\nname = \"app\"\nversion = \"1.0.0\"\n");
        ws.Write("pipelines/app/requirements.txt", requirements);
        ws.Write("pipelines/app/requirements-dev.txt", $"-r requirements.txt\ndevtool==2.0 --hash=sha256:{new string('a', 64)}\n");
        ws.Write("pipelines/app/wheels/README.md", "wheelhouse\n");
        ws.Write("pipelines/app.yaml", TestWorkspace.Pipeline + "\npython:\n" + python);
        return ws;
    }

    [Fact]
    public async Task LoadAsync_PythonBlock_LoadsPathsRequirementsAndDefaultBuildBase()
    {
        // Given a pipeline on slim with a project, hashed requirements, dev requirements and a wheelhouse
        using var ws = Workspace("""
              project: app/src
              requirements: app/requirements.txt
              dev-requirements: app/requirements-dev.txt
              find-links: app/wheels/
            """ + "\n" + BuildPackages);

        // When it is loaded
        var python = (await ws.LoadAsync()).GetPipeline("app").Python!;

        // Then paths are absolute, the build base defaults to the full variant, and the dev set excludes the runtime one
        Assert.Equal(ws.PathOf("pipelines/app/src"), python.Project);
        Assert.Equal(ws.PathOf("pipelines/app/wheels"), python.FindLinks);
        Assert.Equal("debian-bookworm/full", python.BuildBase.ToString());
        Assert.Equal([("greet", "1.0.0")], python.Requirements.Select(r => (r.Name, r.Version)));
        Assert.Equal([Hash], python.Requirements[0].Sha256);
        Assert.Equal(["devtool"], python.DevRequirements.Select(r => r.Name));
        Assert.Equal(4, python.BuildPackages.Count);
        Assert.Null(python.Index);
    }

    [Fact]
    public async Task LoadAsync_PipelineWithoutPython_HasNoPythonSpec()
    {
        // Given an older pipeline without a python block
        using var ws = new TestWorkspace();
        ws.Write("pipelines/app.yaml", TestWorkspace.Pipeline);

        // When it is loaded, then it is valid and has none
        Assert.Null((await ws.LoadAsync()).GetPipeline("app").Python);
    }

    [Fact]
    public async Task LoadAsync_HashlessRequirement_IsRefusedAtItsLineInTheRequirementsFile()
    {
        // Given a requirements file whose second requirement has no hash
        using var ws = Workspace("""
              requirements: app/requirements.txt
              find-links: app/wheels
            """ + "\n" + BuildPackages, $"greet==1.0.0 --hash=sha256:{Hash}\n# pinned but not hashed:\nother==2.0\n");

        // When it is loaded
        var error = await ws.SingleErrorAsync();

        // Then the error names the requirements file, line 3, and how to fix it
        Assert.EndsWith(Path.Combine("app", "requirements.txt"), error.File, StringComparison.Ordinal);
        Assert.Equal(3, error.Line);
        Assert.Contains("no --hash", error.Message, StringComparison.Ordinal);
        Assert.Contains("--hash=sha256:", error.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_UnpinnedRequirement_IsRefusedAtItsLineAndColumn()
    {
        // Given a requirement with a range instead of a pin
        using var ws = Workspace("""
              requirements: app/requirements.txt
              index: http://127.0.0.1:8000/simple
            """ + "\n" + BuildPackages, $"greet>=1.0 --hash=sha256:{Hash}\n");

        // When it is loaded
        var error = await ws.SingleErrorAsync();

        // Then it is refused at the operator
        Assert.Equal((1, 6), (error.Line, error.Column));
        Assert.Contains("not pinned", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> Refused => new()
    {
        // python block, text in the message, text in the fix
        { "  requirements: app/requirements.txt\n" + BuildPackages, "nowhere to come from", "find-links" },
        { "  project: app/src\n  find-links: app/wheels\n", "no 'build-packages'", "build-packages:" },
        { "  project: app/wheels\n" + BuildPackages, "has no pyproject.toml", "pyproject.toml" },
        { "  project: ../elsewhere\n" + BuildPackages, "not inside the pipeline's folder", "without '..'" },
        { "  project: app/missing\n" + BuildPackages, "not an existing folder", "create the folder" },
        { "  project: app/src\n  index: ftp://example.com/simple\n" + BuildPackages, "not an http(s) URL", "simple index" },
        { "  project: app/src\n  build-base: debian-bookworm/tiny\n" + BuildPackages, "has no variant 'tiny'", "debian-bookworm/" },
        { "  project: app/src\n  build-packages:\n    python3: \"3.11.2-1+b1\"\n    python3-pip: \"23.0.1+dfsg-1\"\n    python3-wheel: \"0.38.4-2\"\n", "lacks python3-setuptools", "python3-setuptools" },
        { "  project: app/src\n  build-packages:\n    python3: latest\n    python3-pip: \"23.0.1+dfsg-1\"\n    python3-setuptools: \"66.1.1-1+deb12u2\"\n    python3-wheel: \"0.38.4-2\"\n", "not an exact Debian version", "apt-cache policy" },
        { "  find-links: app/wheels\n" + BuildPackages, "neither a project nor requirements", "project: app/" },
        { "  project: app/src\n  pip: yes\n" + BuildPackages, "pip", "" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task LoadAsync_BadPythonBlock_IsRefusedWithAFix(string python, string message, string fix)
    {
        // Given a pipeline with one mistake in its python block
        using var ws = Workspace(python);

        // When it is loaded
        var errors = await ws.ErrorsAsync();

        // Then the mistake is reported in the pipeline, with a fix
        var error = Assert.Single(errors, e => e.Message.Contains(message, StringComparison.Ordinal));
        Assert.EndsWith("app.yaml", error.File, StringComparison.Ordinal);
        Assert.Contains(fix, error.Fix ?? string.Empty, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_RequirementsIn_IsLooseUntilTheLockPinsItWithHashes()
    {
        // Given loose requirements (requirements.in) and no lock
        using var ws = Workspace("""
              project: app/src
              requirements: app/requirements.in
              find-links: app/wheels
            """ + "\n" + BuildPackages);
        ws.Write("pipelines/app/requirements.in", "greet>=1.0\n");

        // When it is loaded, Then it needs a lock
        var loose = (await ws.LoadAsync()).GetPipeline("app").Python!;
        Assert.Equal(["greet>=1.0"], loose.RequirementsIn);
        Assert.True(loose.NeedsLock);

        // When a lock with the resolved package sits next to it
        var pipelineLock = new Core.Locks.PipelineLock(1, "app", "sha256:" + new string('a', 64),
            new Core.Locks.LockedBase("debian-bookworm/slim", Core.References.ImageReference.Parse("127.0.0.1:5001/base/debian-bookworm:slim"), Core.References.Digest.Parse("sha256:" + new string('b', 64))),
            1_700_000_000, []) { PythonPackages = [new Core.Locks.LockedPythonPackage("greet", "1.0.0", Hash)] };
        await LockFileWriter.WriteAsync(pipelineLock, ws.PathOf("pipelines/app.lock.yaml"));
        var locked = (await ws.LoadAsync()).GetPipeline("app").Python!;

        // Then its requirements are the lock's pins, hashed
        Assert.False(locked.NeedsLock);
        Assert.Equal($"greet==1.0.0 --hash=sha256:{Hash}", Assert.Single(locked.Requirements).ToRequirementLine());
    }

    [Fact]
    public async Task LoadAsync_DevRequirementPinnedDifferently_IsRefused()
    {
        // Given a dev file pinning a runtime package at another version
        using var ws = Workspace("""
              requirements: app/requirements.txt
              dev-requirements: app/requirements-dev.txt
              find-links: app/wheels
            """ + "\n" + BuildPackages);
        ws.Write("pipelines/app/requirements-dev.txt", $"greet==2.0.0 --hash=sha256:{Hash}\n");

        // When it is loaded
        var error = await ws.SingleErrorAsync();

        // Then the conflict is named
        Assert.Contains("pinned differently", error.Message, StringComparison.Ordinal);
    }
}
