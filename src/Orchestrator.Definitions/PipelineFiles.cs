using System.Text.RegularExpressions;
using Orchestrator.Core.Definitions;
using Orchestrator.Definitions.Yaml;

namespace Orchestrator.Definitions;

/// <summary>A pipeline's <c>files:</c> and the path rules (sources inside the pipeline's folder, absolute paths in the image).</summary>
internal static partial class PipelineFiles
{
    private static readonly string[] FileKeys = ["src", "dest", "mode"];

    public static List<FileCopy> Read(SourceFile file, MappingReader reader)
    {
        var result = new List<FileCopy>();
        var items = reader.List("files", "mappings with src and dest", example: "[{ src: app/main.py, dest: /app/main.py }]");
        for (var i = 0; i < (items?.Count ?? 0); i++)
        {
            var item = MappingReader.Of(file, items![i], $"files[{i}]", FileKeys);
            if (item is null)
            {
                continue;
            }

            var source = Source(file, item.String("src", required: true, example: "app/main.py"));
            var dest = AbsolutePath(file, item.String("dest", required: true, example: "/app/main.py"), "dest");
            var mode = Mode(file, item.String("mode", example: "\"0755\""));
            if (source is not null && dest is not null)
            {
                result.Add(new FileCopy(source, dest, mode));
            }
        }

        return result;
    }

    /// <summary>
    /// The source's absolute path, when it names an existing file inside the pipeline's folder, following
    /// symlinks: a link out of the folder would let a definition copy any file on the build machine.
    /// </summary>
    internal static string? Source(SourceFile file, Located<string>? text)
    {
        if (text is not { } src)
        {
            return null;
        }

        var folder = file.Directory;
        if (Path.IsPathRooted(src.Value))
        {
            file.Error(src.Node, $"src '{src.Value}' is an absolute path; sources are relative to the pipeline's folder ({folder})",
                "copy the file next to the pipeline definition and name it relative to it, e.g. 'src: app/main.py'");
            return null;
        }

        var full = Path.GetFullPath(src.Value, folder);
        if (!IsInside(full, folder))
        {
            file.Error(src.Node, $"src '{src.Value}' leaves the pipeline's folder ({folder})",
                "copy the file into the pipeline's folder and name it without '..'");
            return null;
        }

        if (System.IO.Directory.Exists(full))
        {
            file.Error(src.Node, $"src '{src.Value}' is a folder; each entry copies one file", "list the files one by one");
            return null;
        }

        if (!System.IO.File.Exists(full))
        {
            file.Error(src.Node, $"src '{src.Value}' does not exist (looked for {full})", "create the file, or fix the path (it is relative to the pipeline's folder)");
            return null;
        }

        if (!IsInside(RealPath.Resolve(full), RealPath.Resolve(folder)))
        {
            file.Error(src.Node, $"src '{src.Value}' is a symlink (or under one) that resolves to {RealPath.Resolve(full)}, outside the pipeline's folder",
                "copy the file itself into the pipeline's folder instead of linking to it");
            return null;
        }

        return full;
    }

    internal static bool IsInside(string path, string folder) =>
        path.StartsWith(Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    internal static string? AbsolutePath(SourceFile file, Located<string>? text, string key)
    {
        if (text is not { } path)
        {
            return null;
        }

        if (!path.Value.StartsWith('/'))
        {
            file.Error(path.Node, $"{key} '{path.Value}' is not an absolute path in the image", $"start it with '/', e.g. '{key}: /{path.Value.TrimStart('.', '/')}'");
            return null;
        }

        if (path.Value.Split('/').Contains(".."))
        {
            file.Error(path.Node, $"{key} '{path.Value}' contains '..'", $"write the path without '..', e.g. '{key}: {Path.GetFullPath(path.Value).Replace('\\', '/')}'");
            return null;
        }

        return path.Value;
    }

    private static int? Mode(SourceFile file, Located<string>? text)
    {
        if (text is not { } mode)
        {
            return null;
        }

        if (!OctalMode().IsMatch(mode.Value))
        {
            file.Error(mode.Node, $"mode '{mode.Value}' is not an octal permission like \"0644\" or \"0755\"", "write it quoted, e.g. 'mode: \"0755\"'");
            return null;
        }

        return Convert.ToInt32(mode.Value, 8);
    }

    [GeneratedRegex("^0?[0-7]{3,4}$", RegexOptions.CultureInvariant)]
    private static partial Regex OctalMode();
}
