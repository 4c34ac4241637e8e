using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchestrator.Core.Locks;

/// <summary>One <c>Inst</c> line of <c>apt-get install -s</c>: <c>Inst name [old] (version release [arch])</c>.</summary>
internal sealed record SimulatedInstall(string Name, string Version, string Architecture, string Release);

/// <summary>One package's <c>apt-cache policy</c>: its candidate and whether that comes from a <c>*-security</c> suite.</summary>
internal sealed record PolicyEntry(string Name, string? Installed, string? Candidate, bool CandidateFromSecurity);

/// <summary>Parsers for the apt and dpkg outputs the lock workflows read; each takes the text as the tool printed it.</summary>
internal static partial class AptOutput
{
    /// <summary>The <c>Inst</c> lines of <c>apt-get install -s</c>, in order (the <c>Conf</c> lines repeat them).</summary>
    public static IReadOnlyList<SimulatedInstall> ParseSimulation(string text)
    {
        var result = new List<SimulatedInstall>();
        foreach (var line in Lines(text))
        {
            var match = InstLine().Match(line);
            if (!match.Success)
            {
                continue;
            }

            // Multi-arch names come as name:arch; dpkg's package name is the part before the colon.
            var name = match.Groups["name"].Value.Split(':')[0];
            result.Add(new SimulatedInstall(name, match.Groups["version"].Value, match.Groups["arch"].Value, match.Groups["release"].Value));
        }

        return result;
    }

    /// <summary>
    /// <c>SHA256:</c> per (package, version, architecture) from <c>apt-cache show</c> stanzas; the first
    /// stanza wins when a version is in several suites (the hash is the same file's).
    /// </summary>
    public static IReadOnlyDictionary<(string Name, string Version, string Architecture), string> ParseShow(string text)
    {
        var result = new Dictionary<(string, string, string), string>();
        foreach (var stanza in Stanzas(text))
        {
            if (stanza.TryGetValue("Package", out var name) && stanza.TryGetValue("Version", out var version)
                && stanza.TryGetValue("Architecture", out var arch) && stanza.TryGetValue("SHA256", out var sha))
            {
                result.TryAdd((name, version, arch), sha.ToLowerInvariant());
            }
        }

        return result;
    }

    /// <summary>Lines of <c>dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n'</c> whose status is installed (<c>ii</c>).</summary>
    public static IReadOnlyList<InstalledPackage> ParseDpkgQuery(string text)
    {
        var result = new List<InstalledPackage>();
        foreach (var line in Lines(text))
        {
            var fields = line.Split('\t');
            if (fields.Length == 4 && fields[0].Trim() == "ii")
            {
                result.Add(new InstalledPackage(fields[1], fields[2], fields[3]));
            }
        }

        return result.OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Architecture, StringComparer.Ordinal).ToList();
    }

    /// <summary>The newest <c>Date:</c> among Release files' lines (RFC 2822, UTC), as seconds since the epoch, or null.</summary>
    public static long? ParseNewestReleaseDate(string text)
    {
        long? newest = null;
        foreach (var line in Lines(text))
        {
            if (!line.StartsWith("Date:", StringComparison.Ordinal))
            {
                continue;
            }

            var value = line["Date:".Length..].Trim();
            if (DateTimeOffset.TryParseExact(value.Replace(" UTC", " +0000", StringComparison.Ordinal), "ddd, dd MMM yyyy HH:mm:ss zzz",
                    CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
            {
                var seconds = date.ToUnixTimeSeconds();
                newest = newest is null || seconds > newest ? seconds : newest;
            }
        }

        return newest;
    }

    /// <summary>Every package block of <c>apt-cache policy NAME…</c>.</summary>
    public static IReadOnlyList<PolicyEntry> ParsePolicy(string text)
    {
        var result = new List<PolicyEntry>();
        string? name = null, installed = null, candidate = null, currentVersion = null;
        var security = false;
        void Flush()
        {
            if (name is not null)
            {
                result.Add(new PolicyEntry(name, installed, candidate, security));
            }
        }

        foreach (var line in Lines(text))
        {
            if (line.Length > 0 && !char.IsWhiteSpace(line[0]) && line.EndsWith(':'))
            {
                Flush();
                name = line[..^1].Split(':')[0];
                installed = candidate = currentVersion = null;
                security = false;
                continue;
            }

            var trimmed = line.Trim();
            if (trimmed.StartsWith("Installed:", StringComparison.Ordinal))
            {
                installed = NoneToNull(trimmed["Installed:".Length..].Trim());
            }
            else if (trimmed.StartsWith("Candidate:", StringComparison.Ordinal))
            {
                candidate = NoneToNull(trimmed["Candidate:".Length..].Trim());
            }
            else if (PolicyVersionLine().Match(line) is { Success: true } version)
            {
                currentVersion = version.Groups["version"].Value;
            }
            else if (PolicySourceLine().Match(line) is { Success: true } source && currentVersion is not null && currentVersion == candidate
                && source.Groups["suite"].Value.Split('/')[0].EndsWith("-security", StringComparison.Ordinal))
            {
                security = true;
            }
        }

        Flush();
        return result;
    }

    /// <summary>The (package, version) of apt's "Version 'V' for 'P' was not found" errors.</summary>
    public static IReadOnlyList<(string Package, string Version)> ParseMissingVersions(string text) =>
        MissingVersion().Matches(text).Select(m => (m.Groups["package"].Value, m.Groups["version"].Value)).Distinct().ToList();

    /// <summary>The packages of apt's "Unable to locate package P" errors.</summary>
    public static IReadOnlyList<string> ParseUnknownPackages(string text) =>
        UnknownPackage().Matches(text).Select(m => m.Groups["package"].Value).Distinct().ToList();

    private static IEnumerable<Dictionary<string, string>> Stanzas(string text)
    {
        var current = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in Lines(text))
        {
            if (line.Length == 0)
            {
                if (current.Count > 0)
                {
                    yield return current;
                    current = new Dictionary<string, string>(StringComparer.Ordinal);
                }

                continue;
            }

            // Continuation lines (descriptions) start with a space; only single-line fields matter here.
            if (char.IsWhiteSpace(line[0]))
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                current.TryAdd(line[..colon], line[(colon + 1)..].Trim());
            }
        }

        if (current.Count > 0)
        {
            yield return current;
        }
    }

    private static string? NoneToNull(string value) => value == "(none)" || value.Length == 0 ? null : value;

    private static IEnumerable<string> Lines(string text) => text.ReplaceLineEndings("\n").Split('\n').Select(l => l.TrimEnd('\r'));

    [GeneratedRegex(@"^Inst (?<name>\S+) (?:\[[^\]]*\] )?\((?<version>\S+) (?<release>.*?) \[(?<arch>[^\]]+)\]\)", RegexOptions.CultureInvariant)]
    private static partial Regex InstLine();

    [GeneratedRegex(@"^\s{1,8}(?:\*\*\* )?(?<version>\S+) -?\d+\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex PolicyVersionLine();

    [GeneratedRegex(@"^\s+-?\d+ \S+ (?<suite>\S+) \S+ Packages\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex PolicySourceLine();

    [GeneratedRegex(@"Version '(?<version>[^']*)' for '(?<package>[^']+)' was not found", RegexOptions.CultureInvariant)]
    private static partial Regex MissingVersion();

    [GeneratedRegex(@"Unable to locate package (?<package>\S+)", RegexOptions.CultureInvariant)]
    private static partial Regex UnknownPackage();
}
