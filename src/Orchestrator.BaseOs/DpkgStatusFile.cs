using Orchestrator.Core.Locks;

namespace Orchestrator.BaseOs;

/// <summary>
/// Reads dpkg's database of a root filesystem, <c>var/lib/dpkg/status</c> (deb822 stanzas, one per
/// package, <c>deb-control(5)</c> fields), without running anything inside it, so the package set of a
/// base can be recorded before the tree is archived.
/// </summary>
public static class DpkgStatusFile
{
    /// <summary>The status file's path inside a root filesystem.</summary>
    public const string RelativePath = "var/lib/dpkg/status";

    /// <summary>
    /// The installed packages of the root filesystem at <paramref name="rootfs"/>; see <see cref="ParseInstalled"/>.
    /// </summary>
    /// <exception cref="Core.Errors.JobFailedException">The status file is missing: the tree is not a dpkg-based system.</exception>
    public static async Task<IReadOnlyList<InstalledPackage>> ReadInstalledAsync(string rootfs, CancellationToken cancellationToken = default)
    {
        var path = Path.Combine(rootfs, RelativePath);
        if (!File.Exists(path))
        {
            throw new Core.Errors.JobFailedException(
                $"'{path}' does not exist, so the package set of the new root filesystem cannot be recorded. debootstrap should have written it; check debootstrap.log beside the root filesystem.");
        }

        return ParseInstalled(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// The packages in <paramref name="statusText"/> whose <c>Status</c> is <c>install ok installed</c>
    /// (or any want/flag with state <c>installed</c>), as name, version and architecture, sorted by name
    /// then architecture (ordinal). Removed, config-files-only, half-installed and unpacked packages are left out;
    /// stanzas missing <c>Package</c>, <c>Version</c> or <c>Architecture</c> are ignored.
    /// </summary>
    public static IReadOnlyList<InstalledPackage> ParseInstalled(string statusText)
    {
        ArgumentNullException.ThrowIfNull(statusText);
        var packages = new List<InstalledPackage>();
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        void Flush()
        {
            if (fields.TryGetValue("Package", out var name) && fields.TryGetValue("Version", out var version)
                && fields.TryGetValue("Architecture", out var architecture) && fields.TryGetValue("Status", out var status)
                && status.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, _, "installed"])
            {
                packages.Add(new InstalledPackage(name, version, architecture));
            }

            fields.Clear();
        }

        foreach (var raw in statusText.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                Flush();
                continue;
            }

            // Continuation lines belong to multi-line fields (Description, Conffiles) that are not needed here.
            if (char.IsWhiteSpace(line[0]))
            {
                continue;
            }

            var colon = line.IndexOf(':');
            if (colon > 0)
            {
                fields[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        Flush();
        return [.. packages
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.Architecture, StringComparer.Ordinal)
            .ThenBy(p => p.Version, StringComparer.Ordinal)];
    }
}
