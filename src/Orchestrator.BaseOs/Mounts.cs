using System.Globalization;
using System.Text;

namespace Orchestrator.BaseOs;

/// <summary>
/// debootstrap mounts /proc and /sys (and in some containers binds the host's /dev) inside the
/// target and unmounts them when it exits normally; a killed run leaves them. Deleting the tree
/// through such a mount would delete host files, so mounts are found and released first.
/// </summary>
internal static class Mounts
{
    /// <summary>The mount points at or below <paramref name="folder"/>, deepest first (from /proc/self/mountinfo).</summary>
    internal static IReadOnlyList<string> Below(string folder)
    {
        const string mountInfo = "/proc/self/mountinfo";
        if (!File.Exists(mountInfo))
        {
            return [];
        }

        return ParseMountPoints(File.ReadAllText(mountInfo))
            .Where(point => IsAtOrBelow(point, folder))
            .OrderByDescending(point => point.Length)
            .ToList();
    }

    /// <summary>The mount point field (5th) of each mountinfo line, with its octal escapes (<c>\040</c>) decoded.</summary>
    internal static IEnumerable<string> ParseMountPoints(string mountInfoText)
    {
        foreach (var line in mountInfoText.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            if (fields.Length > 4)
            {
                yield return Unescape(fields[4]);
            }
        }
    }

    /// <summary>Lazily unmounts everything at or below <paramref name="folder"/>; returns what is still mounted after that.</summary>
    internal static async Task<IReadOnlyList<string>> ReleaseAsync(string folder, string logFile, CancellationToken cancellationToken)
    {
        foreach (var point in Below(folder))
        {
            await ProcessRunner.RunAsync("umount", ["--lazy", point], logFile, null, null, cancellationToken).ConfigureAwait(false);
        }

        return Below(folder);
    }

    internal static bool IsAtOrBelow(string path, string folder)
    {
        var trimmed = folder.TrimEnd('/');
        return path == trimmed || path.StartsWith(trimmed + "/", StringComparison.Ordinal);
    }

    private static string Unescape(string field)
    {
        if (!field.Contains('\\'))
        {
            return field;
        }

        var text = new StringBuilder();
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && int.TryParse(field.AsSpan(i + 1, 3), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                text.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }

        return text.ToString();
    }
}
