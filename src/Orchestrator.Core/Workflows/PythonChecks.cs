using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Core.Definitions;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// The built-in validation of a Python pipeline's runtime image, as command tests run like the pipeline's own
/// (no network, read-only root, the image's user): the runtime requirements and the project are installed at
/// their pinned versions (<c>importlib.metadata</c>), no C compiler is on the image, no pip cache is left, and
/// no dev requirement is installed.
/// </summary>
public static partial class PythonChecks
{
    /// <summary>Every check's name starts with this, so results read apart from the pipeline's own tests.</summary>
    public const string NamePrefix = "python: ";

    /// <summary>How long each check may run.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The checks for <paramref name="pipeline"/>; none when it has no <c>python:</c> block.</summary>
    /// <exception cref="IOException">The project's pyproject.toml cannot be read.</exception>
    public static IReadOnlyList<CommandTest> For(PipelineDefinition pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        if (pipeline.Python is not { } python)
        {
            return [];
        }

        // (name, version, required): a requirement behind an environment marker may rightly be absent.
        var wanted = python.Requirements.Select(r => (r.Name, r.Version, Required: r.Marker is null)).ToList();
        if (python.Project is { } project && ProjectNameAndVersion(Path.Combine(project, "pyproject.toml")) is { } own)
        {
            wanted.Insert(0, (own.Name, own.Version, true));
        }

        var tests = new List<CommandTest>
        {
            Python("packages at their pinned versions", $$"""
                import importlib.metadata as m, sys
                bad = []
                for name, want, required in {{PythonList(wanted.Select(w => $"({PythonString(w.Name)}, {PythonString(w.Version)}, {(w.Required ? "True" : "False")})"))}}:
                    try:
                        got = m.version(name)
                    except m.PackageNotFoundError:
                        if required:
                            bad.append(f"{name} is not installed (pinned {want})")
                        continue
                    if got != want:
                        bad.append(f"{name} is {got}, pinned {want}")
                    else:
                        print(f"{name}=={got}")
                if bad:
                    print("\n".join(bad), file=sys.stderr)
                    sys.exit(1)
                """),
            // Python, not sh: a distroless image has no shell, and the interpreter is on every Python image.
            Python("no C compiler", """
                import os, re, sys
                pattern = re.compile(r"^(cc|c\+\+|c89|c99|gcc|g\+\+|clang|clang\+\+|tcc)(-[0-9.]+)?$|-(gcc|g\+\+|cc)(-[0-9.]+)?$")
                found = set()
                for folder in os.environ.get("PATH", "").split(":") + ["/usr/bin", "/usr/local/bin"]:
                    try:
                        found.update(name for name in os.listdir(folder) if pattern.search(name))
                    except OSError:
                        pass
                if found:
                    print("compilers on the image: " + " ".join(sorted(found)), file=sys.stderr)
                    sys.exit(1)
                print("none")
                """),
            Python("no pip cache", """
                import glob, os, sys
                left = [p for p in glob.glob("/root/.cache/pip") + glob.glob("/home/*/.cache/pip") + glob.glob("/tmp/pip-*")
                        + glob.glob(os.path.expanduser("~/.cache/pip")) if os.path.exists(p)]
                if left:
                    print("pip cache left in the image: " + ", ".join(sorted(set(left))), file=sys.stderr)
                    sys.exit(1)
                print("none")
                """),
        };

        if (python.DevRequirements.Count > 0)
        {
            tests.Add(Python("no dev requirement installed", $$"""
                import importlib.metadata as m, sys
                found = []
                for name in {{PythonList(python.DevRequirements.Select(d => PythonString(d.Name)))}}:
                    try:
                        found.append(f"{name} {m.version(name)}")
                    except m.PackageNotFoundError:
                        pass
                if found:
                    print("dev requirements in the runtime image: " + ", ".join(found), file=sys.stderr)
                    sys.exit(1)
                print("none")
                """));
        }

        return tests;
    }

    /// <summary>
    /// The <c>[project]</c> table's <c>name</c> and <c>version</c> from a pyproject.toml, or null when either is
    /// missing or dynamic (then the check cannot know the version before the build).
    /// </summary>
    internal static (string Name, string Version)? ProjectNameAndVersion(string pyprojectPath)
    {
        string? section = null, name = null, version = null;
        foreach (var raw in File.ReadAllLines(pyprojectPath))
        {
            var line = raw.Trim();
            if (line.StartsWith('['))
            {
                section = line.Trim('[', ']').Trim();
                continue;
            }

            if (section == "project" && KeyValue().Match(line) is { Success: true } match)
            {
                if (match.Groups["key"].Value == "name")
                {
                    name = match.Groups["value"].Value;
                }
                else if (match.Groups["key"].Value == "version")
                {
                    version = match.Groups["value"].Value;
                }
            }
        }

        return name is null || version is null ? null : (name, version);
    }

    private static CommandTest Python(string name, string script) =>
        new(NamePrefix + name, ["python3", "-c", script.ReplaceLineEndings("\n")], 0, null, null, Timeout);

    private static string PythonString(string value) => JsonText.Quote(value);

    private static string PythonList(IEnumerable<string> items) => new StringBuilder("[").AppendJoin(", ", items).Append(']').ToString();

    [GeneratedRegex("""^(?<key>name|version)\s*=\s*["'](?<value>[^"']+)["']""", RegexOptions.CultureInvariant)]
    private static partial Regex KeyValue();
}
