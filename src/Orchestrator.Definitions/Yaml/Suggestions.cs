namespace Orchestrator.Definitions.Yaml;

/// <summary>"Did you mean" hints for misspelt keys and names.</summary>
internal static class Suggestions
{
    /// <summary>The closest of <paramref name="known"/> to <paramref name="value"/>, if close enough to be a typo.</summary>
    public static string? Closest(string value, IEnumerable<string> known)
    {
        // An abbreviation ('prod' for 'production') is far in edits but obvious to a reader.
        var prefixed = known.Where(k => value.Length >= 3 && k.StartsWith(value, StringComparison.OrdinalIgnoreCase)).ToList();
        if (prefixed.Count == 1)
        {
            return prefixed[0];
        }

        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = Distance(value.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        // Past a third of the word, a "suggestion" is noise rather than a likely typo.
        return best is not null && bestDistance <= Math.Max(2, value.Length / 3) ? best : null;
    }

    /// <summary>"did you mean 'x'? known keys: a, b, c", or only the list when nothing is close.</summary>
    public static string DidYouMean(string value, IReadOnlyCollection<string> known, string listName)
    {
        var closest = Closest(value, known);
        var list = known.Count == 0 ? "(none)" : string.Join(", ", known);
        return closest is null ? $"use one of the {listName}: {list}" : $"did you mean '{closest}'? {listName}: {list}";
    }

    /// <summary>Levenshtein distance with adjacent transpositions counted as one edit (optimal string alignment).</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
