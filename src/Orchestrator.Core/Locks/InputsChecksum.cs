using System.Security.Cryptography;
using Orchestrator.Core.Definitions;

using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Locks;

/// <summary>
/// The checksum of what a lock depends on: a canonical JSON of the definition's fields that shape the
/// image (name, base, apt packages as written, env, user, workdir, entrypoint, cmd, labels, and each
/// copied file's destination, mode and SHA-256), hashed with SHA-256. Built from the parsed record, not
/// the YAML bytes, so comments, quoting and whitespace do not count. <c>version</c>, tags, floating tags,
/// <c>auto</c> and the validation tests are left out: they do not change the package closure, so bumping
/// them keeps the lock fresh (they stay in <see cref="Workflows.BuildCacheKey"/>, so the image is rebuilt).
/// </summary>
/// <remarks>
/// Locks written before <c>version</c> left the checksum hold <see cref="ComputeLegacy"/>; <see cref="Matches"/>
/// accepts either form, so such a lock stays fresh until the version (or anything else) changes. After a
/// version bump it goes stale once, and the relock writes the current form.
/// </remarks>
public static class InputsChecksum
{
    /// <summary><c>sha256:</c> and 64 hex digits over the canonical form of <paramref name="pipeline"/>.</summary>
    /// <exception cref="IOException">A copied file cannot be read.</exception>
    public static string Compute(PipelineDefinition pipeline) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(CanonicalJson(pipeline, withVersion: false)));

    /// <summary>
    /// The form locks were written with before <c>version</c> left the checksum (the same JSON with
    /// <c>"version"</c> after <c>"name"</c>). Only read, never written.
    /// </summary>
    /// <exception cref="IOException">A copied file cannot be read.</exception>
    public static string ComputeLegacy(PipelineDefinition pipeline) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(CanonicalJson(pipeline, withVersion: true)));

    /// <summary>True when <paramref name="lockChecksum"/> is the pipeline's checksum now, in the current or the legacy form.</summary>
    /// <exception cref="IOException">A copied file cannot be read.</exception>
    public static bool Matches(string lockChecksum, PipelineDefinition pipeline) =>
        lockChecksum == Compute(pipeline) || lockChecksum == ComputeLegacy(pipeline);

    /// <summary>The canonical UTF-8 JSON the checksum is taken over (<see cref="CanonicalDocument"/>).</summary>
    internal static byte[] CanonicalJson(PipelineDefinition pipeline, bool withVersion = false)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        using var document = new CanonicalDocument();
        document.String("name", pipeline.Name);
        if (withVersion)
        {
            document.String("version", pipeline.Version);
        }

        document.String("base", pipeline.Base.ToString());

        // Sorted: apt resolves the same closure whatever order the packages are listed in. A package written
        // without a version is unpinned (null) even when the lock filled its version in.
        document.Packages("apt", pipeline.AptPackages
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => (p.Name, pipeline.UnpinnedPackages.Contains(p.Name, StringComparer.Ordinal) || p.Version.Length == 0 ? null : (string?)p.Version)));

        // The mode as written (null when not), unlike the cache key's effective mode: locks hashed it so.
        document.Files("files", "dest", pipeline.Files.Select(f => (f.Destination, f.Mode, f.Source)));
        document.RuntimeSettings(pipeline);
        if (pipeline.Python is { } python)
        {
            // Only Python pipelines carry the key, so older locks stay fresh.
            PythonBuildContext.WriteInputs(document, python);
        }

        return document.ToArray();
    }

}
