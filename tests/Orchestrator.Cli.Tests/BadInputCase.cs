using System.Security.Cryptography;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// One case of the bad-input corpus (tests/Orchestrator.Cli.Tests/BadInput/CASE/): <c>expect.yaml</c> and,
/// under <c>files/</c>, what the case lays over the base workspace (BadInput/_base/). expect.yaml keys:
/// <list type="bullet">
/// <item><c>args</c>: the CLI arguments; <c>--config WORKSPACE/orchestrator.yaml</c> is added unless they hold <c>--config</c> (<c>{root}</c> is the workspace).</item>
/// <item><c>exit</c>: the expected exit code; <c>says</c>: fragments stdout + stderr must contain, case-sensitively.</item>
/// <item><c>secrets</c>: values that must appear in neither stream.</item>
/// <item><c>remove</c>: base files the case deletes; <c>generate</c>: files made at test time (<c>path</c>, <c>prefix</c>,
/// <c>repeat</c> × <c>times</c>, <c>suffix</c>, <c>append</c>), so huge inputs are not committed.</item>
/// <item><c>process</c>: true to also run it through the built CLI as a separate process.</item>
/// </list>
/// </summary>
internal sealed record BadInputCase(
    string Name,
    IReadOnlyList<string> Args,
    int Exit,
    IReadOnlyList<string> Says,
    IReadOnlyList<string> Secrets,
    IReadOnlyList<string> Remove,
    IReadOnlyList<GeneratedFile> Generate,
    bool Process)
{
    /// <summary>The corpus folder next to the test assembly.</summary>
    public static string CorpusFolder => Path.Combine(AppContext.BaseDirectory, "BadInput");

    /// <summary>Every case's name, sorted.</summary>
    public static IReadOnlyList<string> Names() =>
        Directory.EnumerateDirectories(CorpusFolder)
            .Select(Path.GetFileName)
            .Where(n => n is not null && !n.StartsWith('_'))
            .Select(n => n!)
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Reads BadInput/<paramref name="name"/>/expect.yaml.</summary>
    public static BadInputCase Load(string name)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(CorpusFolder, name, "expect.yaml")))
        {
            stream.Load(reader);
        }

        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        string? Scalar(string key) => root.Children.TryGetValue(key, out var node) ? ((YamlScalarNode)node).Value : null;
        IReadOnlyList<string> List(string key) => root.Children.TryGetValue(key, out var node)
            ? node is YamlSequenceNode sequence ? sequence.Children.Select(c => ((YamlScalarNode)c).Value!).ToList() : [((YamlScalarNode)node).Value!]
            : [];
        var generate = root.Children.TryGetValue("generate", out var generated)
            ? ((YamlSequenceNode)generated).Children.Cast<YamlMappingNode>().Select(GeneratedFile.From).ToList()
            : [];
        return new BadInputCase(
            name,
            List("args"),
            int.Parse(Scalar("exit") ?? throw new InvalidOperationException($"{name}/expect.yaml has no 'exit'"), System.Globalization.CultureInfo.InvariantCulture),
            List("says"),
            List("secrets"),
            List("remove"),
            generate,
            Scalar("process") == "true");
    }

    /// <summary>Lays the base workspace and the case's files into a fresh folder and returns it.</summary>
    public string CreateWorkspace()
    {
        var root = Directory.CreateTempSubdirectory("orchestrator-bad-input-").FullName;
        Copy(Path.Combine(CorpusFolder, "_base"), root);
        foreach (var path in Remove)
        {
            File.Delete(Path.Combine(root, path));
        }

        var files = Path.Combine(CorpusFolder, Name, "files");
        if (Directory.Exists(files))
        {
            Copy(files, root);
        }

        foreach (var file in Generate)
        {
            file.WriteUnder(root);
        }

        return root;
    }

    /// <summary>The arguments with <c>{root}</c> replaced and <c>--config</c> added unless given.</summary>
    public string[] ArgumentsFor(string root)
    {
        var args = Args.Select(a => a.Replace("{root}", root, StringComparison.Ordinal)).ToList();
        if (!args.Contains("--config"))
        {
            args.AddRange(["--config", Path.Combine(root, "orchestrator.yaml")]);
        }

        return [.. args];
    }

    /// <summary>Every file under <paramref name="root"/> with the SHA-256 of its bytes: what "nothing written" compares.</summary>
    public static IReadOnlyDictionary<string, string> Snapshot(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .ToDictionary(
                p => Path.GetRelativePath(root, p),
                p => File.Exists(p) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p))) : "folder");

    /// <summary>Everything that does not hold in one run's result; empty when the case passed.</summary>
    public IReadOnlyList<string> Problems(int exitCode, string output, IReadOnlyDictionary<string, string> before, IReadOnlyDictionary<string, string> after)
    {
        var problems = new List<string>();
        if (exitCode != Exit)
        {
            problems.Add($"exit code {exitCode}, expected {Exit}");
        }

        problems.AddRange(Says.Where(s => !output.Contains(s, StringComparison.Ordinal)).Select(s => $"output lacks '{s}'"));
        problems.AddRange(Secrets.Where(s => output.Contains(s, StringComparison.Ordinal)).Select(s => $"output shows the secret '{s}'"));
        if (output.Contains("Exception", StringComparison.Ordinal) || output.Contains("   at ", StringComparison.Ordinal))
        {
            problems.Add("output has exception or stack trace text");
        }

        var changed = before.Keys.Union(after.Keys)
            .Where(k => !before.TryGetValue(k, out var b) || !after.TryGetValue(k, out var a) || a != b)
            .ToList();
        if (changed.Count > 0)
        {
            problems.Add($"files were written, removed or changed: {string.Join(", ", changed.Take(5))}");
        }

        return problems;
    }

    private static void Copy(string from, string to)
    {
        foreach (var source in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, source));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(source, target, overwrite: true);
        }
    }
}

/// <summary>A file a case generates at test time: <c>prefix</c> + <c>repeat</c> × <c>times</c> + <c>suffix</c>, replacing or appended to the file.</summary>
internal sealed record GeneratedFile(string Path, string Prefix, string Repeat, int Times, string Suffix, bool Append)
{
    public static GeneratedFile From(YamlMappingNode node)
    {
        string Get(string key, string fallback = "") => node.Children.TryGetValue(key, out var value) ? ((YamlScalarNode)value).Value ?? fallback : fallback;
        return new GeneratedFile(
            Get("path"), Get("prefix"), Get("repeat"), int.Parse(Get("times", "0"), System.Globalization.CultureInfo.InvariantCulture), Get("suffix"), Get("append") == "true");
    }

    public void WriteUnder(string root)
    {
        var path = System.IO.Path.Combine(root, Path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var text = new StringBuilder(Prefix, Prefix.Length + (Repeat.Length * Times) + Suffix.Length).Insert(Prefix.Length, Repeat, Times).Append(Suffix).ToString();
        if (Append)
        {
            File.AppendAllText(path, text);
        }
        else
        {
            File.WriteAllText(path, text);
        }
    }
}
