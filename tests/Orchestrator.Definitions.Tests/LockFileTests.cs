using Orchestrator.Core.Errors;
using Orchestrator.Core.Locks;
using Orchestrator.Core.References;

namespace Orchestrator.Definitions.Tests;

public sealed class LockFileTests : IDisposable
{
    private readonly TestWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    private static PipelineLock SampleLock(string pipeline = "app", string version = "3.11.2-1+b1") => new(
        PipelineLock.CurrentVersion, pipeline, "sha256:" + new string('a', 64),
        new LockedBase("debian-bookworm/slim", ImageReference.Parse("127.0.0.1:5001/base/debian-bookworm:slim"), Digest.Parse("sha256:" + new string('b', 64)))
        {
            Packages = [new InstalledPackage("libc6", "2.36-9+deb12u14", "amd64"), new InstalledPackage("bash", "5.2.15-2+b13", "amd64")],
        },
        1_795_140_670,
        [
            new LockedPackage("zlib1g", "1:1.2.13.dfsg-1", "amd64", new string('d', 64), false),
            new LockedPackage("python3-minimal", version, "amd64", new string('c', 64), true),
        ]);

    [Fact]
    public async Task WriteThenRead_SampleLock_RoundTripsWithSortedPackagesAndHeader()
    {
        // Given a lock with packages out of order, written to disk
        var path = _workspace.PathOf("pipelines/app.lock.yaml");
        await LockFileWriter.WriteAsync(SampleLock(), path);

        // When it is read back
        var read = await LockFileReader.ReadAsync(path);

        // Then every field survives, packages come back sorted, and the file starts with the header
        var text = await File.ReadAllTextAsync(path);
        Assert.StartsWith(LockFileWriter.Header + "\n", text, StringComparison.Ordinal);
        Assert.Equal(["python3-minimal", "zlib1g"], read.Packages.Select(p => p.Name));
        Assert.Equal(SampleLock().Packages.OrderBy(p => p.Name, StringComparer.Ordinal), read.Packages);
        Assert.Equal(["bash", "libc6"], read.Base.Packages.Select(p => p.Name));
        Assert.Equal(SampleLock() with { Packages = read.Packages, Base = read.Base }, read);
        Assert.Equal(SampleLock().Base.Digest, read.Base.Digest);
        Assert.Equal("127.0.0.1:5001/base/debian-bookworm:slim", read.Base.Reference.ToString());

        // And writing it again gives the same bytes
        Assert.Equal(text, LockFileWriter.Write(read));
    }

    [Fact]
    public async Task Write_VersionNeedingEscapes_QuotesItAsARelaxedJsonStringThatReadsBack()
    {
        // Given a version with a quote, a backslash, a tab, '+', '~' and a non-ASCII letter
        const string version = "1:2.0+dfsg~\"rc\"\\x\té";
        var path = _workspace.PathOf("pipelines/app.lock.yaml");

        // When the lock is written and read back
        await LockFileWriter.WriteAsync(SampleLock(version: version), path);
        var read = await LockFileReader.ReadAsync(path);

        // Then the scalar escapes only what JSON must ('+', '~' and 'é' stay readable), and YAML reads the same text
        Assert.Contains("version: \"1:2.0+dfsg~\\\"rc\\\"\\\\x\\té\"", await File.ReadAllTextAsync(path), StringComparison.Ordinal);
        Assert.Equal(version, read.Packages.Single(p => p.Name == "python3-minimal").Version);
    }

    [Fact]
    public async Task WriteThenRead_PythonPackages_RoundTripSortedAndOnlyWhenPresent()
    {
        // Given a lock with two Python packages out of order, and the same lock without any
        var withPython = SampleLock() with
        {
            PythonPackages = [new LockedPythonPackage("zipp", "3.17.0", new string('e', 64)), new LockedPythonPackage("greet", "1.0.0", new string('f', 64))],
        };
        var path = _workspace.PathOf("pipelines/app.lock.yaml");
        await LockFileWriter.WriteAsync(withPython, path);

        // When it is read back
        var read = await LockFileReader.ReadAsync(path);

        // Then the packages come back sorted by name with their hashes, and a lock without them has no key at all
        Assert.Equal([.. withPython.PythonPackages.OrderBy(p => p.Name, StringComparer.Ordinal)], read.PythonPackages);
        Assert.Contains($"python-packages:\n  - {{ name: \"greet\", version: \"1.0.0\", sha256: \"{new string('f', 64)}\" }}\n", await File.ReadAllTextAsync(path), StringComparison.Ordinal);
        Assert.DoesNotContain("python-packages", LockFileWriter.Write(SampleLock()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteThenRead_BuildStage_RoundTripsTheBuildBaseAndItsClosure()
    {
        // Given a Python pipeline's lock with a build base and its apt closure
        var withBuild = SampleLock() with
        {
            BuildBase = new LockedBase("debian-bookworm/full", ImageReference.Parse("127.0.0.1:5001/base/debian-bookworm:full"), Digest.Parse("sha256:" + new string('9', 64))),
            BuildPackages = [new LockedPackage("gcc-12", "12.2.0-14+deb12u1", "amd64", new string('8', 64), false), new LockedPackage("gcc", "4:12.2.0-3", "amd64", new string('7', 64), true)],
        };
        var path = _workspace.PathOf("pipelines/app.lock.yaml");
        await LockFileWriter.WriteAsync(withBuild, path);

        // When it is read back
        var read = await LockFileReader.ReadAsync(path);

        // Then the build base and its sorted closure survive, and a lock without them writes neither key
        Assert.Equal(withBuild.BuildBase.Digest, read.BuildBase!.Digest);
        Assert.Equal("debian-bookworm/full", read.BuildBase.Name);
        Assert.Equal(["gcc", "gcc-12"], read.BuildPackages.Select(p => p.Name));
        Assert.True(read.BuildPackages[0].Direct);
        Assert.DoesNotContain("build-", LockFileWriter.Write(SampleLock()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_UnknownKeyBadDigestAndBadSha256_ReportsEachAtItsPosition()
    {
        // Given a lock with an unknown key, a malformed base digest and a short sha256
        var text = LockFileWriter.Write(SampleLock())
            .Replace("source-date-epoch:", "extra: 1\nsource-date-epoch:", StringComparison.Ordinal)
            .Replace("sha256:" + new string('b', 64), "sha256:xyz", StringComparison.Ordinal)
            .Replace(new string('c', 64), "abc", StringComparison.Ordinal);
        var path = _workspace.Write("pipelines/app.lock.yaml", text);

        // When it is read
        var error = await Assert.ThrowsAsync<DefinitionException>(() => LockFileReader.ReadAsync(path));

        // Then each problem is reported at its line and column, with the regenerate fix
        Assert.Equal(3, error.Errors.Count);
        var unknown = error.Errors.Single(e => e.Message.Contains("unknown key 'extra'", StringComparison.Ordinal));
        Assert.Equal(TestWorkspace.Locate(text, "extra"), (unknown.Line, unknown.Column));
        var digest = error.Errors.Single(e => e.Message.Contains("base digest", StringComparison.Ordinal));
        Assert.Equal(TestWorkspace.Locate(text, "\"sha256:xyz\""), (digest.Line, digest.Column));
        Assert.Contains("orchestrator lock --update app", digest.Fix);
        var sha = error.Errors.Single(e => e.Message.Contains("'abc'", StringComparison.Ordinal));
        Assert.Equal(TestWorkspace.Locate(text, "\"abc\""), (sha.Line, sha.Column));
        Assert.EndsWith("app.lock.yaml", sha.File, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_MalformedYaml_ReportsThePosition()
    {
        // Given a lock cut off inside a flow mapping
        var path = _workspace.Write("pipelines/app.lock.yaml", "lock-version: 1\npackages:\n  - { name: \"hello\", version: \n");

        // When it is read, Then the error is a YAML syntax error with a position in the file
        var error = await Assert.ThrowsAsync<DefinitionException>(() => LockFileReader.ReadAsync(path));
        var single = Assert.Single(error.Errors);
        Assert.Contains("malformed YAML", single.Message);
        Assert.True(single.Line >= 3, single.ToString());
    }

    [Fact]
    public async Task Load_UnpinnedPackageWithoutLock_IsRefusedNamingTheLockFile()
    {
        // Given a pipeline with an unpinned package and no lock next to it
        _workspace.Write("pipelines/app.yaml", TestWorkspace.Pipeline.Replace("python3-minimal: \"3.11.2-1+b1\"", "python3-minimal:", StringComparison.Ordinal));

        // Then loading refuses it, naming the package
        var error = await _workspace.SingleErrorAsync();
        error.AssertSays("apt package 'python3-minimal' has no version", "pin an exact version");
        Assert.Contains("app.lock.yaml", error.Message);
    }

    [Fact]
    public async Task Load_UnpinnedWithoutLockForTheLockVerb_AcceptedWithAnEmptyVersion()
    {
        // Given an unpinned package and no lock, loaded the way 'orchestrator lock' loads
        _workspace.Write("pipelines/app.yaml", TestWorkspace.Pipeline.Replace("python3-minimal: \"3.11.2-1+b1\"", "python3-minimal:", StringComparison.Ordinal));
        var workspace = await new WorkspaceLoader { AllowUnpinnedWithoutLock = true }.LoadAsync(_workspace.ConfigPath);

        // Then the package is there unpinned, with no version and no lock yet
        var pipeline = workspace.GetPipeline("app");
        Assert.Equal(new Core.Definitions.AptPackage("python3-minimal", string.Empty), Assert.Single(pipeline.AptPackages));
        Assert.Equal(["python3-minimal"], pipeline.UnpinnedPackages);
        Assert.Null(pipeline.Lock);
    }

    [Fact]
    public async Task Load_UnpinnedPackageWithLock_TakesTheLockedVersionAndAttachesTheLock()
    {
        // Given the same unpinned pipeline, with a lock that pins python3-minimal
        _workspace.Write("pipelines/app.yaml", TestWorkspace.Pipeline.Replace("python3-minimal: \"3.11.2-1+b1\"", "python3-minimal: \"\"", StringComparison.Ordinal));
        await LockFileWriter.WriteAsync(SampleLock(version: "3.11.2-1+b2"), _workspace.PathOf("pipelines/app.lock.yaml"));

        // When the workspace loads
        var pipeline = (await _workspace.LoadAsync()).GetPipeline("app");

        // Then the package carries the locked version, is marked unpinned, and the lock is attached
        Assert.Equal("3.11.2-1+b2", Assert.Single(pipeline.AptPackages).Version);
        Assert.Equal(["python3-minimal"], pipeline.UnpinnedPackages);
        Assert.Equal(_workspace.PathOf("pipelines/app.lock.yaml"), pipeline.LockFile);
        Assert.Equal("app", pipeline.Lock?.Pipeline);
    }

    [Fact]
    public async Task Load_BrokenLockNextToPipeline_ReportsTheLockError()
    {
        // Given a lock with a wrong lock-version next to a valid pipeline
        _workspace.Write("pipelines/app.yaml", TestWorkspace.Pipeline);
        _workspace.Write("pipelines/app.lock.yaml", LockFileWriter.Write(SampleLock()).Replace("lock-version: 1", "lock-version: 7", StringComparison.Ordinal));

        // Then loading refuses with the lock file's position and the regenerate fix
        var error = await _workspace.SingleErrorAsync();
        Assert.EndsWith("app.lock.yaml", error.File, StringComparison.Ordinal);
        error.AssertSays("lock-version 7", "orchestrator lock --update app");
    }

    [Fact]
    public async Task InputsChecksum_CommentsAndWhitespace_StableButAFileByteChangesIt()
    {
        // Given a pipeline with a copied file
        var definition = TestWorkspace.Pipeline + "\nfiles:\n  - { src: app/main.py, dest: /app/main.py }\n";
        _workspace.Write("pipelines/app/main.py", "print('hi')\n");
        _workspace.Write("pipelines/app.yaml", definition);
        var first = InputsChecksum.Compute((await _workspace.LoadAsync()).GetPipeline("app"));

        // When comments, blank lines and quoting change
        _workspace.Write("pipelines/app.yaml", "# a comment\n\n" + definition.Replace("version: 1.0.0", "version:    \"1.0.0\"   # pinned", StringComparison.Ordinal) + "\n\n# trailing\n");
        var reformatted = InputsChecksum.Compute((await _workspace.LoadAsync()).GetPipeline("app"));

        // And when one byte of the copied file changes
        _workspace.Write("pipelines/app/main.py", "print('hI')\n");
        var changed = InputsChecksum.Compute((await _workspace.LoadAsync()).GetPipeline("app"));

        // Then the checksum ignores the formatting but not the file
        Assert.Equal(first, reformatted);
        Assert.NotEqual(first, changed);
    }
}
