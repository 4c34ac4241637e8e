using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchestrator.Core.Packages;

/// <summary>Reads what <c>apt-get download --print-uris</c> prints: one <c>'URL' FILE SIZE SHA256:HEX</c> line per package.</summary>
public static partial class AptUris
{
    /// <summary>One package's download as apt names it.</summary>
    /// <param name="Uri">Where the mirror serves it.</param>
    /// <param name="FileName">apt's file name, <c>NAME_VERSION_ARCH.deb</c> (with <c>%3a</c> for an epoch's colon).</param>
    /// <param name="Size">Bytes, as the index says.</param>
    /// <param name="Sha256">The index's SHA-256, or null when apt printed another hash.</param>
    public sealed record Entry(Uri Uri, string FileName, long Size, string? Sha256)
    {
        /// <summary>The package name: the file name up to its first <c>_</c>.</summary>
        public string Name => FileName.Split('_')[0];

        /// <summary>The architecture: the file name's last <c>_</c> part without <c>.deb</c>.</summary>
        public string Architecture => FileName.Split('_')[^1].Replace(".deb", string.Empty, StringComparison.Ordinal);
    }

    /// <summary>Every well-formed line of <paramref name="output"/>; other lines (warnings) are skipped.</summary>
    public static IReadOnlyList<Entry> Parse(string output)
    {
        var entries = new List<Entry>();
        foreach (var line in output.ReplaceLineEndings("\n").Split('\n'))
        {
            var match = Line().Match(line.Trim());
            if (!match.Success || !Uri.TryCreate(match.Groups["url"].Value, UriKind.Absolute, out var uri))
            {
                continue;
            }

            var hash = match.Groups["hash"].Value;
            entries.Add(new Entry(
                uri,
                match.Groups["file"].Value,
                long.Parse(match.Groups["size"].Value, CultureInfo.InvariantCulture),
                hash.StartsWith("SHA256:", StringComparison.Ordinal) ? hash[7..].ToLowerInvariant() : null));
        }

        return entries;
    }

    [GeneratedRegex(@"^'(?<url>[^']+)' (?<file>\S+\.deb) (?<size>\d+) (?<hash>\S+)$", RegexOptions.CultureInvariant)]
    private static partial Regex Line();
}
