namespace Orchestrator.BaseOs;

/// <summary>
/// Finds the Debian mirror this machine's apt uses, so debootstrap fetches from the same (often
/// local or proxied) mirror the machine already reaches, and writes apt sources the way the
/// official Debian images do.
/// </summary>
public static class AptSources
{
    /// <summary>The Debian mirror used when the machine's apt sources name none.</summary>
    public const string DefaultMirror = "http://deb.debian.org/debian";

    /// <summary>The Debian security mirror used when the machine's apt sources name none.</summary>
    public const string DefaultSecurityMirror = "http://deb.debian.org/debian-security";

    /// <summary>The keyring the official images' sources name in <c>Signed-By</c>.</summary>
    public const string DebianArchiveKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

    // Suites that have no -updates or -security companion.
    private static readonly HashSet<string> RollingSuites = new(StringComparer.Ordinal) { "sid", "unstable", "experimental", "rc-buggy" };

    // Debian codenames and aliases, so a third-party repository's suite ("nodistro", "cloud-sdk-bookworm") is never taken for the mirror.
    private static readonly HashSet<string> DebianSuites = new(StringComparer.Ordinal)
    {
        "stable", "oldstable", "oldoldstable", "testing", "unstable", "sid", "experimental",
        "buzz", "rex", "bo", "hamm", "slink", "potato", "woody", "sarge", "etch", "lenny", "squeeze", "wheezy",
        "jessie", "stretch", "buster", "bullseye", "bookworm", "trixie", "forky", "duke",
    };

    /// <summary>
    /// Reads <c>/etc/apt/sources.list</c>, then <c>/etc/apt/sources.list.d/*.list</c> and
    /// <c>*.sources</c> (deb822) in name order, as apt does; other files there (<c>*.disabled-*</c>,
    /// <c>*.save</c>) are ignored. The mirror is the first enabled <c>deb</c> URI serving a Debian
    /// suite that is not a <c>-security</c> one (preferring one serving <paramref name="suite"/>); the
    /// security mirror is the first URI serving a <c>*-security</c> suite, else the mirror's sibling
    /// <c>debian-security</c> folder, else <see cref="DefaultSecurityMirror"/>. Unreadable files count as empty.
    /// </summary>
    /// <param name="suite">The suite about to be bootstrapped, e.g. <c>bookworm</c>, or null for any.</param>
    /// <returns>Mirror and security mirror URIs without a trailing '/'.</returns>
    public static (string Mirror, string SecurityMirror) DetectMirrors(string? suite = null) => DetectMirrors("/etc/apt", suite);

    /// <summary>snapshot.debian.org's copy of the Debian archive; a timestamp folder follows.</summary>
    public const string SnapshotArchive = "http://snapshot.debian.org/archive/debian";

    /// <summary>snapshot.debian.org's copy of the security archive; a timestamp folder follows.</summary>
    public const string SnapshotSecurityArchive = "http://snapshot.debian.org/archive/debian-security";

    /// <summary>The mirror and security mirror of snapshot <paramref name="timestamp"/> (<c>yyyyMMddTHHmmssZ</c>), without a trailing '/'.</summary>
    public static (string Mirror, string SecurityMirror) SnapshotMirrors(string timestamp) =>
        ($"{SnapshotArchive}/{timestamp}", $"{SnapshotSecurityArchive}/{timestamp}");

    /// <summary>The security mirror that goes with <paramref name="mirror"/> when none is configured: its sibling <c>…/debian-security</c>, or the default.</summary>
    public static string SecurityMirrorFor(string mirror)
    {
        var trimmed = mirror.TrimEnd('/');
        return trimmed.EndsWith("/debian", StringComparison.Ordinal) ? trimmed + "-security" : DefaultSecurityMirror;
    }

    /// <summary>
    /// The text of <c>/etc/apt/sources.list.d/debian.sources</c> as the official images have it:
    /// <c>SUITE SUITE-updates</c> on the mirror and <c>SUITE-security</c> on the security mirror
    /// (rolling suites such as sid have only the first stanza, with no -updates). With
    /// <paramref name="snapshot"/> every stanza also says <c>Check-Valid-Until: no</c>: a snapshot's
    /// Release files expire days after the timestamp, and apt would refuse them as stale afterwards.
    /// </summary>
    public static string RenderDebianSources(string suite, string mirror, string securityMirror, IReadOnlyList<string> components, bool snapshot = false)
    {
        var validity = snapshot ? "Check-Valid-Until: no\n" : string.Empty;
        var componentText = string.Join(' ', components.Count == 0 ? ["main"] : components);
        var rolling = RollingSuites.Contains(suite);
        var text = new System.Text.StringBuilder();
        text.Append("Types: deb\n")
            .Append("URIs: ").Append(mirror.TrimEnd('/')).Append('\n')
            .Append("Suites: ").Append(rolling ? suite : $"{suite} {suite}-updates").Append('\n')
            .Append("Components: ").Append(componentText).Append('\n')
            .Append("Signed-By: ").Append(DebianArchiveKeyring).Append('\n')
            .Append(validity);
        if (!rolling)
        {
            text.Append('\n')
                .Append("Types: deb\n")
                .Append("URIs: ").Append(securityMirror.TrimEnd('/')).Append('\n')
                .Append("Suites: ").Append(suite).Append("-security\n")
                .Append("Components: ").Append(componentText).Append('\n')
                .Append("Signed-By: ").Append(DebianArchiveKeyring).Append('\n')
            .Append(validity);
        }

        return text.ToString();
    }

    internal static (string Mirror, string SecurityMirror) DetectMirrors(string aptDirectory, string? suite)
    {
        var entries = new List<AptSourceEntry>();
        entries.AddRange(ParseOneLine(ReadOrEmpty(Path.Combine(aptDirectory, "sources.list"))));
        var partsDirectory = Path.Combine(aptDirectory, "sources.list.d");
        if (Directory.Exists(partsDirectory))
        {
            foreach (var file in Directory.EnumerateFiles(partsDirectory).Order(StringComparer.Ordinal))
            {
                if (file.EndsWith(".list", StringComparison.Ordinal))
                {
                    entries.AddRange(ParseOneLine(ReadOrEmpty(file)));
                }
                else if (file.EndsWith(".sources", StringComparison.Ordinal))
                {
                    entries.AddRange(ParseDeb822(ReadOrEmpty(file)));
                }
            }
        }

        return ChooseMirrors(entries, suite);
    }

    internal static (string Mirror, string SecurityMirror) ChooseMirrors(IEnumerable<AptSourceEntry> entries, string? suite)
    {
        var debEntries = entries.Where(e => e.Enabled && e.Types.Contains("deb")).ToList();

        string? mirror = null;
        if (suite is not null)
        {
            mirror = debEntries.Where(e => e.Suites.Contains(suite)).SelectMany(e => e.Uris).FirstOrDefault();
        }

        mirror ??= debEntries
            .Where(e => e.Suites.Any(s => DebianSuites.Contains(BareSuite(s)) && !IsSecuritySuite(s)))
            .SelectMany(e => e.Uris)
            .FirstOrDefault();

        var security = (suite is null ? null : debEntries.Where(e => e.Suites.Contains($"{suite}-security")).SelectMany(e => e.Uris).FirstOrDefault())
            ?? debEntries.Where(e => e.Suites.Any(IsSecuritySuite)).SelectMany(e => e.Uris).FirstOrDefault();

        mirror = mirror?.TrimEnd('/') ?? DefaultMirror;
        security = security?.TrimEnd('/') ?? SecurityMirrorFor(mirror);
        return (mirror, security);
    }

    /// <summary>Parses deb822 <c>.sources</c> text: blank-line separated stanzas of <c>Key: value</c> fields.</summary>
    internal static IReadOnlyList<AptSourceEntry> ParseDeb822(string text)
    {
        var entries = new List<AptSourceEntry>();
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? lastKey = null;

        void Flush()
        {
            if (fields.Count > 0)
            {
                var enabled = !fields.TryGetValue("Enabled", out var enabledText) || !enabledText.Trim().Equals("no", StringComparison.OrdinalIgnoreCase);
                entries.Add(new AptSourceEntry(
                    Split(fields.GetValueOrDefault("Types")),
                    Split(fields.GetValueOrDefault("URIs")),
                    Split(fields.GetValueOrDefault("Suites")),
                    Split(fields.GetValueOrDefault("Components")),
                    enabled));
            }

            fields.Clear();
            lastKey = null;
        }

        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            if (line.StartsWith('#'))
            {
                continue;
            }

            if (line.Trim().Length == 0)
            {
                Flush();
                continue;
            }

            if (char.IsWhiteSpace(line[0]))
            {
                // A continuation line extends the previous field (multi-line URIs or Signed-By keys).
                if (lastKey is not null)
                {
                    fields[lastKey] += " " + line.Trim();
                }

                continue;
            }

            var colon = line.IndexOf(':');
            if (colon <= 0)
            {
                continue;
            }

            lastKey = line[..colon].Trim();
            fields[lastKey] = line[(colon + 1)..].Trim();
        }

        Flush();
        return entries;
    }

    /// <summary>Parses one-line-style <c>sources.list</c> text: <c>deb [options] URI SUITE [COMPONENT…]</c>.</summary>
    internal static IReadOnlyList<AptSourceEntry> ParseOneLine(string text)
    {
        var entries = new List<AptSourceEntry>();
        foreach (var rawLine in text.Split('\n'))
        {
            var hash = rawLine.IndexOf('#');
            var line = (hash >= 0 ? rawLine[..hash] : rawLine).Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var type = FirstWord(ref line);
            if (line.StartsWith('['))
            {
                var close = line.IndexOf(']');
                if (close < 0)
                {
                    continue;
                }

                line = line[(close + 1)..].TrimStart();
            }

            var words = Split(line);
            if (words.Count < 2)
            {
                continue;
            }

            entries.Add(new AptSourceEntry([type], [words[0]], [words[1]], words.Skip(2).ToList(), Enabled: true));
        }

        return entries;
    }

    private static string FirstWord(ref string line)
    {
        var space = line.IndexOfAny([' ', '\t']);
        if (space < 0)
        {
            var all = line;
            line = string.Empty;
            return all;
        }

        var word = line[..space];
        line = line[space..].TrimStart();
        return word;
    }

    private static bool IsSecuritySuite(string suite) => suite.EndsWith("-security", StringComparison.Ordinal) || suite.EndsWith("/updates", StringComparison.Ordinal);

    // "bookworm-updates" → "bookworm", so companions of a Debian suite count as Debian too.
    private static string BareSuite(string suite)
    {
        var dash = suite.IndexOfAny(['-', '/']);
        return dash < 0 ? suite : suite[..dash];
    }

    private static IReadOnlyList<string> Split(string? value) =>
        value is null ? [] : value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : string.Empty;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }
}

/// <summary>One apt source (a deb822 stanza or a one-line entry).</summary>
internal sealed record AptSourceEntry(IReadOnlyList<string> Types, IReadOnlyList<string> Uris, IReadOnlyList<string> Suites, IReadOnlyList<string> Components, bool Enabled);
