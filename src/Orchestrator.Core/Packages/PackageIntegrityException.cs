using Orchestrator.Core.Errors;

namespace Orchestrator.Core.Packages;

/// <summary>
/// A package's bytes do not hash to what its lock says: a download from a mirror that changed or was tampered with,
/// or a cached file changed on disk. Nothing is stored under the expected hash; a changed cached file is removed.
/// </summary>
/// <param name="package">What the package is, e.g. <c>hello 2.10-3 amd64</c>.</param>
/// <param name="expected">The lock's SHA-256, 64 hex digits.</param>
/// <param name="actual">The SHA-256 of the bytes read, 64 hex digits.</param>
/// <param name="where">Where the bytes came from: the URL, or the cached file's path.</param>
public sealed class PackageIntegrityException(string package, string expected, string actual, string where)
    : JobFailedException(
        $"package {package} refused: its bytes from {where} have sha256:{actual}, but the lock says sha256:{expected}. " +
        "Nothing was stored or installed. If the mirror really changed the file, run 'orchestrator lock' again to record what it serves now; " +
        "otherwise the file was tampered with on its way or on disk")
{
    /// <summary>The package, e.g. <c>hello 2.10-3 amd64</c>.</summary>
    public string Package { get; } = package;

    /// <summary>The SHA-256 the lock records.</summary>
    public string Expected { get; } = expected;

    /// <summary>The SHA-256 of the bytes read.</summary>
    public string Actual { get; } = actual;
}
