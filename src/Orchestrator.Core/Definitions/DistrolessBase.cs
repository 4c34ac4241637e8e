using Orchestrator.Core.Errors;

namespace Orchestrator.Core.Definitions;

/// <summary>
/// What a distroless base variant (<see cref="BaseVariantDefinition.Distroless"/>) holds and where its packages are
/// resolved: it has no apt and no dpkg, so a pipeline on it is locked and unpacked on its slim sibling (the variant of
/// the same base and suite with <c>slim: true</c>), treating the distroless base's <c>status.d</c> records as installed.
/// </summary>
public static class DistrolessBase
{
    /// <summary>The default user of a distroless base and its home: <c>nonroot</c>, uid and gid 65532, as gcr.io/distroless.</summary>
    public const string NonRootUser = "65532";

    /// <summary>Where the per-package dpkg records live in a distroless image (scanners such as syft and trivy read them).</summary>
    public const string StatusDirectory = "var/lib/dpkg/status.d";

    /// <summary>
    /// The packages whose files a distroless base keeps: gcr.io/distroless base-debian12's set (base-files, netbase,
    /// tzdata, media-types, the CA bundle of ca-certificates, the C library and its runtime, libssl3).
    /// </summary>
    public static IReadOnlyList<string> RuntimePackages { get; } =
        ["base-files", "ca-certificates", "gcc-12-base", "libc6", "libgcc-s1", "libssl3", "media-types", "netbase", "tzdata"];

    /// <summary>What debootstrap must <c>--include</c> beyond minbase so <see cref="RuntimePackages"/> are all there.</summary>
    public static IReadOnlyList<string> DebootstrapIncludes { get; } = ["ca-certificates", "libssl3", "media-types", "netbase", "tzdata"];

    /// <summary>
    /// Packages a distroless image never carries (package manager, shells, core utilities) though Debian's dependency
    /// fields name them: when a pipeline is resolved for a distroless base they count as present, so apt neither plans
    /// them nor refuses the closure. Their files are never unpacked.
    /// </summary>
    public static IReadOnlyList<string> NeverShipped { get; } =
    [
        "adduser", "apt", "base-passwd", "bash", "coreutils", "dash", "debconf", "debianutils", "diffutils", "dpkg", "findutils",
        "grep", "gzip", "init-system-helpers", "install-info", "libc-bin", "login", "mount", "passwd", "perl-base", "sed",
        "sensible-utils", "sysvinit-utils", "tar", "util-linux",
    ];

    /// <summary>True when <paramref name="baseVariant"/> names a distroless variant in <paramref name="workspace"/>.</summary>
    public static bool IsDistroless(Workspace workspace, BaseVariantRef baseVariant)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(baseVariant);
        return workspace.GetBaseVariant(baseVariant.ToString()).Variant.Distroless;
    }

    /// <summary>
    /// The slim sibling of a distroless variant: the first variant (by name) of the same base with the same suite,
    /// <c>slim: true</c>, built with debootstrap and not itself distroless.
    /// </summary>
    /// <exception cref="InputException">The base has no such variant; the message says what to add.</exception>
    public static BaseVariantRef SlimSiblingOf(BaseImageDefinition image, BaseVariantDefinition variant)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(variant);
        var sibling = image.Variants.Values
            .Where(v => v.Slim && !v.Distroless && v.From is null && v.Suite == variant.Suite)
            .OrderBy(v => v.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        return sibling is null
            ? throw new InputException(
                $"the distroless variant {image.Name}/{variant.Name} has no slim sibling to resolve and unpack packages on (no apt on a distroless image): " +
                $"add a variant with 'slim: true' and suite {variant.Suite} to {Path.GetFileName(image.SourceFile)}")
            : new BaseVariantRef(image.Name, sibling.Name);
    }
}
