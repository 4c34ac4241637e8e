using Orchestrator.Core.Definitions;

namespace Orchestrator.Core.Ports;

/// <summary>
/// Builds a base variant's root filesystem as a tar archive (Orchestrator.BaseOs, with debootstrap).
/// </summary>
public interface IRootfsBuilder
{
    /// <summary>
    /// Runs debootstrap for <paramref name="variant"/> in a fresh folder under
    /// <paramref name="workDirectory"/>, applies the variant's slimming and apt sources, and writes
    /// the root filesystem as an uncompressed tar. The caller deletes <see cref="RootfsArchive.TarPath"/>.
    /// </summary>
    /// <exception cref="Errors.UnavailableException">debootstrap is not installed or not run as root.</exception>
    /// <exception cref="Errors.JobFailedException">debootstrap failed; the message carries the tail of its log.</exception>
    Task<RootfsArchive> BuildAsync(BaseImageDefinition image, BaseVariantDefinition variant, string workDirectory, IProgress<string>? log = null, CancellationToken cancellationToken = default);
}

/// <summary>A built root filesystem: the tar, and what it was built from so a rebuild is explainable.</summary>
/// <param name="TarPath">The uncompressed tar of the root filesystem.</param>
/// <param name="Suite">The suite.</param>
/// <param name="Mirror">The mirror used.</param>
/// <param name="SecurityMirror">The security mirror written into the apt sources.</param>
/// <param name="SizeBytes">The tar's size in bytes.</param>
public sealed record RootfsArchive(string TarPath, string Suite, string Mirror, string SecurityMirror, long SizeBytes)
{
    /// <summary>The snapshot.debian.org timestamp (<c>yyyyMMddTHHmmssZ</c>) the mirrors point at, or null for a live mirror.</summary>
    public string? Snapshot { get; init; }

    /// <summary>debootstrap's <c>--variant</c> (<c>minbase</c>, …), or null for its default.</summary>
    public string? DebootstrapVariant { get; init; }

    /// <summary>
    /// The installed packages (from the root filesystem's <c>var/lib/dpkg/status</c>, status
    /// <c>install ok installed</c>) sorted by name then architecture (ordinal); empty when the builder did not read them.
    /// </summary>
    public IReadOnlyList<Locks.InstalledPackage> Packages { get; init; } = [];

    /// <summary>
    /// Seconds since the Unix epoch: the newest <c>Date:</c> of the Release files debootstrap fetched, the
    /// base's source date (every time in its layer is clamped to it, and the image is dated with it); null
    /// when the builder did not read them.
    /// </summary>
    public long? SourceDateEpoch { get; init; }
}
