using Orchestrator.Core.Locks;

namespace Orchestrator.Core.Sbom;

/// <summary>How a package differs between two package lists.</summary>
public enum PackageChangeKind
{
    /// <summary>Only the new list has it.</summary>
    Added,

    /// <summary>Only the old list has it.</summary>
    Removed,

    /// <summary>Both have it; the new version is newer.</summary>
    Upgraded,

    /// <summary>Both have it; the new version is older.</summary>
    Downgraded,
}

/// <summary>One package that differs.</summary>
/// <param name="Name">The package name (dpkg's, or the PEP 503 normalized Python name).</param>
/// <param name="Architecture">The dpkg architecture (<c>amd64</c>, <c>all</c>); null for a Python package.</param>
/// <param name="OldVersion">The version in the old list; null when <see cref="PackageChangeKind.Added"/>.</param>
/// <param name="NewVersion">The version in the new list; null when <see cref="PackageChangeKind.Removed"/>.</param>
/// <param name="Kind">How it differs.</param>
public sealed record PackageChange(string Name, string? Architecture, string? OldVersion, string? NewVersion, PackageChangeKind Kind);

/// <summary>
/// The difference between two package lists (what an image has now, what it would have): packages added, removed,
/// upgraded and downgraded, each list sorted by name then architecture (ordinal). Debian packages are matched by name
/// and architecture (a multi-arch <c>libc6:i386</c> beside <c>libc6:amd64</c> is its own package) and ordered by
/// <see cref="DebianVersion"/>; Python packages are matched by normalized name and ordered by <see cref="PythonVersion"/>.
/// Two versions that compare equal but are spelled differently (<c>1.0</c> and <c>1.0.0</c>) are no change.
/// Pure: no I/O.
/// </summary>
public sealed record PackageDiff(
    IReadOnlyList<PackageChange> Added,
    IReadOnlyList<PackageChange> Removed,
    IReadOnlyList<PackageChange> Upgraded,
    IReadOnlyList<PackageChange> Downgraded)
{
    /// <summary>True when nothing differs.</summary>
    public bool IsEmpty => Added.Count == 0 && Removed.Count == 0 && Upgraded.Count == 0 && Downgraded.Count == 0;

    /// <summary>Every change, in the order added, removed, upgraded, downgraded.</summary>
    public IEnumerable<PackageChange> All => Added.Concat(Removed).Concat(Upgraded).Concat(Downgraded);

    /// <summary>What changes when the Debian packages <paramref name="before"/> become <paramref name="after"/>.</summary>
    public static PackageDiff OfApt(IEnumerable<DpkgPackage> before, IEnumerable<DpkgPackage> after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        return Compare(
            before.Select(p => (p.Name, (string?)p.Architecture, p.Version)),
            after.Select(p => (p.Name, (string?)p.Architecture, p.Version)),
            DebianVersion.Compare);
    }

    /// <summary>What changes when the Python packages <paramref name="before"/> become <paramref name="after"/>.</summary>
    public static PackageDiff OfPython(IEnumerable<PypiPackage> before, IEnumerable<PypiPackage> after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        return Compare(
            before.Select(p => (Definitions.PythonRequirement.Normalize(p.Name), (string?)null, p.Version)),
            after.Select(p => (Definitions.PythonRequirement.Normalize(p.Name), (string?)null, p.Version)),
            PythonVersion.Compare);
    }

    /// <summary>
    /// The general form: packages keyed by name and architecture, versions ordered by <paramref name="versions"/>. A key
    /// listed twice in one list (which dpkg does not do) keeps its newest version.
    /// </summary>
    public static PackageDiff Compare(
        IEnumerable<(string Name, string? Architecture, string Version)> before,
        IEnumerable<(string Name, string? Architecture, string Version)> after,
        Comparison<string> versions)
    {
        ArgumentNullException.ThrowIfNull(versions);
        var old = Index(before, versions);
        var @new = Index(after, versions);
        var added = new List<PackageChange>();
        var removed = new List<PackageChange>();
        var upgraded = new List<PackageChange>();
        var downgraded = new List<PackageChange>();
        foreach (var (key, version) in @new)
        {
            if (!old.TryGetValue(key, out var was))
            {
                added.Add(new PackageChange(key.Name, key.Architecture, null, version, PackageChangeKind.Added));
            }
            else if (versions(was, version) is var order && order != 0)
            {
                (order < 0 ? upgraded : downgraded).Add(new PackageChange(key.Name, key.Architecture, was, version, order < 0 ? PackageChangeKind.Upgraded : PackageChangeKind.Downgraded));
            }
        }

        removed.AddRange(old.Where(o => !@new.ContainsKey(o.Key)).Select(o => new PackageChange(o.Key.Name, o.Key.Architecture, o.Value, null, PackageChangeKind.Removed)));
        return new PackageDiff(Sorted(added), Sorted(removed), Sorted(upgraded), Sorted(downgraded));
    }

    private static Dictionary<(string Name, string? Architecture), string> Index(IEnumerable<(string Name, string? Architecture, string Version)> packages, Comparison<string> versions)
    {
        ArgumentNullException.ThrowIfNull(packages);
        var index = new Dictionary<(string, string?), string>();
        foreach (var (name, architecture, version) in packages)
        {
            if (!index.TryGetValue((name, architecture), out var known) || versions(known, version) < 0)
            {
                index[(name, architecture)] = version;
            }
        }

        return index;
    }

    private static List<PackageChange> Sorted(List<PackageChange> changes) =>
        [.. changes.OrderBy(c => c.Name, StringComparer.Ordinal).ThenBy(c => c.Architecture, StringComparer.Ordinal)];
}
