using System.Globalization;
using System.Text;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// The packages of a pipeline on a distroless base, put in place the way distroless images are made: a stage
/// (<c>unpack</c>) on the base's slim sibling by digest obtains the locked <c>.deb</c>s, checks each against the lock's
/// SHA-256, and unpacks each with <c>dpkg-deb</c> into <c>/rootfs</c> (no maintainer script runs), writing its
/// <c>var/lib/dpkg/status.d/PACKAGE</c> record from <c>dpkg-deb -f</c> and printing one
/// <see cref="SkippedScriptMarker"/> line per maintainer script it skipped; the final stage, <c>FROM</c> the distroless
/// base by digest, takes <c>COPY --from=unpack /rootfs /</c>.
/// </summary>
public static class DistrolessBuildContext
{
    /// <summary>The name of the unpack stage in the generated Dockerfile.</summary>
    public const string StageName = "unpack";

    /// <summary>The prefix of each line the unpack stage prints per skipped maintainer script: <c>@@skipped-maintainer-script PACKAGE SCRIPT</c>.</summary>
    public const string SkippedScriptMarker = "@@skipped-maintainer-script";

    /// <summary>The maintainer scripts dpkg would run (deb-preinst(5), deb-postinst(5), …, deb-config, deb-triggers).</summary>
    public static IReadOnlyList<string> MaintainerScripts { get; } = ["preinst", "postinst", "prerm", "postrm", "config", "triggers"];

    /// <summary>What the slim variant drops from what it unpacks (docs but copyright, man pages, info, locales), as the slim base's dpkg rules do.</summary>
    private const string SlimPrune =
        "find /rootfs/usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete 2>/dev/null || true; " +
        "find /rootfs/usr/share/doc -mindepth 1 -type d -empty -delete 2>/dev/null || true; " +
        "rm -rf /rootfs/usr/share/man /rootfs/usr/share/info /rootfs/usr/share/groff /rootfs/usr/share/lintian /rootfs/usr/share/linda /rootfs/usr/share/locale; ";

    /// <summary>
    /// The unpack stage: <c>FROM</c> <paramref name="unpackBase"/> by digest, the <c>.deb</c>s obtained by
    /// <see cref="ObtainDebsRun"/>, then unpacked into <c>/rootfs</c>. Empty when there are no packages.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="unpackBase"/> has no digest.</exception>
    public static string CreateUnpackStage(IReadOnlyList<Locks.LockedPackage> packages, ImageReference unpackBase, long? sourceDateEpoch)
    {
        ArgumentNullException.ThrowIfNull(packages);
        if (unpackBase.Digest is null)
        {
            throw new ArgumentException("the unpack base must be referenced by digest", nameof(unpackBase));
        }

        var stage = new StringBuilder();
        stage.Append("FROM ").Append(unpackBase.Name).Append('@').Append(unpackBase.Digest).Append(" AS ").Append(StageName).Append('\n');
        stage.Append(ObtainDebsRun(packages));
        stage.Append("RUN set -eu; mkdir -p /rootfs/").Append(DistrolessBase.StatusDirectory).Append("; ")
            // Merged /usr as the distroless base has it, kept by tar, so a package's /lib/… lands in /usr/lib/….
            .Append("for d in bin lib lib64 sbin; do ln -s usr/$d /rootfs/$d; mkdir -p /rootfs/usr/$d; done; ")
            .Append("for deb in /debs/*.deb; do ")
            .Append("pkg=$(dpkg-deb -f \"$deb\" Package); ")
            .Append("dpkg-deb --fsys-tarfile \"$deb\" | tar -x --keep-directory-symlink --no-same-owner -C /rootfs; ")
            .Append("dpkg-deb -f \"$deb\" | sed '1a Status: install ok installed' > /rootfs/").Append(DistrolessBase.StatusDirectory).Append("/$pkg; ")
            .Append("for s in $(dpkg-deb --ctrl-tarfile \"$deb\" | tar -t | sed -n 's|^\\./||; /^\\(").Append(string.Join("\\|", MaintainerScripts)).Append("\\)$/p' | sort); do ")
            .Append("echo \"").Append(SkippedScriptMarker).Append(" $pkg $s\"; done; done; ")
            .Append("rm -f /rootfs/bin /rootfs/lib /rootfs/lib64 /rootfs/sbin; ")
            .Append("find /rootfs/usr/bin /rootfs/usr/lib /rootfs/usr/lib64 /rootfs/usr/sbin -maxdepth 0 -empty -delete; ")
            .Append(SlimPrune);
        if (sourceDateEpoch is { } epoch)
        {
            stage.Append("find /rootfs -exec touch -h -d @").Append(epoch.ToString(CultureInfo.InvariantCulture)).Append(" {} +; ");
        }

        stage.Append("rm -rf /debs\n");
        return stage.ToString();
    }

    /// <summary>
    /// How the locked <c>.deb</c>s arrive in the unpack stage, in <c>/debs</c>: copied from the build context, where the
    /// package cache put them (<see cref="BuildContext.RuntimeDebsFolder"/>, each verified against the lock's SHA-256
    /// when it was taken from the cache), and compared with the lock once more here, so a context that does not hold
    /// exactly the locked files stops the build. No network: this stage, like every RUN of a build, has none.
    /// </summary>
    public static string ObtainDebsRun(IReadOnlyList<Locks.LockedPackage> packages)
    {
        ArgumentNullException.ThrowIfNull(packages);
        return new StringBuilder("COPY ").Append(BuildContext.RuntimeDebsFolder).Append("/ /debs/\n")
            .Append("RUN set -eu; cd /debs; ")
            .Append("printf '%s\\n' ").AppendJoin(' ', packages.Select(p => p.Sha256).Order(StringComparer.Ordinal)).Append(" > /tmp/locked; ")
            .Append("sha256sum *.deb | cut -d' ' -f1 | sort > /tmp/got; ")
            .Append("if ! cmp -s /tmp/locked /tmp/got; then echo 'the .debs in the build context do not match the lock (SHA-256):' >&2; diff /tmp/locked /tmp/got >&2 || true; exit 1; fi; ")
            .Append("rm -f /tmp/locked /tmp/got\n")
            .ToString();
    }

    /// <summary>The final stage's instruction that brings the unpacked packages in.</summary>
    public static string CopyUnpacked() => $"COPY --from={StageName} /rootfs /\n";

    /// <summary>
    /// The skipped maintainer scripts in a build's output, as <c>PACKAGE/SCRIPT</c>, sorted and each once: the lines
    /// starting with <see cref="SkippedScriptMarker"/>.
    /// </summary>
    public static IReadOnlyList<string> ParseSkippedScripts(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        return [.. output.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith(SkippedScriptMarker + " ", StringComparison.Ordinal))
            .Select(l => l[(SkippedScriptMarker.Length + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length == 2)
            .Select(p => $"{p[0]}/{p[1]}")
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];
    }
}
