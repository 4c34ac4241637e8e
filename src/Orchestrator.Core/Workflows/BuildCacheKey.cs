using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
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

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            json.WriteStartObject();
            json.WriteNumber("recipe", RecipeVersion);
            var buildBase = pipeline.Python is null ? null : ImageReference.Create(
                PlaceholderRegistry, "build-base", digest: buildBaseDigest ?? throw new ArgumentException("a Python pipeline's key needs its build base digest", nameof(buildBaseDigest)));
            var dockerfile = BuildContext.CreateDockerfile(pipeline, ImageReference.Create(PlaceholderRegistry, "base", digest: baseDigest), buildBase);
            json.WriteString("dockerfile", Sha256Hex(Encoding.UTF8.GetBytes(dockerfile)));
            json.WriteString("name", pipeline.Name);
            json.WriteString("version", pipeline.Version);
            json.WriteString("repository", pipeline.Repository);
            json.WriteString("base", pipeline.Base.ToString());
            json.WriteString("baseDigest", baseDigest.ToString());

            json.WriteStartArray("packages");
            foreach (var package in pipeline.AptPackages)
            {
                json.WriteStartArray();
                json.WriteStringValue(package.Name);
                json.WriteStringValue(package.Version);
                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WritePairs("env", pipeline.Env);
            json.WriteNullable("user", pipeline.User);
            json.WriteNullable("workdir", pipeline.WorkingDirectory);
            json.WriteList("entrypoint", pipeline.Entrypoint);
            json.WriteList("cmd", pipeline.Cmd);
            json.WritePairs("labels", pipeline.Labels);
            json.WriteList("tags", pipeline.Tags);

            json.WriteStartArray("files");
            foreach (var file in pipeline.Files)
            {
                json.WriteStartObject();
                json.WriteString("destination", file.Destination);
                json.WriteNumber("mode", BuildContext.EffectiveMode(file));
                json.WriteString("sha256", Sha256Hex(File.ReadAllBytes(file.Source)));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteNullable("lock", lockBytesOrChecksum);
            json.WritePairs("buildArgs", Sorted(buildArgs));
            json.WritePairs("engineLabels", Sorted(engineLabels));
            if (pipeline.Python is { } python)
            {
                // Only Python pipelines carry the key, so every other pipeline's key stays what it was.
                json.WriteString("buildBaseDigest", buildBaseDigest!.ToString());
                PythonBuildContext.WriteInputs(json, python);
            }

            json.WriteEndObject();
        }

        var prefix = Encoding.UTF8.GetBytes($"orchestrator-build-cache/v{RecipeVersion}\n");
        return Digest.Sha256Of([.. prefix, .. buffer.ToArray()]);
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

    private static string Sha256Hex(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));
}
