using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;

namespace Orchestrator.Definitions.Tests;

/// <summary>A fresh workspace folder per test (orchestrator.yaml, base-images/, pipelines/), deleted after.</summary>
internal sealed class TestWorkspace : IDisposable
{
    public const string Config = """
        stages: [staging, production]
        registries:
          staging: { url: http://127.0.0.1:5001 }
          production: { url: http://127.0.0.1:5002 }
        """;

    public const string Base = """
        repository: base/debian-bookworm
        default-variant: full
        suite: bookworm
        variants:
          full: {}
          slim:
            debootstrap-variant: minbase
            slim: true
        """;

    public const string Pipeline = """
        name: app
        version: 1.0.0
        base: debian-bookworm/slim
        repository: apps/app
        packages:
          apt:
            python3-minimal: "3.11.2-1+b1"
        tags: ["{version}", latest]
        """;

    public TestWorkspace(bool withDefaults = true)
    {
        Root = Path.Combine(Path.GetTempPath(), "orch-defs-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(Root, "base-images"));
        Directory.CreateDirectory(Path.Combine(Root, "pipelines"));
        if (withDefaults)
        {
            Write("orchestrator.yaml", Config);
            Write("base-images/debian-bookworm.yaml", Base);
        }
    }

    public string Root { get; }

    public string ConfigPath => Path.Combine(Root, "orchestrator.yaml");

    /// <summary>Writes <paramref name="text"/> to a path relative to the root and returns its absolute path.</summary>
    public string Write(string relativePath, string text)
    {
        var path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text.ReplaceLineEndings("\n"));
        return path;
    }

    public string PathOf(string relativePath) => Path.Combine(Root, relativePath);

    public Task<Workspace> LoadAsync() => new WorkspaceLoader().LoadAsync(ConfigPath);

    /// <summary>Loads, expecting refusal, and returns every error.</summary>
    public async Task<IReadOnlyList<DefinitionError>> ErrorsAsync()
    {
        var exception = await Assert.ThrowsAsync<DefinitionException>(LoadAsync);
        Assert.NotEmpty(exception.Errors);
        return exception.Errors;
    }

    /// <summary>Loads, expecting exactly one error, and returns it.</summary>
    public async Task<DefinitionError> SingleErrorAsync()
    {
        var errors = await ErrorsAsync();
        return Assert.Single(errors, e => true);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>
    /// The 1-based line and column of the <paramref name="occurrence"/>th <paramref name="needle"/> in
    /// <paramref name="text"/>, computed independently of YamlDotNet.
    /// </summary>
    public static (int Line, int Column) Locate(string text, string needle, int occurrence = 1)
    {
        text = text.ReplaceLineEndings("\n");
        var index = -1;
        for (var i = 0; i < occurrence; i++)
        {
            index = text.IndexOf(needle, index + 1, StringComparison.Ordinal);
            Assert.True(index >= 0, $"'{needle}' (occurrence {occurrence}) is not in the fixture");
        }

        var line = text[..index].Count(c => c == '\n') + 1;
        var lineStart = index == 0 ? 0 : text.LastIndexOf('\n', index - 1) + 1;
        var column = index - lineStart + 1;
        return (line, column);
    }
}

internal static class ErrorAssertions
{
    /// <summary>
    /// Asserts the error is in <paramref name="file"/> at the position of <paramref name="needle"/>, moved
    /// right by <paramref name="skip"/> characters (to point past a key at its value).
    /// </summary>
    public static void AssertAt(this DefinitionError error, string file, string text, string needle, int occurrence = 1, int skip = 0)
    {
        var (line, column) = TestWorkspace.Locate(text, needle, occurrence);
        column += skip;
        Assert.Equal(file, error.File);
        Assert.True((line, column) == (error.Line, error.Column),
            $"expected {file}:{line}:{column} ('{needle}'), got {error}");
    }

    /// <summary>Asserts the message and the fix both mention what they should, case-sensitively.</summary>
    public static void AssertSays(this DefinitionError error, string inMessage, string inFix)
    {
        Assert.Contains(inMessage, error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Fix);
        Assert.Contains(inFix, error.Fix, StringComparison.Ordinal);
    }
}
