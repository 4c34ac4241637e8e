using Orchestrator.Core.References;

namespace Orchestrator.Core.Locks;

/// <summary>
/// A pipeline's lock (pipelines/NAME.lock.yaml): the base digest it was resolved on and the full apt
/// closure an install of the pipeline's packages brings there, each with the <c>.deb</c>'s SHA-256 from
/// the mirror's index, plus a checksum of the inputs so drift is detected (as apko's lock does).
/// </summary>
/// <param name="LockVersion">The lock format's version; <see cref="CurrentVersion"/>.</param>
/// <param name="Pipeline">The pipeline's name.</param>
/// <param name="InputsChecksum"><c>sha256:…</c> of <see cref="InputsChecksum.Compute"/> when the lock was written.</param>
/// <param name="Base">The base variant and the digest the closure was resolved on.</param>
/// <param name="SourceDateEpoch">Seconds since the Unix epoch: the newest <c>Date:</c> of the mirror's Release files used (see <see cref="LockWorkflow"/>).</param>
/// <param name="Packages">The closure, sorted by name then architecture.</param>
public sealed record PipelineLock(
    int LockVersion,
    string Pipeline,
    string InputsChecksum,
    LockedBase Base,
    long SourceDateEpoch,
    IReadOnlyList<LockedPackage> Packages)
{
    /// <summary>The only lock format this version reads and writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>
    /// The Python packages pip's resolver chose for the pipeline's <c>requirements.in</c> on the build base, each with
    /// the SHA-256 of the file it fetched, sorted by name. Empty for a pipeline without loose Python requirements.
    /// <value>The default is none.</value>
    /// </summary>
    public IReadOnlyList<LockedPythonPackage> PythonPackages { get; init; } = [];

    /// <summary>
    /// For a Python pipeline: the build base the build stage's apt closure was resolved on, or null. <value>The default is null.</value>
    /// </summary>
    public LockedBase? BuildBase { get; init; }

    /// <summary>
    /// For a Python pipeline: the full apt closure of its <c>python.build-packages</c> (interpreter, pip, compilers) on
    /// <see cref="BuildBase"/>, sorted; the build stage installs exactly these. <value>The default is none.</value>
    /// </summary>
    public IReadOnlyList<LockedPackage> BuildPackages { get; init; } = [];

    /// <summary>The <c>name=version</c> arguments that install exactly this closure with apt-get.</summary>
    public IReadOnlyList<Definitions.AptPackage> ToAptPackages() =>
        Packages.Select(p => new Definitions.AptPackage(p.Name, p.Version)).ToList();
}

/// <summary>The base a lock was resolved on.</summary>
/// <param name="Name"><c>NAME/VARIANT</c>, e.g. <c>debian-bookworm/slim</c>.</param>
/// <param name="Reference">The variant's tag reference in the first stage, e.g. <c>127.0.0.1:5001/base/debian-bookworm:slim</c>.</param>
/// <param name="Digest">The digest the tag pointed at.</param>
public sealed record LockedBase(string Name, ImageReference Reference, Digest Digest)
{
    /// <summary>
    /// The packages dpkg lists as installed in the base (<c>ii</c>), sorted: with <see cref="PipelineLock.Packages"/>
    /// on top, exactly what an image built from the lock has installed. Empty in locks that predate it.
    /// </summary>
    public IReadOnlyList<InstalledPackage> Packages { get; init; } = [];
}

/// <summary>One package of the closure.</summary>
/// <param name="Name">The package name as dpkg knows it.</param>
/// <param name="Version">The exact Debian version.</param>
/// <param name="Architecture"><c>amd64</c>, <c>all</c>, …</param>
/// <param name="Sha256">The <c>.deb</c>'s SHA-256 from the mirror's Packages index, 64 lower-case hex digits.</param>
/// <param name="Direct">True when the pipeline names it; false when it comes in as a dependency.</param>
public sealed record LockedPackage(string Name, string Version, string Architecture, string Sha256, bool Direct);

/// <summary>A package as dpkg-query lists it: name, version, architecture.</summary>
public sealed record InstalledPackage(string Name, string Version, string Architecture)
{
    public override string ToString() => $"{Name} {Version} {Architecture}";
}

/// <summary>A Python package of a lock: what pip resolved for <c>requirements.in</c>.</summary>
/// <param name="Name">The PEP 503 normalized distribution name.</param>
/// <param name="Version">The exact version pip chose.</param>
/// <param name="Sha256">The SHA-256 of the wheel or sdist pip fetched, 64 lower-case hex digits.</param>
public sealed record LockedPythonPackage(string Name, string Version, string Sha256);
