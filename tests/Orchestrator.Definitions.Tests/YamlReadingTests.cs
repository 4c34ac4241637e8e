using Orchestrator.Core.Errors;

namespace Orchestrator.Definitions.Tests;

/// <summary>Problems any file can have: syntax, duplicate keys, unknown keys, wrong kinds, positions.</summary>
public sealed class YamlReadingTests
{
    [Fact]
    public async Task LoadAsync_MalformedYaml_ReportsParserPositionOneBased()
    {
        // Given a pipeline whose second line is indented under a scalar ('version:' at 2:3, its ':' at 2:10)
        using var ws = new TestWorkspace();
        var path = ws.Write("pipelines/app.yaml", "name: app\n  version: 1.0.0\nbase: debian-bookworm\n");

        // When the workspace is loaded
        var error = await ws.SingleErrorAsync();

        // Then the error is where the parser gave up, 1-based as editors show, and says it is YAML syntax
        Assert.Equal(path, error.File);
        Assert.Equal((2, 10), (error.Line, error.Column));
        error.AssertSays("malformed YAML", "fix the YAML syntax");
    }

    [Fact]
    public async Task LoadAsync_FlowListLeftOpen_ReportedNotCrashed()
    {
        // Given a flow list never closed before the next key (YamlDotNet's scanner crashes on this one)
        using var ws = new TestWorkspace();
        var path = ws.Write("pipelines/app.yaml", "name: app\nversion: 1.0.0\ntags: [\"a\", \"b\"\nbase: debian-bookworm\n");

        // When the workspace is loaded
        var error = await ws.SingleErrorAsync();

        // Then it is still a definition error, pointing at the open list's line
        Assert.Equal((path, 3), (error.File, error.Line));
        error.AssertSays("malformed YAML", "']'");
    }

    [Fact]
    public async Task LoadAsync_KeyPositions_AreOneBasedLinesAndColumns()
    {
        // Given an unknown key at the very start of line 2, column 3 (inside 'packages')
        using var ws = new TestWorkspace();
        var path = ws.Write("pipelines/app.yaml", TestWorkspace.Pipeline.Replace("packages:\n  apt:", "packages:\n  aptt:", StringComparison.Ordinal));

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then line 6 column 3 is reported: YamlDotNet's marks are used as 1-based, not shifted
        Assert.Equal((path, 6, 3), (error.File, error.Line, error.Column));
    }

    [Fact]
    public async Task LoadAsync_UnknownKey_SuggestsClosestAndListsKnownKeys()
    {
        // Given a pipeline with 'entrypiont' for 'entrypoint'
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline + "\nentrypiont: [\"sh\"]\n";
        var path = ws.Write("pipelines/app.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the key is named at its position, with a suggestion and the known keys
        error.AssertAt(path, text, "entrypiont");
        error.AssertSays("unknown key 'entrypiont'", "did you mean 'entrypoint'?");
        Assert.Contains("version", error.Fix!, StringComparison.Ordinal);
        Assert.Contains("validate", error.Fix!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_DuplicateKeys_ReportsEveryDuplicateAndOtherProblems()
    {
        // Given a pipeline with two duplicated keys and an unrelated unknown key
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline + "\nversion: 2.0.0\nrepository: apps/other\nfoo: 1\n";
        var path = ws.Write("pipelines/app.yaml", text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then both duplicates are reported at the second occurrence, and the unknown key too, in file order
        Assert.Equal(3, errors.Count);
        errors[0].AssertAt(path, text, "version: 2.0.0");
        errors[0].AssertSays("duplicate key 'version' (first defined at line 2", "remove one");
        errors[1].AssertAt(path, text, "repository: apps/other");
        errors[2].AssertAt(path, text, "foo");
    }

    [Fact]
    public async Task LoadAsync_NestedDuplicateKey_ReportedAndFirstKept()
    {
        // Given an apt package listed twice, the second time with a bad version
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline.Replace("python3-minimal: \"3.11.2-1+b1\"", "python3-minimal: \"3.11.2-1+b1\"\n    python3-minimal: latest", StringComparison.Ordinal);
        var path = ws.Write("pipelines/app.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then only the duplicate is reported (the second entry is dropped, not also checked)
        error.AssertAt(path, text, "python3-minimal", 2);
        error.AssertSays("duplicate key 'python3-minimal' (first defined at line 7, column 5)", "remove one");
    }

    [Fact]
    public async Task LoadAsync_WrongNodeKind_SaysExpectedAndActual()
    {
        // Given entrypoint written as a mapping instead of a list of strings
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline + "\nentrypoint: { cmd: sh }\n";
        var path = ws.Write("pipelines/app.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the value is pointed at and both kinds are named
        error.AssertAt(path, text, "{ cmd");
        error.AssertSays("'entrypoint' in the pipeline must be a list of strings, got a mapping", "entrypoint: [");
    }

    [Fact]
    public async Task LoadAsync_ListItemOfWrongKind_PointsAtTheItem()
    {
        // Given a cmd list whose second item is a mapping
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline + "\ncmd:\n  - sh\n  - { x: 1 }\n";
        var path = ws.Write("pipelines/app.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the item itself is reported
        error.AssertAt(path, text, "{ x: 1 }");
        error.AssertSays("must be a list of strings, got an item that is a mapping", "cmd:");
    }

    [Fact]
    public async Task LoadAsync_RootIsAList_ReportsAtStart()
    {
        // Given a base image file that is a list
        using var ws = new TestWorkspace();
        var path = ws.Write("base-images/other.yaml", "- a\n- b\n");

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the file start is reported with the known keys
        Assert.Equal((path, 1, 1), (error.File, error.Line, error.Column));
        error.AssertSays("must be a mapping of keys to values, got a list", "repository");
    }

    [Fact]
    public async Task LoadAsync_EmptyFile_IsRefused()
    {
        // Given an empty pipeline file
        using var ws = new TestWorkspace();
        var path = ws.Write("pipelines/empty.yaml", "# nothing yet\n");

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then it is reported at 1:1
        Assert.Equal((path, 1, 1), (error.File, error.Line, error.Column));
        error.AssertSays("empty", "delete the file");
    }

    [Fact]
    public async Task LoadAsync_ManyProblemsInManyFiles_OneExceptionSortedByFileLineColumn()
    {
        // Given problems in the config, a base and two pipelines
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", TestWorkspace.Config + "\nstate: { paht: x }\n");
        ws.Write("base-images/zz.yaml", "repository: Base/ZZ\nvariants: { a: {} }\n");
        ws.Write("pipelines/b.yaml", TestWorkspace.Pipeline.Replace("name: app", "name: b", StringComparison.Ordinal) + "\nuser: [1]\nworkdir: app\n");
        ws.Write("pipelines/a.yaml", TestWorkspace.Pipeline.Replace("\"3.11.2-1+b1\"", "latest", StringComparison.Ordinal));

        // When loaded
        var exception = await Assert.ThrowsAsync<DefinitionException>(ws.LoadAsync);

        // Then every problem is in the one exception, sorted, and the message lists them all
        var errors = exception.Errors;
        Assert.True(errors.Count >= 6, string.Join("\n", errors));
        var sorted = errors.OrderBy(e => e.File, StringComparer.Ordinal).ThenBy(e => e.Line).ThenBy(e => e.Column).ToList();
        Assert.Equal(sorted, errors);
        Assert.Contains(errors, e => e.File.EndsWith("orchestrator.yaml", StringComparison.Ordinal) && e.Message.Contains("'paht'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.File.EndsWith("zz.yaml", StringComparison.Ordinal) && e.Message.Contains("upper-case", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.File.EndsWith("zz.yaml", StringComparison.Ordinal) && e.Message.Contains("default-variant", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.File.EndsWith("a.yaml", StringComparison.Ordinal) && e.Message.Contains("python3-minimal", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.File.EndsWith("b.yaml", StringComparison.Ordinal) && e.Message.Contains("'user'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.File.EndsWith("b.yaml", StringComparison.Ordinal) && e.Message.Contains("workdir 'app'", StringComparison.Ordinal));
        Assert.Contains($"{errors.Count} problems", exception.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.BadInput, exception.ExitCode);
    }

    [Fact]
    public async Task LoadAsync_LockFiles_AreNotRead()
    {
        // Given a pipeline lock file (read as the pipeline's lock, never as a pipeline of its own)
        using var ws = new TestWorkspace();
        ws.Write("pipelines/app.yaml", TestWorkspace.Pipeline);
        ws.Write("pipelines/app.lock.yaml", $$"""
            lock-version: 1
            pipeline: app
            inputs-checksum: "sha256:{{new string('a', 64)}}"
            source-date-epoch: 0
            base: { name: debian-bookworm/slim, reference: "127.0.0.1:5001/base/debian-bookworm:slim", digest: "sha256:{{new string('b', 64)}}" }
            packages: []
            """);

        // When loaded
        var workspace = await ws.LoadAsync();

        // Then only the pipeline is there, carrying its lock
        Assert.Equal(["app"], workspace.Pipelines.Keys);
        Assert.NotNull(workspace.Pipelines["app"].Lock);
    }
}

/// <summary>Changes the process's current directory, so it runs alone.</summary>
[CollectionDefinition(nameof(CurrentDirectoryCollection), DisableParallelization = true)]
public sealed class CurrentDirectoryCollection;

[Collection(nameof(CurrentDirectoryCollection))]
public sealed class DisplayPathTests
{
    [Fact]
    public async Task LoadAsync_FileUnderCurrentDirectory_IsNamedRelative()
    {
        // Given a workspace under the current directory with one bad pipeline
        var previous = Environment.CurrentDirectory;
        using var ws = new TestWorkspace();
        ws.Write("pipelines/app.yaml", TestWorkspace.Pipeline + "\nbogus: 1\n");
        try
        {
            Environment.CurrentDirectory = Path.GetDirectoryName(ws.Root)!;

            // When loaded
            var error = await ws.SingleErrorAsync();

            // Then the file is named relative to the current directory, as the user typed paths
            Assert.Equal(Path.Combine(Path.GetFileName(ws.Root), "pipelines", "app.yaml"), error.File);
        }
        finally
        {
            Environment.CurrentDirectory = previous;
        }
    }
}
