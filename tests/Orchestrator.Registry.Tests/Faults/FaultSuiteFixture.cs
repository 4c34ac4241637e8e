using System.Net;
using System.Text.Json;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Registry.Tests.Faults;

/// <summary>
/// What every try of the fault suite shares: two registries of our own (a source standing for staging, a target
/// standing for production; killable, with throwaway data), a <see cref="FaultProxy"/> in front of each, and one
/// synthetic 200 MB image (four random layers) pushed once to the source. Each try gets a fresh repository in both
/// registries (the source's blobs mounted in, so no byte is pushed twice), so nothing is present in the target.
/// </summary>
public sealed class FaultSuiteFixture : IAsyncLifetime
{
    /// <summary>The image's layers, in bytes: 200 MB in all, the largest first.</summary>
    public static readonly int[] LayerSizes = [80_000_000, 60_000_000, 40_000_000, 20_000_000];

    /// <summary>The one tag every try promotes under.</summary>
    public const string Tag = "1.0.0";

    private static readonly HttpClient Witness = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly RegistryClientFactory _factory = new();
    private string _repository = null!;

    internal RegistryInstance Source { get; private set; } = null!;

    internal RegistryInstance Target { get; private set; } = null!;

    internal FaultProxy SourceProxy { get; private set; } = null!;

    internal FaultProxy TargetProxy { get; private set; } = null!;

    internal PushedImage Image { get; private set; } = null!;

    /// <summary>Every blob of the image (config and layers) with its size in bytes.</summary>
    internal IReadOnlyDictionary<Digest, long> BlobSizes { get; private set; } = null!;

    /// <summary>The largest layer (80 MB): the blob faults of the download side aim at.</summary>
    internal Digest LargestLayer => Image.Blobs[1];

    public async Task InitializeAsync()
    {
        Source = await RegistryInstance.StartAsync("source");
        Target = await RegistryInstance.StartAsync("target");
        SourceProxy = await FaultProxy.StartAsync(Source.Endpoint);
        TargetProxy = await FaultProxy.StartAsync(Target.Endpoint);
        _repository = $"faults/base-{Guid.NewGuid().ToString("N")[..8]}";
        var source = _factory.Create(Source.Endpoint);
        Image = await SyntheticImages.PushImageAsync(source, _repository, LayerSizes);
        var sizes = new Dictionary<Digest, long>();
        foreach (var blob in Image.Blobs)
        {
            sizes[blob] = await source.HeadBlobAsync(_repository, blob) ?? throw new InvalidOperationException($"the source lost {blob} right after the push");
        }

        BlobSizes = sizes;
    }

    /// <summary>A fresh repository name holding the image in the source (by digest and under no tag), and nothing in the target.</summary>
    internal async Task<string> StageAsync(string tryName)
    {
        var slug = new string(tryName.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
        while (slug.Contains("--", StringComparison.Ordinal))
        {
            slug = slug.Replace("--", "-", StringComparison.Ordinal);
        }

        var repository = $"faults/{slug}-{Guid.NewGuid().ToString("N")[..6]}";
        var source = _factory.Create(Source.Endpoint);
        foreach (var blob in Image.Blobs)
        {
            Assert.True(await source.MountBlobAsync(repository, blob, _repository), $"the source registry did not mount {blob}");
        }

        await source.PutManifestAsync(repository, Image.Digest.ToString(), Image.Manifest, Image.MediaType);
        return repository;
    }

    /// <summary>The blobs of the image the target holds in <paramref name="repository"/>, asked of the registry itself (no proxy, not our client).</summary>
    internal async Task<IReadOnlyList<Digest>> BlobsInTargetAsync(string repository)
    {
        var present = new List<Digest>();
        foreach (var blob in Image.Blobs)
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, new Uri($"http://127.0.0.1:{Target.Port}/v2/{repository}/blobs/{blob}"));
            using var response = await Witness.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                present.Add(blob);
            }
        }

        return present;
    }

    /// <summary>Whether the target holds the image's manifest (by digest) in <paramref name="repository"/>, asked of the registry itself.</summary>
    internal async Task<bool> ManifestInTargetAsync(string repository)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, new Uri($"http://127.0.0.1:{Target.Port}/v2/{repository}/manifests/{Image.Digest}"));
        request.Headers.Accept.ParseAdd(Image.MediaType);
        using var response = await Witness.SendAsync(request);
        return response.StatusCode == HttpStatusCode.OK;
    }

    /// <summary>The tags of <paramref name="repository"/> in the target, asked of the registry itself (an unknown repository has none).</summary>
    internal async Task<IReadOnlyList<string>> TagsInTargetAsync(string repository)
    {
        using var response = await Witness.GetAsync(new Uri($"http://127.0.0.1:{Target.Port}/v2/{repository}/tags/list"));
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return [];
        }

        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.TryGetProperty("tags", out var tags) && tags.ValueKind == JsonValueKind.Array
            ? tags.EnumerateArray().Select(t => t.GetString()!).ToList()
            : [];
    }

    public async Task DisposeAsync()
    {
        await SourceProxy.DisposeAsync();
        await TargetProxy.DisposeAsync();
        await Source.DisposeAsync();
        await Target.DisposeAsync();
        _factory.Dispose();
    }
}
