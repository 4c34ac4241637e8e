namespace Orchestrator.Core.Definitions;

/// <summary>
/// The <c>python:</c> block of a pipeline: a service packaged from its own <c>pyproject.toml</c> with hashed,
/// pinned requirements, built into wheels on <see cref="BuildBase"/> (the full variant, with compilers) and
/// installed into the runtime image (the pipeline's base) without a compiler, pip or pip's cache.
/// </summary>
/// <param name="Project">Absolute path of the folder with <c>pyproject.toml</c>, inside the pipeline's folder, or null for requirements only.</param>
/// <param name="RequirementsFile">Absolute path of the runtime requirements file, or null when there is none.</param>
/// <param name="Requirements">The runtime requirements (includes followed), each pinned with <c>==</c> and hashed.</param>
/// <param name="DevRequirementsFile">Absolute path of the dev requirements file, or null.</param>
/// <param name="DevRequirements">Requirements for validation tools only: never installed into the image.</param>
/// <param name="Index">A PEP 503 simple index URL wheels are fetched from at build time, or null.</param>
/// <param name="FindLinks">Absolute path of a wheelhouse folder (wheels and sdists) inside the pipeline's folder, or null.</param>
/// <param name="BuildBase">The base variant the wheels are built on.</param>
/// <param name="BuildPackages">apt packages (exact versions) installed on <see cref="BuildBase"/> to build wheels: python3, pip, setuptools, wheel, compilers.</param>
public sealed record PythonSpec(
    string? Project,
    string? RequirementsFile,
    IReadOnlyList<PythonRequirement> Requirements,
    string? DevRequirementsFile,
    IReadOnlyList<PythonRequirement> DevRequirements,
    string? Index,
    string? FindLinks,
    BaseVariantRef BuildBase,
    IReadOnlyList<AptPackage> BuildPackages)
{
    /// <summary>Where the installed packages live in the runtime image; <c>PYTHONPATH</c> points here.</summary>
    public const string SitePackages = "/opt/python/site-packages";

    /// <summary>
    /// Loose requirements (a <c>requirements:</c> file ending in <c>.in</c>), one PEP 508 requirement per item as
    /// written, for <c>orchestrator lock</c> to resolve with pip. Then <see cref="Requirements"/> holds what the lock
    /// pinned (name, version, hash), or nothing before the first lock. <value>The default is none.</value>
    /// </summary>
    public IReadOnlyList<string> RequirementsIn { get; init; } = [];

    /// <summary>True when the requirements are loose and no lock has pinned them yet: such a pipeline cannot be built.</summary>
    public bool NeedsLock => RequirementsIn.Count > 0 && Requirements.Count == 0;
}

/// <summary>
/// One pinned requirement: <c>name==version</c> with its hashes, as pip's hash-checking mode needs it.
/// </summary>
/// <param name="Name">The distribution name as written.</param>
/// <param name="Version">The exact version after <c>==</c>.</param>
/// <param name="Sha256">Accepted SHA-256 digests (64 lower-case hex digits each), at least one.</param>
/// <param name="Marker">The PEP 508 environment marker after <c>;</c>, or null.</param>
/// <param name="Location"><c>file:line:column</c> where it is written, for messages.</param>
public sealed record PythonRequirement(string Name, string Version, IReadOnlyList<string> Sha256, string? Marker, string Location)
{
    /// <summary>The PEP 503 normalized name: lower case, runs of <c>-</c>, <c>_</c> and <c>.</c> as one <c>-</c>.</summary>
    public string NormalizedName => Normalize(Name);

    /// <summary>The PEP 503 normalized form of <paramref name="name"/>.</summary>
    public static string Normalize(string name) =>
        System.Text.RegularExpressions.Regex.Replace(name, "[-_.]+", "-").ToLowerInvariant();

    /// <summary>The requirement as a line of a requirements file pip reads in <c>--require-hashes</c> mode.</summary>
    public string ToRequirementLine() =>
        $"{Name}=={Version}" + (Marker is null ? string.Empty : $" ; {Marker}") + string.Concat(Sha256.Select(h => $" --hash=sha256:{h}"));
}
