namespace Orchestrator.Core.Locks;

/// <summary>Debian version ordering, as <c>dpkg --compare-versions</c> (Debian Policy 5.6.12): epoch, then upstream, then revision.</summary>
public static class DebianVersion
{
    /// <summary>Negative when <paramref name="left"/> is older than <paramref name="right"/>, zero when equal, positive when newer.</summary>
    public static int Compare(string left, string right)
    {
        var (leftEpoch, leftUpstream, leftRevision) = Split(left);
        var (rightEpoch, rightUpstream, rightRevision) = Split(right);
        var epoch = leftEpoch.CompareTo(rightEpoch);
        if (epoch != 0)
        {
            return epoch;
        }

        var upstream = ComparePart(leftUpstream, rightUpstream);
        return upstream != 0 ? upstream : ComparePart(leftRevision, rightRevision);
    }

    private static (long Epoch, string Upstream, string Revision) Split(string version)
    {
        long epoch = 0;
        var colon = version.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && long.TryParse(version.AsSpan(0, colon), out var parsed))
        {
            epoch = parsed;
            version = version[(colon + 1)..];
        }

        var dash = version.LastIndexOf('-');
        return dash >= 0 ? (epoch, version[..dash], version[(dash + 1)..]) : (epoch, version, "0");
    }

    // dpkg's verrevcmp: alternate non-digit runs (compared by Order) and digit runs (compared numerically).
    private static int ComparePart(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            var firstDiff = 0;
            while ((i < a.Length && !char.IsAsciiDigit(a[i])) || (j < b.Length && !char.IsAsciiDigit(b[j])))
            {
                var ac = i < a.Length ? Order(a[i]) : 0;
                var bc = j < b.Length ? Order(b[j]) : 0;
                if (ac != bc)
                {
                    return ac - bc;
                }

                i++;
                j++;
            }

            while (i < a.Length && a[i] == '0')
            {
                i++;
            }

            while (j < b.Length && b[j] == '0')
            {
                j++;
            }

            while (i < a.Length && char.IsAsciiDigit(a[i]) && j < b.Length && char.IsAsciiDigit(b[j]))
            {
                if (firstDiff == 0)
                {
                    firstDiff = a[i] - b[j];
                }

                i++;
                j++;
            }

            if (i < a.Length && char.IsAsciiDigit(a[i]))
            {
                return 1;
            }

            if (j < b.Length && char.IsAsciiDigit(b[j]))
            {
                return -1;
            }

            if (firstDiff != 0)
            {
                return firstDiff;
            }
        }

        return 0;
    }

    // '~' sorts before everything, even the end of the string; letters before other characters.
    private static int Order(char c) => c switch
    {
        '~' => -1,
        _ when char.IsAsciiDigit(c) => 0,
        _ when char.IsAsciiLetter(c) => c,
        _ => c + 256,
    };
}
