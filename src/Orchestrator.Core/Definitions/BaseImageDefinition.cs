namespace Orchestrator.Core.Definitions;

/// <summary>
/// A base image (base-images/NAME.yaml): one OS, several variants. Each variant is pushed to the
/// first stage as <c>REPOSITORY:VARIANT</c> and referenced by pipelines by its digest.
/// </summary>
/// <param name="Name">The base's name, e.g. <c>debian-bookworm</c> (the file name without .yaml).</param>
/// <param name="SourceFile">The definition file.</param>
/// <param name="Repository">The repository in every stage's registry, e.g. <c>base/debian-bookworm</c>.</param>
/// <param name="DefaultVariant">The variant a pipeline gets when it names only the base.</param>
/// <param name="Variants">The variants by name, e.g. <c>full</c> and <c>slim</c>.</param>
public sealed record BaseImageDefinition(
    string Name,
    string SourceFile,
    string Repository,
    string DefaultVariant,
    IReadOnlyDictionary<string, BaseVariantDefinition> Variants);

/// <summary>
/// One variant of a base image. Either built with debootstrap (<see cref="From"/> is null) or copied
/// from an upstream image pinned by digest (<see cref="From"/> set, the debootstrap keys ignored).
/// </summary>
/// <param name="Name">The variant name, also its tag: <c>full</c>, <c>slim</c>.</param>
/// <param name="Suite">The Debian suite, e.g. <c>bookworm</c>.</param>
/// <param name="Mirror">The Debian mirror, or null for the one the machine's apt sources name.</param>
/// <param name="SecurityMirror">The security mirror, or null for the machine's (or the mirror's sibling <c>debian-security</c>).</param>
/// <param name="Components">Archive components, e.g. <c>[main]</c>.</param>
/// <param name="DebootstrapVariant">debootstrap's <c>--variant</c> (<c>minbase</c> for slim), or null for its default.</param>
/// <param name="Slim">True to exclude docs, man pages, info and locales via dpkg <c>path-exclude</c> rules, keeping copyright files.</param>
/// <param name="Include">Extra packages for debootstrap's <c>--include</c>.</param>
/// <param name="From">An upstream image pinned by digest to use instead of debootstrap, or null.</param>
public sealed record BaseVariantDefinition(
    string Name,
    string Suite,
    string? Mirror,
    string? SecurityMirror,
    IReadOnlyList<string> Components,
    string? DebootstrapVariant,
    bool Slim,
    IReadOnlyList<string> Include,
    References.ImageReference? From)
{
    /// <summary>
    /// A snapshot.debian.org timestamp, <c>yyyyMMddTHHmmssZ</c> (e.g. <c>20250520T000000Z</c>), or null.
    /// When set, the mirror is <c>http://snapshot.debian.org/archive/debian/TIMESTAMP</c> and the security
    /// mirror <c>http://snapshot.debian.org/archive/debian-security/TIMESTAMP</c>, so versions the live
    /// mirror no longer serves stay installable; <see cref="Mirror"/> and <see cref="SecurityMirror"/> are then null.
    /// </summary>
    public string? Snapshot { get; init; }

    /// <summary>
    /// True for a distroless variant (<c>distroless: true</c>): a minbase debootstrap (with ca-certificates, tzdata,
    /// netbase, media-types and libssl3 included) reduced to the files of <see cref="DistrolessBase.RuntimePackages"/>,
    /// with a <c>/var/lib/dpkg/status.d/PACKAGE</c> record per package, no shell, apt or dpkg, and user 65532.
    /// Pipelines on it get their packages unpacked, not installed. <value>The default is false.</value>
    /// </summary>
    public bool Distroless { get; init; }
}

/// <summary>A pipeline's <c>base:</c>, <c>NAME/VARIANT</c>, resolved against the loaded bases.</summary>
public sealed record BaseVariantRef(string BaseName, string Variant)
{
    public override string ToString() => $"{BaseName}/{Variant}";
}
