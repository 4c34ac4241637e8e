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

    public void AddRange(Diagnostics other) => errors.AddRange(other.errors);

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
        if (await ReadTextAsync(cancellationToken).ConfigureAwait(false) is not { } text)
        {
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
        catch (NestingTooDeepException e)
        {
            Error(e.At, $"lists and mappings are nested more than {DefinitionLimits.MaxDepth} deep here", "flatten the structure; no definition nests that deep");
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

        var root = stream.Documents[0].RootNode;

        // Past a limit the rest of the file is not checked: later messages would quote the oversized value.
        return WithinLimits(root) ? root : null;
    }

    /// <summary>
    /// The file's text, or null (with an error) when it cannot be read, is larger than
    /// <see cref="DefinitionLimits.MaxFileBytes"/> or is not UTF-8. A UTF-8 byte order mark is dropped.
    /// Bytes that are not UTF-8 are refused at their line and column instead of silently becoming U+FFFD.
    /// </summary>
    public async Task<string?> ReadTextAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = new FileStream(FullPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, useAsync: true);

            // Read at most one byte past the limit, in chunks, instead of trusting the length (a FIFO or
            // /dev/zero has none) or allocating the limit up front (the daemon reloads definitions often).
            using var content = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while (content.Length <= DefinitionLimits.MaxFileBytes
                && (read = await stream.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, DefinitionLimits.MaxFileBytes + 1 - content.Length)), cancellationToken).ConfigureAwait(false)) > 0)
            {
                content.Write(chunk, 0, read);
            }

            return Decode(content.GetBuffer().AsSpan(0, (int)content.Length));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ErrorAtStart($"cannot read the file: {e.Message}", "check that it exists and is readable");
            return null;
        }
    }

    /// <summary>The same as <see cref="ReadTextAsync"/>, for readers that are synchronous (requirements files).</summary>
    public string? ReadText()
    {
        try
        {
            using var stream = new FileStream(FullPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
            using var content = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while (content.Length <= DefinitionLimits.MaxFileBytes
                && (read = stream.Read(chunk.AsSpan(0, (int)Math.Min(chunk.Length, DefinitionLimits.MaxFileBytes + 1 - content.Length)))) > 0)
            {
                content.Write(chunk, 0, read);
            }

            return Decode(content.GetBuffer().AsSpan(0, (int)content.Length));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ErrorAtStart($"cannot read the file: {e.Message}", "check that it exists and is readable");
            return null;
        }
    }

    private string? Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > DefinitionLimits.MaxFileBytes)
        {
            ErrorAtStart($"the file is larger than the limit of {DefinitionLimits.MaxFileBytes / 1024 / 1024} MiB for a definition",
                "definitions are a few KiB: check that this is the right file, and split or shorten it");
            return null;
        }

        var start = bytes.StartsWith(Utf8Bom) ? Utf8Bom.Length : 0;
        if (FirstInvalidUtf8(bytes[start..]) is { } bad)
        {
            Error(bad.Line, bad.Column, $"the file is not UTF-8: byte 0x{bad.Byte:X2} at offset {start + bad.Offset} is not valid UTF-8",
                "save the file as UTF-8 (e.g. 'iconv -f latin1 -t utf-8 FILE'), or remove the stray bytes");
            return null;
        }

        return System.Text.Encoding.UTF8.GetString(bytes[start..]);
    }

    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];

    /// <summary>The 1-based line and column (in characters) of the first byte that is not UTF-8, or null.</summary>
    internal static (int Line, int Column, int Offset, byte Byte)? FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        var line = 1;
        var column = 1;
        var offset = 0;
        while (offset < bytes.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes[offset..], out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return (line, column, offset, bytes[offset]);
            }

            offset += consumed;
            if (rune.Value == '\n')
            {
                line++;
                column = 1;
            }
            else
            {
                column++;
            }
        }

        return null;
    }

    /// <summary>
    /// Reports every value longer than <see cref="DefinitionLimits.MaxScalarChars"/> and every list or mapping
    /// with more than <see cref="DefinitionLimits.MaxItems"/> items, without quoting the value.
    /// </summary>
    private bool WithinLimits(YamlNode root)
    {
        var ok = true;
        var pending = new Stack<YamlNode>();
        pending.Push(root);
        var visited = 0;
        while (pending.TryPop(out var node))
        {
            // Aliases share nodes, so a small file can expand to billions of values ("billion laughs").
            if (++visited > DefinitionLimits.MaxExpandedValues)
            {
                Error(root, $"the file expands to more than {DefinitionLimits.MaxExpandedValues} values (through '*' aliases)",
                    "write the values out instead of nesting aliases of aliases");
                return false;
            }

            switch (node)
            {
                case YamlScalarNode { Value.Length: > DefinitionLimits.MaxScalarChars } scalar:
                    Error(scalar, $"a value of {scalar.Value!.Length} characters is longer than the limit of {DefinitionLimits.MaxScalarChars} for one value",
                        "shorten it; long scripts belong in a file copied into the image");
                    ok = false;
                    break;
                case YamlSequenceNode sequence:
                    ok &= WithinItemLimit(sequence, sequence.Children.Count, "list");
                    foreach (var child in sequence.Children)
                    {
                        pending.Push(child);
                    }

                    break;
                case YamlMappingNode mapping:
                    ok &= WithinItemLimit(mapping, mapping.Children.Count, "mapping");
                    foreach (var (key, value) in mapping.Children)
                    {
                        pending.Push(key);
                        pending.Push(value);
                    }

                    break;
            }
        }

        return ok;
    }

    private bool WithinItemLimit(YamlNode node, int count, string kind)
    {
        if (count <= DefinitionLimits.MaxItems)
        {
            return true;
        }

        Error(node, $"this {kind} has {count} items, more than the limit of {DefinitionLimits.MaxItems}", "split the definition or remove entries");
        return false;
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
