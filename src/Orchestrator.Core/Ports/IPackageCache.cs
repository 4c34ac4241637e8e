using Orchestrator.Core.Locks;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Ports;

/// <summary>
/// The content-addressed package cache (issue 16): every locked <c>.deb</c> is fetched once, verified against the
/// lock's SHA-256 and kept under the state folder by hash (<c>cache/sha256/HEX</c>), shared by every pipeline.
/// Builds take their packages from here into the build context, so no <c>RUN</c> needs the network.
/// </summary>
public interface IPackageCache
{
    /// <summary>
    /// Verified local files of <paramref name="packages"/>, in the order given, fetching what the cache lacks: the
    /// mirror's URL of each missing <c>.deb</c> is asked of apt (<c>apt-get install --print-uris</c>) in a throwaway
    /// container of <paramref name="resolveOn"/> on the host network, and the file is downloaded on the host, hashed
    /// while it streams and stored only when it matches the lock. Every file already cached is hashed again before it
    /// is returned.
    /// </summary>
    /// <param name="packages">Locked packages (name, version, architecture, SHA-256 of the <c>.deb</c>).</param>
    /// <param name="resolveOn">An image, by digest, whose apt sources serve the packages (the base the lock was resolved on).</param>
    /// <param name="reporter">Where progress goes, or null.</param>
    /// <param name="cancellationToken">Cancels the fetch.</param>
    /// <returns>One entry per package, each naming a file whose SHA-256 is the package's.</returns>
    /// <exception cref="Packages.PackageIntegrityException">A download, or a cached file, does not hash to what the lock says; nothing is stored.</exception>
    /// <exception cref="Errors.JobFailedException">apt does not know a package, or a download fails.</exception>
    Task<IReadOnlyList<CachedPackage>> GetDebsAsync(
        IReadOnlyList<LockedPackage> packages, ImageReference resolveOn, IJobReporter? reporter = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Verified local files of Python distributions (wheels or sdists) by their SHA-256, fetching what the cache lacks
    /// from a PEP 503 simple index (the file whose link carries one of the wanted hashes).
    /// </summary>
    /// <param name="distributions">Each distribution's name, version and the hashes any of which its file may have.</param>
    /// <param name="index">The simple index's URL (<c>…/simple</c>).</param>
    /// <param name="reporter">Where progress goes, or null.</param>
    /// <param name="cancellationToken">Cancels the fetch.</param>
    /// <exception cref="Packages.PackageIntegrityException">A download, or a cached file, does not hash to what was locked.</exception>
    /// <exception cref="Errors.JobFailedException">The index has no file with a wanted hash, or a download fails.</exception>
    Task<IReadOnlyList<CachedDistribution>> GetDistributionsAsync(
        IReadOnlyList<WantedDistribution> distributions, string index, IJobReporter? reporter = null, CancellationToken cancellationToken = default);
}

/// <summary>A locked package and its verified file in the cache.</summary>
/// <param name="Package">The package as the lock lists it.</param>
/// <param name="Path">The absolute path of the cached <c>.deb</c> (named by its SHA-256; read it, never write it).</param>
public sealed record CachedPackage(LockedPackage Package, string Path)
{
    /// <summary>The file name Debian gives the package: <c>NAME_VERSION_ARCH.deb</c> with an epoch's <c>:</c> as <c>%3a</c>.</summary>
    public string DebFileName => DebFileNameOf(Package);

    /// <summary>See <see cref="DebFileName"/>.</summary>
    public static string DebFileNameOf(LockedPackage package) =>
        $"{package.Name}_{package.Version.Replace(":", "%3a", StringComparison.Ordinal)}_{package.Architecture}.deb";
}

/// <summary>A Python distribution a build needs.</summary>
/// <param name="Name">The distribution's name.</param>
/// <param name="Version">The pinned version.</param>
/// <param name="Sha256">The hashes (64 lower-case hex digits) the file may have; the first file the index lists with one of them is taken.</param>
public sealed record WantedDistribution(string Name, string Version, IReadOnlyList<string> Sha256);

/// <summary>A Python distribution's verified file in the cache.</summary>
/// <param name="Distribution">What was wanted.</param>
/// <param name="FileName">The file's name on the index (<c>NAME-VERSION-….whl</c>), which pip reads.</param>
/// <param name="Sha256">The file's SHA-256.</param>
/// <param name="Path">The absolute path of the cached file.</param>
public sealed record CachedDistribution(WantedDistribution Distribution, string FileName, string Sha256, string Path);

/// <summary>Fetches a package file over HTTP(S) (the package mirror, a Python index): the one network call of the cache.</summary>
public interface IPackageDownloader
{
    /// <summary>Opens <paramref name="uri"/> for reading.</summary>
    /// <exception cref="Errors.JobFailedException">The server answers with an error or cannot be reached.</exception>
    Task<Stream> OpenAsync(Uri uri, CancellationToken cancellationToken = default);

    /// <summary>Reads <paramref name="uri"/> as text (a simple index page).</summary>
    /// <exception cref="Errors.JobFailedException">The server answers with an error or cannot be reached.</exception>
    Task<string> GetStringAsync(Uri uri, CancellationToken cancellationToken = default);
}
