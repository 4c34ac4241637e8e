using System.Globalization;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>One layer of an image: its blob digest and compressed size as the manifest lists it.</summary>
/// <param name="Digest">The layer blob's digest.</param>
/// <param name="SizeBytes">Compressed size in bytes (the manifest descriptor's <c>size</c>).</param>
public sealed record LayerSize(Digest Digest, long SizeBytes);

/// <summary>The size of an image in a registry: what pulling it transfers, layer by layer.</summary>
/// <param name="Layers">Each layer, base first, as the manifest orders them.</param>
/// <param name="ConfigBytes">The config blob's size in bytes.</param>
public sealed record ImageSize(IReadOnlyList<LayerSize> Layers, long ConfigBytes)
{
    /// <summary>Manifest layers plus config, in bytes: what a pull of the image moves.</summary>
    public long TotalBytes => Layers.Sum(l => l.SizeBytes) + ConfigBytes;

    /// <summary>
    /// The one human size of the CLI's and the logs' text: whole bytes below 1 KiB (<c>512 B</c>), then KiB below
    /// 1 MiB (<c>3.4 KiB</c>), then MiB with one decimal (<c>28.4 MiB</c>), binary units. Never <c>0.0 MiB</c>
    /// for a small layer; machine output (--json) keeps exact byte counts instead.
    /// </summary>
    public static string Format(long bytes)
    {
        if (Math.Abs(bytes) < 1024)
        {
            return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        }

        // Decided on the rounded figure, so 1,048,575 bytes reads 1.0 MiB rather than 1024.0 KiB.
        var kib = Math.Round(bytes / 1024.0, 1);
        return Math.Abs(kib) < 1024
            ? kib.ToString("0.0", CultureInfo.InvariantCulture) + " KiB"
            : (bytes / (1024.0 * 1024.0)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";
    }
}

/// <summary>Reads image sizes from an image manifest (OCI image manifest or Docker schema 2: <c>layers[].size</c>, <c>config.size</c>).</summary>
public static class ImageSizes
{
    /// <summary>The size of <paramref name="repository"/>@<paramref name="reference"/> in <paramref name="registry"/>.</summary>
    /// <exception cref="JobFailedException">The manifest is an index or has no layers list.</exception>
    /// <exception cref="RegistryException">The registry refused the request.</exception>
    public static async Task<ImageSize> ReadAsync(IRegistryClient registry, string repository, string reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var manifest = await registry.GetManifestAsync(repository, reference, cancellationToken).ConfigureAwait(false);
        return Parse(manifest.Content.Span, $"{repository}@{reference}");
    }

    /// <summary>
    /// The size of every base variant in the first stage (its <c>REPOSITORY:VARIANT</c> tag), by base then variant name;
    /// null for a variant not built yet. <c>status</c> shows them side by side, so the cost of full over slim is visible.
    /// </summary>
    public static async Task<IReadOnlyList<(string Base, string Variant, long? Bytes)>> BaseVariantSizesAsync(
        Workspace workspace, IRegistryClientFactory registries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(registries);
        var registry = registries.Create(workspace.Config.FirstStage.Registry);
        var result = new List<(string, string, long?)>();
        foreach (var (name, definition) in workspace.Bases.OrderBy(b => b.Key, StringComparer.Ordinal))
        {
            foreach (var variant in definition.Variants.Keys.Order(StringComparer.Ordinal))
            {
                result.Add((name, variant, await TryTotalAsync(registry, definition.Repository, variant, cancellationToken).ConfigureAwait(false)));
            }
        }

        return result;
    }

    /// <summary>The total size of an image, or null when the registry does not have it or it has no layers list.</summary>
    public static async Task<long?> TryTotalAsync(IRegistryClient registry, string repository, string reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (await registry.HeadManifestAsync(repository, reference, cancellationToken).ConfigureAwait(false) is null)
        {
            return null;
        }

        try
        {
            return (await ReadAsync(registry, repository, reference, cancellationToken).ConfigureAwait(false)).TotalBytes;
        }
        catch (Exception e) when (e is JobFailedException or RegistryException or JsonException or KeyNotFoundException or FormatException)
        {
            return null;
        }
    }

    /// <summary>The sizes an image manifest lists.</summary>
    /// <exception cref="JobFailedException">It is not an image manifest with layers.</exception>
    public static ImageSize Parse(ReadOnlySpan<byte> manifest, string what)
    {
        using var document = JsonDocument.Parse(manifest.ToArray());
        var root = document.RootElement;
        if (!root.TryGetProperty("layers", out var layers) || layers.ValueKind != JsonValueKind.Array)
        {
            throw new JobFailedException($"{what} is not an image manifest with layers (an image index has no size of its own); name one platform's manifest");
        }

        var result = layers.EnumerateArray()
            .Select(l => new LayerSize(Digest.Parse(l.GetProperty("digest").GetString()!), l.GetProperty("size").GetInt64()))
            .ToList();
        var config = root.TryGetProperty("config", out var c) && c.TryGetProperty("size", out var s) ? s.GetInt64() : 0;
        return new ImageSize(result, config);
    }
}
