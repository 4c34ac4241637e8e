using Orchestrator.Core.Errors;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Definitions.Yaml;

/// <summary>Collects every problem found in one load, across files, so they are reported together.</summary>
internal sealed class Diagnostics
{
    private readonly List<DefinitionError> errors = [];

    public int Count => errors.Count;

    public void Add(DefinitionError error) => errors.Add(error);

    /// <summary>The errors sorted by file, line and column, as editors and CI logs list them.</summary>
    public IReadOnlyList<DefinitionError> Sorted() =>
        errors
            .OrderBy(e => e.File, StringComparer.Ordinal)
            .ThenBy(e => e.Line)
            .ThenBy(e => e.Column)
            .ToList();
}

/// <summary>One definition file: its paths, its parsed root and where its errors go.</summary>
internal sealed class SourceFile
{
    private SourceFile(string fullPath, Diagnostics diagnostics)
    {
        FullPath = fullPath;
        DisplayPath = ToDisplayPath(fullPath);
        Diagnostics = diagnostics;
    }

    /// <summary>The absolute path.</summary>
    public string FullPath { get; }

    /// <summary>Relative to the current directory when under it, else absolute: the path errors name.</summary>
    public string DisplayPath { get; }

    /// <summary>The folder holding the file.</summary>
    public string Directory => Path.GetDirectoryName(FullPath)!;

    /// <summary>The file name without <c>.yaml</c>.</summary>
    public string BaseName => Path.GetFileNameWithoutExtension(FullPath);

    public Diagnostics Diagnostics { get; }

    public static SourceFile For(string path, Diagnostics diagnostics) => new(Path.GetFullPath(path), diagnostics);

    public void Error(Mark at, string message, string? fix = null) =>
        Diagnostics.Add(new DefinitionError(DisplayPath, ToInt(at.Line), ToInt(at.Column), message, fix));

    public void Error(YamlNode at, string message, string? fix = null) => Error(at.Start, message, fix);

    /// <summary>An error at a 1-based line and column of a file that is not YAML (a requirements file).</summary>
    public void Error(int line, int column, string message, string? fix = null) =>
        Diagnostics.Add(new DefinitionError(DisplayPath, Math.Max(1, line), Math.Max(1, column), message, fix));

    public void ErrorAtStart(string message, string? fix = null) =>
        Diagnostics.Add(new DefinitionError(DisplayPath, 1, 1, message, fix));

    /// <summary>
    /// Parses the file into one YAML document. Malformed YAML, duplicate keys, an empty file or several
    /// documents are reported here; the root is returned whenever the rest of the file can still be checked.
    /// </summary>
    public async Task<YamlNode?> LoadAsync(CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(FullPath, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ErrorAtStart($"cannot read the file: {e.Message}", "check that it exists and is readable");
            return null;
        }

        var stream = new YamlStream();
        var parser = new DuplicateKeyFilter(new Parser(new StringReader(text)), (key, first) =>
            Error(key.Start, $"duplicate key '{key.Value}' (first defined at line {first.Line}, column {first.Column}); the second one is ignored",
                $"remove one of the two '{key.Value}' entries"));
        try
        {
            stream.Load(parser);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            // YamlDotNet's scanner can crash instead of throwing YamlException on some broken input
            // (a flow list left open before a 'key:' line); the last event it read is still a good place to look.
            Error(parser.LastGoodMark.Line > 0 ? parser.LastGoodMark : Mark.Empty, "malformed YAML: the parser could not read past this point",
                "fix the YAML syntax here or just after it (a missing closing ']' or '}', quotes, indentation)");
            return null;
        }
        catch (YamlException e)
        {
            // The parser's message is about YAML syntax; say so, because the user may think of keys first.
            var message = (e.InnerException as YamlException)?.Message ?? e.Message;
            Error(e.Start, $"malformed YAML: {message}",
                "fix the YAML syntax here (indentation, quotes, ':' after keys, closing ']' or '}')");
            return null;
        }

        if (stream.Documents.Count == 0 || IsNull(stream.Documents[0].RootNode))
        {
            ErrorAtStart("the file is empty", "write the definition, or delete the file");
            return null;
        }

        for (var i = 1; i < stream.Documents.Count; i++)
        {
            Error(stream.Documents[i].RootNode, "a second YAML document ('---') in the file",
                "keep one definition per file: move it to its own file");
        }

        return stream.Documents[0].RootNode;
    }

    /// <summary>True for an empty value or <c>~</c>/<c>null</c> written plainly: YAML's null.</summary>
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    /// <summary>How a node's kind reads in an error: "a mapping", "a list", "a string", "nothing".</summary>
    public static string Describe(YamlNode node) => node switch
    {
        _ when IsNull(node) => "nothing (an empty value)",
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode => "a string",
        _ => "an alias",
    };

    private static int ToInt(long value) => value > int.MaxValue ? int.MaxValue : (int)Math.Max(1, value);

    private static string ToDisplayPath(string fullPath)
    {
        var current = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Environment.CurrentDirectory));
        return fullPath.StartsWith(current + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? Path.GetRelativePath(current, fullPath)
            : fullPath;
    }
}
