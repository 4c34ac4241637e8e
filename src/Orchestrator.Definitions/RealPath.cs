namespace Orchestrator.Definitions;

/// <summary>realpath(3): an absolute path with every symlink along it resolved.</summary>
internal static class RealPath
{
    // As Linux's MAXSYMLINKS: a loop of links ends in the last path tried instead of spinning.
    private const int MaxLinks = 40;

    public static string Resolve(string path)
    {
        var root = Path.GetPathRoot(Path.GetFullPath(path))!;
        var pending = new Stack<string>(Components(Path.GetFullPath(path)).Reverse());
        var current = root;
        var links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? root;
                continue;
            }

            var next = Path.Combine(current, part);
            var target = links < MaxLinks ? new FileInfo(next).LinkTarget : null;
            if (target is null)
            {
                current = next;
                continue;
            }

            links++;
            if (Path.IsPathRooted(target))
            {
                current = Path.GetPathRoot(target)!;
            }

            foreach (var component in Components(target).Reverse())
            {
                pending.Push(component);
            }
        }

        return current;
    }

    private static IEnumerable<string> Components(string path) =>
        path.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
}
