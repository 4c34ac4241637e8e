using System.IO.Compression;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Images;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>The outcome of <see cref="ReproducibilityWorkflow.VerifyAsync"/>.</summary>
/// <param name="Pipeline">The pipeline.</param>
/// <param name="Expected">The digest in the first stage built from the same inputs.</param>
/// <param name="Rebuilt">The digest of the rebuild (not pushed).</param>
/// <param name="Difference">The first thing that differs, or null when the digests are equal.</param>
public sealed record ReproducibilityResult(string Pipeline, ImageReference Expected, Digest Rebuilt, ImageDifference? Difference)
{
    /// <summary>True when the rebuild has the expected digest.</summary>
    public bool Reproducible => Difference is null && Expected.Digest == Rebuilt;
}

/// <summary>Where two builds of one pipeline first part.</summary>
/// <param name="Layer">The 0-based layer index, or null for the image config.</param>
/// <param name="Path">The file (layer entry name) or config key that differs.</param>
/// <param name="Detail">What differs, e.g. <c>content sha256:… vs sha256:…</c> or <c>only in the rebuild</c>.</param>
public sealed record ImageDifference(int? Layer, string Path, string Detail)
{
    public override string ToString() => Layer is { } layer ? $"layer {layer}: {Path}: {Detail}" : $"config: {Path}: {Detail}";
}

/// <summary>
/// <c>orchestrator verify-reproducible</c>: rebuilds a locked pipeline with no engine cache, without
/// pushing, and compares the result's digest with the digest the first stage holds for the same inputs
/// (building that first when there is none). When they differ, names the first differing file.
/// </summary>
public sealed partial class ReproducibilityWorkflow(
    IWorkspaceAccessor workspace,
    IRegistryClientFactory registries,
    IJobReporter reporter,
    PipelineBuildWorkflow builds,
    BuildCache cache,
    ILogger<ReproducibilityWorkflow> logger)
{
    private readonly ILogger<ReproducibilityWorkflow> _logger = logger;

    private OrchestratorConfig Config => workspace.Current.Config;

    /// <summary>Verifies that <paramref name="pipelineName"/> rebuilds to the same digest.</summary>
    /// <exception cref="InputException">No such pipeline.</exception>
    /// <exception cref="JobFailedException">The pipeline has no or a stale lock, its base is missing, or a build failed.</exception>
    public async Task<ReproducibilityResult> VerifyAsync(string pipelineName, CancellationToken cancellationToken = default)
    {
        var pipeline = workspace.Current.GetPipeline(pipelineName);
        var (locked, baseReference, cacheKey, buildBaseReference) = await builds.PrepareAsync(pipeline, buildMissingBase: false, cancellationToken).ConfigureAwait(false);
        var stage = Config.FirstStage;
        var registry = registries.Create(stage.Registry);

        var expected = (await cache.FindInFirstStageAsync(locked, cacheKey, cancellationToken).ConfigureAwait(false))?.Reference;
        if (expected is null)
        {
            reporter.Step($"no build of these inputs is in {stage.Name}: building one to compare with");
            expected = (await builds.BuildAsync(pipeline.Name, noCache: true, cancellationToken: cancellationToken).ConfigureAwait(false)).Reference;
        }

        reporter.Step($"rebuilding {pipeline.Name} without cache to compare with {expected.Digest!.ToShortString()}");
        var scratch = builds.ScratchFolder(locked);
        try
        {
            var rebuilt = await builds.BuildImageAsync(locked, baseReference, noCache: true, scratch, buildBaseReference, cancellationToken).ConfigureAwait(false);
            if (rebuilt.Digest == expected.Digest)
            {
                LogReproducible(pipeline.Name, rebuilt.Digest);
                return new ReproducibilityResult(pipeline.Name, expected, rebuilt.Digest, null);
            }

            var difference = await FirstDifferenceAsync(registry, expected, rebuilt, scratch, cancellationToken).ConfigureAwait(false);
            LogNotReproducible(pipeline.Name, expected.Digest, rebuilt.Digest, difference.ToString());
            return new ReproducibilityResult(pipeline.Name, expected, rebuilt.Digest, difference);
        }
        finally
        {
            PipelineBuildWorkflow.TryDelete(scratch);
        }
    }

    /// <summary>The first layer (bottom first) whose entries differ, and in it the first entry by name; else the config key.</summary>
    internal static async Task<ImageDifference> FirstDifferenceAsync(IRegistryClient registry, ImageReference expected, OciImage rebuilt, string scratch, CancellationToken cancellationToken)
    {
        var manifest = await registry.GetManifestAsync(expected.Repository, expected.Digest!.ToString(), cancellationToken).ConfigureAwait(false);
        var (config, layers) = OciImage.ReadManifest(manifest.Content.Span);
        if (layers.Count != rebuilt.Layers.Count)
        {
            return new ImageDifference(null, "rootfs.diff_ids", $"{layers.Count} layers vs {rebuilt.Layers.Count} in the rebuild");
        }

        for (var i = 0; i < layers.Count; i++)
        {
            if (layers[i].Digest == rebuilt.Layers[i].Descriptor.Digest)
            {
                continue;
            }

            var theirs = rebuilt.Layers[i].Files ?? [];
            await using var blob = await registry.OpenBlobAsync(expected.Repository, layers[i].Digest, cancellationToken).ConfigureAwait(false);
            await using var gzip = new GZipStream(blob, CompressionMode.Decompress);
            var mine = await LayerNormalizer.NormalizeAsync(
                gzip, Stream.Null, new LayerNormalizationOptions { SourceDateEpoch = long.MaxValue, ScratchDirectory = scratch }, cancellationToken).ConfigureAwait(false);
            return CompareEntries(i, mine, theirs)
                ?? new ImageDifference(i, "(layer)", $"same entries, other bytes: {layers[i].Digest.ToShortString()} vs {rebuilt.Layers[i].Descriptor.Digest.ToShortString()} (compression)");
        }

        await using var configBlob = await registry.OpenBlobAsync(expected.Repository, config.Digest, cancellationToken).ConfigureAwait(false);
        using var expectedConfig = await JsonDocument.ParseAsync(configBlob, cancellationToken: cancellationToken).ConfigureAwait(false);
        using var rebuiltConfig = JsonDocument.Parse(rebuilt.ConfigJson);
        return CompareJson(expectedConfig.RootElement, rebuiltConfig.RootElement, string.Empty)
            ?? new ImageDifference(null, "(manifest)", "same config and layers, other manifest bytes");
    }

    /// <summary>The first entry, in name order, that one side lacks or that differs; null when the lists are equal.</summary>
    internal static ImageDifference? CompareEntries(int layer, IReadOnlyList<LayerFile> expected, IReadOnlyList<LayerFile> rebuilt)
    {
        var theirs = rebuilt.ToDictionary(f => f.Name, StringComparer.Ordinal);
        var names = expected.Select(f => f.Name).Union(rebuilt.Select(f => f.Name)).Order(StringComparer.Ordinal);
        var mine = expected.ToDictionary(f => f.Name, StringComparer.Ordinal);
        foreach (var name in names)
        {
            var inExpected = mine.TryGetValue(name, out var a);
            var inRebuilt = theirs.TryGetValue(name, out var b);
            if (!inExpected)
            {
                return new ImageDifference(layer, name, "only in the rebuild");
            }

            if (!inRebuilt)
            {
                return new ImageDifference(layer, name, "only in the image in the registry");
            }

            if (a!.DescribeDifference(b!) is { } detail)
            {
                return new ImageDifference(layer, name, detail);
            }
        }

        return null;
    }

    private static ImageDifference? CompareJson(JsonElement expected, JsonElement rebuilt, string path)
    {
        if (expected.ValueKind != rebuilt.ValueKind)
        {
            return new ImageDifference(null, path, $"{expected.ValueKind} vs {rebuilt.ValueKind}");
        }

        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var keys = expected.EnumerateObject().Select(p => p.Name).Union(rebuilt.EnumerateObject().Select(p => p.Name)).Order(StringComparer.Ordinal);
                foreach (var key in keys)
                {
                    var child = path.Length == 0 ? key : $"{path}.{key}";
                    if (!expected.TryGetProperty(key, out var a))
                    {
                        return new ImageDifference(null, child, "only in the rebuild");
                    }

                    if (!rebuilt.TryGetProperty(key, out var b))
                    {
                        return new ImageDifference(null, child, "only in the image in the registry");
                    }

                    if (CompareJson(a, b, child) is { } difference)
                    {
                        return difference;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var left = expected.EnumerateArray().ToList();
                var right = rebuilt.EnumerateArray().ToList();
                for (var i = 0; i < Math.Max(left.Count, right.Count); i++)
                {
                    if (i >= left.Count || i >= right.Count)
                    {
                        return new ImageDifference(null, $"{path}[{i}]", $"{left.Count} vs {right.Count} items");
                    }

                    if (CompareJson(left[i], right[i], $"{path}[{i}]") is { } difference)
                    {
                        return difference;
                    }
                }

                return null;
            default:
                return expected.GetRawText() == rebuilt.GetRawText() ? null : new ImageDifference(null, path, $"{expected.GetRawText()} vs {rebuilt.GetRawText()}");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline {Pipeline} rebuilt to the same digest {Digest}")]
    private partial void LogReproducible(string pipeline, Digest digest);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pipeline {Pipeline} is not reproducible: {Expected} in the registry, {Rebuilt} rebuilt; first difference: {Difference}")]
    private partial void LogNotReproducible(string pipeline, Digest expected, Digest rebuilt, string difference);
}
