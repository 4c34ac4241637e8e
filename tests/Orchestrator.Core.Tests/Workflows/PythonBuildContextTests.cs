using System.Formats.Tar;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

/// <summary>The multi-stage Dockerfile, context and cache inputs of a pipeline with a <c>python:</c> block.</summary>
public sealed class PythonBuildContextTests : IDisposable
{
    private const string Hash = "69d6f81ae45b4652165436b5f95209845dbb7c95613982dd78760c388d169437";
    private static readonly ImageReference Slim = ImageReference.Create("127.0.0.1:5001", "base/debian-bookworm", digest: Digest.Sha256Of("slim"u8));
    private static readonly ImageReference Full = ImageReference.Create("127.0.0.1:5001", "base/debian-bookworm", digest: Digest.Sha256Of("full"u8));

    private readonly WorkflowHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private PipelineDefinition PythonPipeline(string? index = null, bool withDev = true)
    {
        _harness.WriteFile("app/src/pyproject.toml", "[project]\nname = \"hello-service\"\nversion = \"1.2.3\"\n");
        _harness.WriteFile("app/src/hello/__init__.py", "print('hi')\n");
        _harness.WriteFile("app/src/build/lib/stale.py", "old build output\n");
        _harness.WriteFile("app/src/hello.egg-info/PKG-INFO", "stale\n");
        _harness.WriteFile("app/wheels/greet-1.0.0-py3-none-any.whl", "wheel bytes");
        var folder = Path.Combine(_harness.Root, "pipelines", "app");
        var python = new PythonSpec(
            Path.Combine(folder, "src"),
            Path.Combine(folder, "requirements.txt"),
            [new PythonRequirement("greet", "1.0.0", [Hash], null, "requirements.txt:1:1"), new PythonRequirement("tomli", "2.0.1", [Hash], "python_version < \"3.11\"", "requirements.txt:2:1")],
            null,
            withDev ? [new PythonRequirement("hello-devtools", "0.3.0", [Hash], null, "requirements-dev.txt:2:1")] : [],
            index,
            index is null ? Path.Combine(folder, "wheels") : null,
            new BaseVariantRef("debian-bookworm", "full"),
            [new AptPackage("python3", "3.11.2-1+b1"), new AptPackage("python3-pip", "23.0.1+dfsg-1"), new AptPackage("gcc", "4:12.2.0-3")]);
        return _harness.Pipeline() with { AptPackages = [new AptPackage("python3", "3.11.2-1+b1")], Python = python };
    }

    private static List<string> Lines(string dockerfile) => [.. dockerfile.Split('\n', StringSplitOptions.RemoveEmptyEntries)];

    [Fact]
    public void CreateDockerfile_PythonPipeline_BuildsWheelsOnFullAndCopiesOnlyTheInstalledTreeToSlim()
    {
        // Given a Python pipeline on slim with full as its build base
        var pipeline = PythonPipeline();

        // When the Dockerfile is generated
        var lines = Lines(BuildContext.CreateDockerfile(pipeline, Slim, Full));

        // Then the build stage is FROM full by digest and named, and the runtime stage FROM slim by digest comes after it
        var froms = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.Equal([$"FROM {Full.Name}@{Full.Digest} AS wheels", $"FROM {Slim.Name}@{Slim.Digest}"], froms);
        var runtimeAt = lines.IndexOf(froms[1]);
        var build = lines[..runtimeAt];
        var runtime = lines[runtimeAt..];

        // And the build stage installs the pinned build packages, builds in hash-checking mode and installs with hashes
        Assert.Contains(build, l => l.Contains("'gcc=4:12.2.0-3'", StringComparison.Ordinal) && l.Contains("'python3-pip=23.0.1+dfsg-1'", StringComparison.Ordinal));
        var wheels = Assert.Single(build, l => l.Contains("pip wheel --require-hashes", StringComparison.Ordinal));
        Assert.Contains("--no-build-isolation --no-index --find-links /build/src/wheelhouse", wheels, StringComparison.Ordinal);
        Assert.Contains("pip wheel --no-deps --no-build-isolation --no-index --wheel-dir /build/wheels /build/src/project", wheels, StringComparison.Ordinal);
        Assert.Contains($"pip install --no-index --require-hashes --no-compile --no-warn-script-location --target {PythonSpec.SitePackages}", wheels, StringComparison.Ordinal);
        Assert.Contains($"find {PythonSpec.SitePackages} -exec touch -h -d @946684800 {{}} +", wheels, StringComparison.Ordinal);
        Assert.Contains("SOURCE_DATE_EPOCH=946684800", wheels, StringComparison.Ordinal);
        Assert.Contains("PIP_NO_CACHE_DIR=1", wheels, StringComparison.Ordinal);

        // And the runtime stage installs only its own packages and copies the installed tree: no pip, no compiler
        Assert.Contains(runtime, l => l == $"COPY --from=wheels {PythonSpec.SitePackages} {PythonSpec.SitePackages}");
        Assert.Contains(runtime, l => l == $"ENV PYTHONPATH={PythonSpec.SitePackages}");
        Assert.DoesNotContain(runtime, l => l.Contains("pip", StringComparison.Ordinal) && !l.Contains(PythonSpec.SitePackages, StringComparison.Ordinal));
        Assert.DoesNotContain(runtime, l => l.Contains("gcc", StringComparison.Ordinal));
    }

    [Fact]
    public void CreateDockerfile_Index_BuildsFromTheIndexDistributionsInTheContextWithNoIndex()
    {
        // Given requirements from a simple index
        var pipeline = PythonPipeline(index: "http://127.0.0.1:8123/simple");

        // When the Dockerfile is generated
        var dockerfile = BuildContext.CreateDockerfile(pipeline, Slim, Full);
        var wheels = Assert.Single(Lines(dockerfile), l => l.Contains("pip wheel --require-hashes", StringComparison.Ordinal));

        // Then the build never reaches the index (it has no network): the package cache put its files in the context
        Assert.Contains("pip wheel --require-hashes --no-build-isolation --no-index --find-links /build/src/index-wheels --wheel-dir", wheels, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1:8123", dockerfile, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateDockerfile_PythonPipelineWithoutBuildBase_ThrowsArgumentException()
    {
        var error = Assert.Throws<ArgumentException>(() => BuildContext.CreateDockerfile(PythonPipeline(), Slim));
        Assert.Equal("buildBaseReference", error.ParamName);
    }

    [Fact]
    public async Task WriteAsync_PythonPipeline_CarriesFlattenedRequirementsProjectAndWheelhouseWithoutBuildOutputs()
    {
        // Given a Python pipeline whose project folder has stale build outputs
        var pipeline = PythonPipeline();
        var dockerfile = BuildContext.CreateDockerfile(pipeline, Slim, Full);

        // When the context is written
        using var tar = new MemoryStream();
        await BuildContext.WriteAsync(pipeline, dockerfile, tar);
        tar.Position = 0;
        var entries = new Dictionary<string, string>();
        using (var reader = new TarReader(tar))
        {
            while (await reader.GetNextEntryAsync(copyData: true) is { } entry)
            {
                entries[entry.Name] = entry.DataStream is null ? string.Empty : await new StreamReader(entry.DataStream).ReadToEndAsync();
            }
        }

        // Then it has the requirements as hashed lines, the project and the wheelhouse, and no build outputs
        Assert.Equal(["Dockerfile", "python/project/hello/__init__.py", "python/project/pyproject.toml", "python/requirements.txt", "python/wheelhouse/greet-1.0.0-py3-none-any.whl"], entries.Keys.Order(StringComparer.Ordinal));
        Assert.Equal($"greet==1.0.0 --hash=sha256:{Hash}\ntomli==2.0.1 ; python_version < \"3.11\" --hash=sha256:{Hash}\n", entries["python/requirements.txt"]);
    }

    [Fact]
    public void Compute_PythonInputs_EachChangesTheKey()
    {
        // Given a Python pipeline's key
        var pipeline = PythonPipeline();
        Digest Key(PipelineDefinition p, Digest? buildBase = null) => BuildCacheKey.Compute(p, Slim.Digest!, null, null, null, buildBase ?? Full.Digest);
        var before = Key(pipeline);

        // When a project file, a wheelhouse file, a requirement, a build package or the build base changes
        var keys = new List<Digest>();
        _harness.WriteFile("app/src/hello/__init__.py", "print('changed')\n");
        keys.Add(Key(pipeline));
        _harness.WriteFile("app/wheels/greet-1.0.0-py3-none-any.whl", "other wheel bytes");
        keys.Add(Key(pipeline));
        keys.Add(Key(pipeline with { Python = pipeline.Python! with { Requirements = [pipeline.Python.Requirements[0] with { Version = "1.0.1" }] } }));
        keys.Add(Key(pipeline with { Python = pipeline.Python! with { BuildPackages = [new AptPackage("python3", "3.11.2-1+b1")] } }));
        keys.Add(Key(pipeline, Digest.Sha256Of("another full"u8)));

        // Then every change gives another key, and a stale build output does not
        Assert.Equal(6, keys.Prepend(before).Distinct().Count());
        var last = Key(pipeline);
        _harness.WriteFile("app/src/build/lib/stale.py", "different stale output\n");
        Assert.Equal(last, Key(pipeline));
    }

    [Fact]
    public void Compute_PythonPipelineWithoutBuildBaseDigest_ThrowsArgumentException() =>
        Assert.Throws<ArgumentException>(() => BuildCacheKey.Compute(PythonPipeline(), Slim.Digest!, null, null));

    [Fact]
    public void InputsChecksum_PythonRequirementChanges_ChecksumChanges()
    {
        // Given a Python pipeline and the same with another requirement version
        var pipeline = PythonPipeline();
        var moved = pipeline with { Python = pipeline.Python! with { Requirements = [pipeline.Python.Requirements[0] with { Version = "1.0.1" }] } };

        // When their lock inputs are checksummed, then they differ, and the pipeline without python differs from both
        var checksums = new[] { Core.Locks.InputsChecksum.Compute(pipeline), Core.Locks.InputsChecksum.Compute(moved), Core.Locks.InputsChecksum.Compute(pipeline with { Python = null }) };
        Assert.Equal(3, checksums.Distinct().Count());
    }

    [Fact]
    public void For_PythonPipeline_ChecksVersionsCompilerCacheAndDevRequirements()
    {
        // Given a Python pipeline with a project, a marker-guarded requirement and a dev requirement
        var pipeline = PythonPipeline();

        // When its built-in checks are made
        var checks = PythonChecks.For(pipeline);

        // Then there are four, each a command, and the versions check pins the project and requirements (optional behind a marker)
        Assert.Equal(["python: packages at their pinned versions", "python: no C compiler", "python: no pip cache", "python: no dev requirement installed"], checks.Select(c => c.Name));
        var versions = checks[0].Run[2];
        Assert.Contains("(\"hello-service\", \"1.2.3\", True)", versions, StringComparison.Ordinal);
        Assert.Contains("(\"greet\", \"1.0.0\", True)", versions, StringComparison.Ordinal);
        Assert.Contains("(\"tomli\", \"2.0.1\", False)", versions, StringComparison.Ordinal);
        Assert.Contains("[\"hello-devtools\"]", checks[3].Run[2], StringComparison.Ordinal);
        Assert.All(checks, c => Assert.Equal(0, c.ExpectExit));
    }

    [Fact]
    public void For_PipelineWithoutPythonOrDevRequirements_HasNoneOrNoDevCheck()
    {
        Assert.Empty(PythonChecks.For(_harness.Pipeline()));
        Assert.DoesNotContain(PythonChecks.For(PythonPipeline(withDev: false)), c => c.Name.Contains("dev", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("[project]\nname = \"a\"\nversion = \"1.0\"\n", "a", "1.0")]
    [InlineData("[build-system]\nrequires = [\"setuptools\"]\n\n[project]\nname = 'b-c'\nversion = '2.0.post1'\n[tool.x]\nversion = \"9\"\n", "b-c", "2.0.post1")]
    [InlineData("[project]\nname = \"a\"\ndynamic = [\"version\"]\n", null, null)]
    public void ProjectNameAndVersion_Pyproject_ReadsTheProjectTableOnly(string text, string? name, string? version)
    {
        var path = _harness.WriteFile("p/pyproject.toml", text);
        var result = PythonChecks.ProjectNameAndVersion(path);
        Assert.Equal(name, result?.Name);
        Assert.Equal(version, result?.Version);
    }
}
