using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchestrator.Core.Sbom;

/// <summary>
/// Python version ordering as PEP 440 ("Version specifiers", section "Summary of permitted suffixes and relative
/// ordering") defines it: epoch, release segments (missing ones are zero), then <c>.devN</c> &lt; <c>aN</c> &lt;
/// <c>bN</c> &lt; <c>rcN</c> &lt; final &lt; <c>.postN</c>, then a local label (<c>+…</c>, compared segment by segment,
/// numbers above words). Spellings PEP 440 normalizes (<c>alpha</c>, <c>c</c>, <c>-1</c>, upper case) are accepted.
/// Two strings that are not PEP 440 versions are compared ordinally, after any version that is.
/// </summary>
public static partial class PythonVersion
{
    /// <summary>Negative when <paramref name="left"/> is older than <paramref name="right"/>, zero when equal, positive when newer.</summary>
    public static int Compare(string left, string right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        var (a, b) = (Parsed.TryParse(left), Parsed.TryParse(right));
        return (a, b) switch
        {
            (null, null) => string.CompareOrdinal(left, right),
            (null, _) => 1,
            (_, null) => -1,
            _ => a.CompareTo(b),
        };
    }

    // The PEP 440 appendix's VERSION_PATTERN, anchored, case-insensitive.
    [GeneratedRegex(
        @"^\s*v?(?:(?<epoch>[0-9]+)!)?(?<release>[0-9]+(?:\.[0-9]+)*)" +
        @"(?:[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?" +
        @"(?:-(?<post_n1>[0-9]+)|[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?)?" +
        @"(?:[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?" +
        @"(?:\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    private sealed record Parsed(long Epoch, long[] Release, int PreKind, long Pre, long? Post, long? Dev, string[] Local) : IComparable<Parsed>
    {
        // Pre-release kinds in order; Final sorts after every pre-release, DevOnly before them.
        private const int DevOnly = -1;
        private const int Final = 3;

        public static Parsed? TryParse(string text)
        {
            var match = Pattern().Match(text);
            if (!match.Success)
            {
                return null;
            }

            var release = match.Groups["release"].Value.Split('.').Select(Number).ToArray();
            long? post = match.Groups["post_n1"].Success ? Number(match.Groups["post_n1"].Value)
                : match.Groups["post_l"].Success ? NumberOrZero(match.Groups["post_n2"])
                : null;
            long? dev = match.Groups["dev_l"].Success ? NumberOrZero(match.Groups["dev_n"]) : null;
            var preKind = Final;
            long pre = 0;
            if (match.Groups["pre_l"].Success)
            {
                preKind = match.Groups["pre_l"].Value.ToLowerInvariant() switch
                {
                    "a" or "alpha" => 0,
                    "b" or "beta" => 1,
                    _ => 2,
                };
                pre = NumberOrZero(match.Groups["pre_n"]);
            }
            else if (post is null && dev is not null)
            {
                preKind = DevOnly;
            }

            var local = match.Groups["local"].Success ? match.Groups["local"].Value.ToLowerInvariant().Split('-', '_', '.') : [];
            return new Parsed(match.Groups["epoch"].Success ? Number(match.Groups["epoch"].Value) : 0, release, preKind, pre, post, dev, local);
        }

        public int CompareTo(Parsed? other)
        {
            ArgumentNullException.ThrowIfNull(other);
            var result = Epoch.CompareTo(other.Epoch);
            for (var i = 0; result == 0 && i < Math.Max(Release.Length, other.Release.Length); i++)
            {
                result = At(Release, i).CompareTo(At(other.Release, i));
            }

            if (result == 0)
            {
                result = PreKind != other.PreKind ? PreKind.CompareTo(other.PreKind) : Pre.CompareTo(other.Pre);
            }

            if (result == 0)
            {
                // No post-release sorts before any post-release.
                result = (Post ?? -1).CompareTo(other.Post ?? -1);
            }

            if (result == 0)
            {
                // No dev-release sorts after any dev-release.
                result = (Dev ?? long.MaxValue).CompareTo(other.Dev ?? long.MaxValue);
            }

            for (var i = 0; result == 0 && i < Math.Max(Local.Length, other.Local.Length); i++)
            {
                result = CompareLocal(i < Local.Length ? Local[i] : null, i < other.Local.Length ? other.Local[i] : null);
            }

            return result;
        }

        private static long At(long[] segments, int index) => index < segments.Length ? segments[index] : 0;

        // A missing segment sorts first; a number above a word; numbers numerically, words ordinally.
        private static int CompareLocal(string? left, string? right)
        {
            if (left is null || right is null)
            {
                return left is null ? (right is null ? 0 : -1) : 1;
            }

            var (leftIsNumber, rightIsNumber) = (left.All(char.IsAsciiDigit), right.All(char.IsAsciiDigit));
            return (leftIsNumber, rightIsNumber) switch
            {
                (true, true) => Number(left).CompareTo(Number(right)),
                (true, false) => 1,
                (false, true) => -1,
                _ => string.CompareOrdinal(left, right),
            };
        }

        // Segments longer than a long are clamped: such versions do not occur, and a parse must not throw.
        private static long Number(string digits) =>
            long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : long.MaxValue;

        private static long NumberOrZero(Group group) => group.Success ? Number(group.Value) : 0;
    }
}
