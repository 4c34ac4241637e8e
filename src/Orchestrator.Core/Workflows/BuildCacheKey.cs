using System.Security.Cryptography;
using System.Text;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// The content-addressed build cache key of a pipeline image: <c>sha256:…</c> over a canonical,
/// versioned serialization of every input that can change the image. Two builds with the same key
/// would build the same image, so a digest recorded under the key may be reused instead of rebuilt.
/// </summary>
/// <remarks>
/// Inputs, and why each one is there:
/// <list type="bullet">
/// <item><see cref="RecipeVersion"/> and the SHA-256 of the Dockerfile <see cref="BuildContext"/> generates (with a
/// placeholder base name): a change to how Orchestrator turns a definition into an image invalidates every key,
/// even when no definition changed.</item>
/// <item>The definition's meaningful fields (name, version, repository, base variant, packages, env, user, workdir,
/// entrypoint, cmd, labels, tags, file destinations and modes), as canonical JSON: they are what the
/// image is made of. Comments, whitespace and key order of the YAML never reach the parsed definition, and the
/// validation spec does not change the image, so neither is in the key.</item>
/// <item>The base digest: a rebuilt base (a new digest under the same tag) must rebuild everything on it.</item>
/// <item>Each copied file's bytes (SHA-256 per file, in definition order) and effective mode, never its mtime: the
/// build context gives every file a fixed timestamp, so the mtime cannot reach the image.</item>
/// <item>The lock (its bytes or checksum), when the pipeline has one: it pins what apt resolves.</item>
/// <item>Build arguments, sorted by name: they reach the Dockerfile's <c>ARG</c>s.</item>
/// <item>The labels handed to the engine besides the definition's, when given: they land in the image config.</item>
/// </list>
/// </remarks>
public static class BuildCacheKey
{
    /// <summary>
    /// The version of the key's serialization and of the build recipe. Bump it when the way an image is
    /// built changes in a way the generated Dockerfile does not show (build request options, context layout).
    /// </summary>
    public const int RecipeVersion = 2;

    // Stands in for the stage's base repository in the hashed Dockerfile: the base is in the key by digest,
    // and the registry host it is pulled from does not change what is built.
    private const string PlaceholderRegistry = "base.invalid";

    /// <summary>Computes the key of building <paramref name="pipeline"/> on <paramref name="baseDigest"/>.</summary>
    /// <param name="pipeline">The definition; its copied files are read (they must exist).</param>
    /// <param name="baseDigest">The digest of the base image it is built on.</param>
    /// <param name="lockBytesOrChecksum">The pipeline's lock as text or a checksum of its bytes, or null when it has none.</param>
    /// <param name="buildArgs">Build arguments passed to the engine, or null for none.</param>
    /// <param name="engineLabels">Every label passed to the engine (including the definition's), or null for the definition's only.</param>
    /// <param name="buildBaseDigest">The digest of the Python build base, for a pipeline with a <c>python:</c> block.</param>
    /// <returns>A SHA-256 digest; the same inputs always give the same key.</returns>
    /// <exception cref="IOException">A copied file cannot be read.</exception>
    public static Digest Compute(
        PipelineDefinition pipeline,
        Digest baseDigest,
        string? lockBytesOrChecksum,
        IReadOnlyDictionary<string, string>? buildArgs,
        IReadOnlyDictionary<string, string>? engineLabels = null,
        Digest? buildBaseDigest = null)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(baseDigest);

        using var document = new CanonicalDocument();
        document.Number("recipe", RecipeVersion);
        var buildBase = pipeline.Python is null ? null : ImageReference.Create(
            PlaceholderRegistry, "build-base", digest: buildBaseDigest ?? throw new ArgumentException("a Python pipeline's key needs its build base digest", nameof(buildBaseDigest)));
        var dockerfile = BuildContext.CreateDockerfile(pipeline, ImageReference.Create(PlaceholderRegistry, "base", digest: baseDigest), buildBase);
        document.String("dockerfile", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dockerfile))));
        document.String("name", pipeline.Name);
        document.String("version", pipeline.Version);
        document.String("repository", pipeline.Repository);
        document.String("base", pipeline.Base.ToString());
        document.String("baseDigest", baseDigest.ToString());
        document.Packages("packages", pipeline.AptPackages.Select(p => (p.Name, (string?)p.Version)));
        document.RuntimeSettings(pipeline);
        document.List("tags", pipeline.Tags);

        // The effective mode (what the image gets), never the mtime: the build context fixes every timestamp.
        document.Files("files", "destination", pipeline.Files.Select(f => (f.Destination, (int?)BuildContext.EffectiveMode(f), f.Source)));
        document.Nullable("lock", lockBytesOrChecksum);
        document.Pairs("buildArgs", Sorted(buildArgs));
        document.Pairs("engineLabels", Sorted(engineLabels));
        if (pipeline.Python is { } python)
        {
            // Only Python pipelines carry the key, so every other pipeline's key stays what it was.
            document.String("buildBaseDigest", buildBaseDigest!.ToString());
            PythonBuildContext.WriteInputs(document, python);
        }

        var canonical = document.ToArray();
        var prefix = Encoding.UTF8.GetBytes($"orchestrator-build-cache/v{RecipeVersion}\n");
        return Digest.Sha256Of([.. prefix, .. canonical]);
    }

    /// <summary>
    /// The lock input for <see cref="Compute"/>: <c>sha256:…</c> of the bytes of <c>NAME.lock.yaml</c> next to the
    /// definition (NAME is the definition's file name), or null when there is no lock file.
    /// </summary>
    public static string? LockChecksum(PipelineDefinition pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var path = pipeline.LockFile;
        return File.Exists(path) ? Digest.Sha256Of(File.ReadAllBytes(path)).ToString() : null;
    }

    private static List<KeyValuePair<string, string>> Sorted(IReadOnlyDictionary<string, string>? values) =>
        values is null ? [] : [.. values.OrderBy(p => p.Key, StringComparer.Ordinal)];
}
