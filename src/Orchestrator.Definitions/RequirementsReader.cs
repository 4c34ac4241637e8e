using System.Text;
using System.Text.RegularExpressions;
using Orchestrator.Core.Definitions;
using Orchestrator.Definitions.Yaml;

namespace Orchestrator.Definitions;

/// <summary>
/// Reads a pip requirements file in the strict form hash-checking mode needs (pip's "Requirements File
/// Format" and "Secure installs"): every requirement <c>name==version</c>, with at least one
/// <c>--hash=sha256:…</c>, optionally extras and a PEP 508 environment marker after <c>;</c>. Comments
/// (<c>#</c>), blank lines, line continuations (a trailing <c>\</c>) and <c>-r FILE</c> includes (relative to
/// the including file, inside <c>root</c>) work. Refused, each at its file:line:column: an unpinned or
/// ranged version, a missing hash, a URL, a path or an <c>-e</c> editable install, and every other option
/// (indexes belong in the pipeline's <c>python:</c> block).
/// </summary>
internal static partial class RequirementsReader
{
    /// <summary>How deep <c>-r</c> includes may nest before the reader calls it a cycle.</summary>
    public const int MaxIncludeDepth = 16;

    /// <summary>
    /// The requirements of <paramref name="path"/> and every file it includes, in file order; problems go to
    /// <paramref name="diagnostics"/> (the result then holds only the good lines). A name listed twice is refused.
    /// </summary>
    /// <param name="path">The requirements file (absolute, or relative to the current directory).</param>
    /// <param name="root">Includes must stay inside this folder (the pipeline's folder).</param>
    /// <param name="diagnostics">Where problems are reported, as <c>file:line:column</c> errors.</param>
    public static List<PythonRequirement> Read(string path, string root, Diagnostics diagnostics)
    {
        var result = new List<PythonRequirement>();
        var seen = new Dictionary<string, PythonRequirement>(StringComparer.Ordinal);
        ReadFile(SourceFile.For(path, diagnostics), root, result, seen, [], depth: 0, loose: false);
        return result;
    }

    /// <summary>
    /// Loose requirements (<c>requirements.in</c>) for <c>orchestrator lock</c> to resolve: the same rules, except that
    /// versions may be ranges or left out and hashes are not needed. Each item is the requirement as pip reads it
    /// (name, extras, specifiers, marker), without options.
    /// </summary>
    public static List<string> ReadLoose(string path, string root, Diagnostics diagnostics)
    {
        var result = new List<PythonRequirement>();
        var seen = new Dictionary<string, PythonRequirement>(StringComparer.Ordinal);
        ReadFile(SourceFile.For(path, diagnostics), root, result, seen, [], depth: 0, loose: true);
        return [.. result.Select(r => r.Version)];
    }

    /// <summary>The requirements in <paramref name="text"/>, read as if it were the file at <paramref name="path"/> (for tests and includes).</summary>
    internal static List<PythonRequirement> Parse(string path, string text, string root, Diagnostics diagnostics, bool loose = false)
    {
        var result = new List<PythonRequirement>();
        var seen = new Dictionary<string, PythonRequirement>(StringComparer.Ordinal);
        ParseText(SourceFile.For(path, diagnostics), text, root, result, seen, [Path.GetFullPath(path)], depth: 0, loose);
        return result;
    }

    private static void ReadFile(SourceFile file, string root, List<PythonRequirement> result, Dictionary<string, PythonRequirement> seen, List<string> chain, int depth, bool loose)
    {
        if (file.ReadText() is not { } text)
        {
            return;
        }

        ParseText(file, text, root, result, seen, [.. chain, file.FullPath], depth, loose);
    }

    private static void ParseText(SourceFile file, string text, string root, List<PythonRequirement> result, Dictionary<string, PythonRequirement> seen, List<string> chain, int depth, bool loose)
    {
        foreach (var line in LogicalLines(text))
        {
            var content = StripComment(line.Text);
            if (content.Trim().Length == 0)
            {
                continue;
            }

            var start = content.Length - content.TrimStart().Length;
            var trimmed = content.Trim();
            if (trimmed.StartsWith('-') && !trimmed.StartsWith("--hash", StringComparison.Ordinal))
            {
                ReadOption(file, line, start, trimmed, root, result, seen, chain, depth, loose);
                continue;
            }

            if (ReadRequirement(file, line, start, content, loose) is { } requirement)
            {
                if (seen.TryGetValue(requirement.NormalizedName, out var first))
                {
                    file.Error(line.Line(start), line.Column(start), $"'{requirement.Name}' is listed twice (first at {first.Location})",
                        "keep one line per package: pip refuses two pins of one name in hash-checking mode");
                    continue;
                }

                seen[requirement.NormalizedName] = requirement;
                result.Add(requirement);
            }
        }
    }

    private static void ReadOption(SourceFile file, LogicalLine line, int start, string trimmed, string root, List<PythonRequirement> result, Dictionary<string, PythonRequirement> seen, List<string> chain, int depth, bool loose)
    {
        var match = OptionPattern().Match(trimmed);
        var option = match.Groups["option"].Value;
        var argument = match.Groups["argument"].Value.Trim();
        switch (option)
        {
            case "-r" or "--requirement":
                if (argument.Length == 0)
                {
                    file.Error(line.Line(start), line.Column(start), $"'{option}' names no file", "write e.g. '-r base.txt' (relative to this file)");
                    return;
                }

                var included = Path.GetFullPath(argument, file.Directory);
                var argumentAt = start + trimmed.IndexOf(argument, option.Length, StringComparison.Ordinal);
                if (argument.Contains("://", StringComparison.Ordinal) || !IsInside(included, root))
                {
                    file.Error(line.Line(argumentAt), line.Column(argumentAt), $"'-r {argument}' is a URL or leaves the pipeline's folder ({root})",
                        "copy the included file next to the pipeline and name it relative to this file");
                    return;
                }

                if (chain.Contains(included, StringComparer.Ordinal) || depth >= MaxIncludeDepth)
                {
                    file.Error(line.Line(argumentAt), line.Column(argumentAt), $"'-r {argument}' includes a file that is already being read ({string.Join(" -> ", chain.Select(Path.GetFileName))} -> {Path.GetFileName(included)})",
                        "remove the include that closes the cycle");
                    return;
                }

                if (!File.Exists(included))
                {
                    file.Error(line.Line(argumentAt), line.Column(argumentAt), $"'-r {argument}' does not exist (looked for {included})", "create the file, or fix the path (it is relative to this file)");
                    return;
                }

                ReadFile(SourceFile.For(included, file.Diagnostics), root, result, seen, chain, depth + 1, loose);
                return;
            case "-e" or "--editable":
                file.Error(line.Line(start), line.Column(start), $"'{trimmed}' is an editable install, which links to a source tree instead of installing a pinned, hashed package",
                    "build the project from the pipeline's 'python.project' folder instead, or pin the package as 'name==version --hash=sha256:…'");
                return;
            case "-i" or "--index-url" or "--extra-index-url" or "-f" or "--find-links" or "--no-index":
                file.Error(line.Line(start), line.Column(start), $"'{option}' in a requirements file would change where packages come from behind the pipeline's back",
                    "remove it and set 'python.index' or 'python.find-links' in the pipeline");
                return;
            default:
                file.Error(line.Line(start), line.Column(start), $"option '{option}' is not supported in a requirements file here",
                    "keep only 'name==version --hash=sha256:…' lines, comments and '-r FILE' includes");
                return;
        }
    }

    // Loose (requirements.in): the returned requirement's Version holds the whole requirement as pip reads it.
    private static PythonRequirement? ReadRequirement(SourceFile file, LogicalLine line, int start, string content, bool loose)
    {
        // Options (--hash) start at the first " --" or " -" outside the marker; everything before is the requirement proper.
        var optionsAt = OptionsStart().Match(content, start) is { Success: true } o ? o.Index : content.Length;
        var specifier = content[start..optionsAt].TrimEnd();
        var options = content[optionsAt..];

        if (UrlPattern().Match(specifier) is { Success: true } url)
        {
            var at = start + url.Index;
            file.Error(line.Line(at), line.Column(at), $"'{specifier}' installs from a URL or a path, which is neither pinned by version nor checked against an index",
                "publish the package to the wheelhouse ('python.find-links') or the index and pin it as 'name==version --hash=sha256:…'");
            return null;
        }

        var semicolon = specifier.IndexOf(';', StringComparison.Ordinal);
        var requirementText = (semicolon < 0 ? specifier : specifier[..semicolon]).TrimEnd();
        var marker = semicolon < 0 ? null : specifier[(semicolon + 1)..].Trim();
        if (marker is { Length: 0 })
        {
            var at = start + semicolon;
            file.Error(line.Line(at), line.Column(at), "';' is followed by no environment marker", "write e.g. '; python_version >= \"3.9\"', or remove the ';'");
            return null;
        }

        var match = RequirementPattern().Match(requirementText);
        if (!match.Success)
        {
            file.Error(line.Line(start), line.Column(start), $"'{requirementText}' is not a requirement pip can read",
                "write 'name==version --hash=sha256:…' (pip hash -a sha256 FILE prints the hash)");
            return null;
        }

        var name = match.Groups["name"].Value;
        if (loose)
        {
            return new PythonRequirement(name, requirementText + (marker is null ? string.Empty : $" ; {marker}"), [], marker, $"{file.DisplayPath}:{line.Line(start)}:{line.Column(start)}");
        }

        var operatorGroup = match.Groups["operator"];
        var version = match.Groups["version"].Value.Trim();
        if (!operatorGroup.Success || operatorGroup.Value != "==" || !ExactVersion().IsMatch(version) || match.Groups["more"].Value.Trim().Length > 0)
        {
            var at = start + (operatorGroup.Success ? operatorGroup.Index : name.Length);
            file.Error(line.Line(at), line.Column(at), $"'{requirementText}' is not pinned to one exact version, so a rebuild could install something else",
                $"pin it: '{name}==VERSION --hash=sha256:…' ('pip index versions {name}' or the wheelhouse lists versions; 'orchestrator lock' resolves requirements.in)");
            return null;
        }

        var hashes = new List<string>();
        foreach (Match option in OptionToken().Matches(options))
        {
            var at = optionsAt + option.Index;
            var flag = option.Groups["flag"].Value;
            var value = option.Groups["value"].Value;
            if (flag != "--hash")
            {
                file.Error(line.Line(at), line.Column(at), $"option '{flag}' is not allowed on a requirement line here", "keep only '--hash=sha256:…' after the version");
                return null;
            }

            var hash = HashPattern().Match(value);
            if (!hash.Success)
            {
                file.Error(line.Line(at), line.Column(at), $"'{option.Value.Trim()}' is not a SHA-256 hash",
                    "write '--hash=sha256:' and the 64 lower-case hex digits of the file ('pip hash -a sha256 FILE' or 'sha256sum FILE')");
                return null;
            }

            hashes.Add(hash.Groups["hex"].Value.ToLowerInvariant());
        }

        if (hashes.Count == 0)
        {
            var at = start + requirementText.Length;
            file.Error(line.Line(at - 1), line.Column(at - 1), $"'{name}=={version}' has no --hash=sha256:…, so pip cannot check the bytes it installs",
                $"append the hash of every file it may install: '{name}=={version} --hash=sha256:…' ('pip hash -a sha256 FILE'; 'orchestrator lock' writes them)");
            return null;
        }

        return new PythonRequirement(name, version, hashes, marker, $"{file.DisplayPath}:{line.Line(start)}:{line.Column(start)}");
    }

    private static bool IsInside(string path, string folder) =>
        path.StartsWith(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>The text before a comment: <c>#</c> at the start or after whitespace, as pip reads it.</summary>
    private static string StripComment(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '#' && (i == 0 || char.IsWhiteSpace(text[i - 1])))
            {
                return text[..i];
            }
        }

        return text;
    }

    /// <summary>Physical lines joined where one ends in <c>\</c>; each character remembers its physical line and column.</summary>
    private static IEnumerable<LogicalLine> LogicalLines(string text)
    {
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        var builder = new StringBuilder();
        var positions = new List<(int Line, int Column)>();
        for (var i = 0; i < lines.Length; i++)
        {
            var physical = lines[i];
            // A backslash inside a comment does not continue the line.
            var continued = physical.EndsWith('\\') && StripComment(physical).Length == physical.Length;
            var part = continued ? physical[..^1] : physical;
            for (var c = 0; c < part.Length; c++)
            {
                builder.Append(part[c]);
                positions.Add((i + 1, c + 1));
            }

            // The end of a line stands for the column after its last character.
            positions.Add((i + 1, part.Length + 1));
            if (continued && i < lines.Length - 1)
            {
                builder.Append(' ');
                continue;
            }

            yield return new LogicalLine(builder.ToString(), [.. positions]);
            builder.Clear();
            positions.Clear();
        }
    }

    private sealed record LogicalLine(string Text, (int Line, int Column)[] Positions)
    {
        public int Line(int index) => Positions[Math.Clamp(index, 0, Positions.Length - 1)].Line;

        public int Column(int index) => Positions[Math.Clamp(index, 0, Positions.Length - 1)].Column;
    }

    [GeneratedRegex(@"^(?<option>--?[A-Za-z][A-Za-z-]*)(?:[=\s]+(?<argument>.*))?$", RegexOptions.CultureInvariant)]
    private static partial Regex OptionPattern();

    [GeneratedRegex(@"\s--?[A-Za-z]", RegexOptions.CultureInvariant)]
    private static partial Regex OptionsStart();

    [GeneratedRegex(@"(?<flag>--?[A-Za-z][A-Za-z-]*)(?:[=\s]+(?<value>[^\s]+))?", RegexOptions.CultureInvariant)]
    private static partial Regex OptionToken();

    // PEP 508 names, optional extras, then the first version clause and anything after it (a second clause is a range).
    [GeneratedRegex(@"^(?<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[A-Za-z0-9._,\s-]*\])?\s*(?:(?<operator>===|==|~=|!=|<=|>=|<|>)\s*(?<version>[^,\s]*)(?<more>.*))?$", RegexOptions.CultureInvariant)]
    private static partial Regex RequirementPattern();

    // PEP 440 public version, no wildcard, optional local part.
    [GeneratedRegex(@"^[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?(?:\+[A-Za-z0-9.]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex ExactVersion();

    [GeneratedRegex(@"^sha256:(?<hex>[0-9a-fA-F]{64})$", RegexOptions.CultureInvariant)]
    private static partial Regex HashPattern();

    [GeneratedRegex(@"(?:://|\s@\s|^@|^[./~]|^git\+|^file:|\.whl$|\.tar\.gz$|\.zip$)", RegexOptions.CultureInvariant)]
    private static partial Regex UrlPattern();
}
