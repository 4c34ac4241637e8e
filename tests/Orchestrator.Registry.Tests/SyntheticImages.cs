using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Registry.Tests;

/// <summary>A synthetic image pushed to a registry: its manifest, and every blob it references.</summary>
internal sealed record PushedImage(Digest Digest, string MediaType, byte[] Manifest, IReadOnlyList<Digest> Blobs);

/// <summary>Builds and pushes synthetic images (random layers, a config, a manifest) through the client under test.</summary>
internal static class SyntheticImages
{
    public static readonly RegistryEndpoint Staging = new("127.0.0.1:5001", PlainHttp: true);
    public static readonly RegistryEndpoint Production = new("127.0.0.1:5002", PlainHttp: true);

    public static string UniqueRepository() => $"it/registry-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Pushes an image manifest with random layers of <paramref name="layerSizes"/> bytes.</summary>
    public static async Task<PushedImage> PushImageAsync(IRegistryClient client, string repository, int[] layerSizes, bool docker = false, string architecture = "amd64", string? tag = null)
    {
        var manifestType = docker ? MediaTypes.DockerManifest : MediaTypes.OciManifest;

        var layers = new List<(Digest Digest, long Size)>();
        foreach (var size in layerSizes)
        {
            var bytes = RandomNumberGenerator.GetBytes(size);
            var digest = Digest.Sha256Of(bytes);
            await client.UploadBlobAsync(repository, digest, bytes.Length, new MemoryStream(bytes));
            layers.Add((digest, bytes.Length));
        }

        var config = SyntheticManifest.Config(architecture, layers.Select(l => l.Digest));
        var configDigest = Digest.Sha256Of(config);
        await client.UploadBlobAsync(repository, configDigest, config.Length, new MemoryStream(config));

        var manifest = SyntheticManifest.Manifest(docker, configDigest, config.Length, layers);
        var manifestDigest = Digest.Sha256Of(manifest);
        var confirmed = await client.PutManifestAsync(repository, tag ?? manifestDigest.ToString(), manifest, manifestType);
        Assert.Equal(manifestDigest, confirmed);
        return new PushedImage(manifestDigest, manifestType, manifest, [configDigest, .. layers.Select(l => l.Digest)]);
    }

    /// <summary>Pushes an OCI index over already pushed images.</summary>
    public static async Task<PushedImage> PushIndexAsync(IRegistryClient client, string repository, params (PushedImage Image, string Architecture)[] children)
    {
        var index = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            schemaVersion = 2,
            mediaType = MediaTypes.OciIndex,
            manifests = children.Select(c => new
            {
                mediaType = c.Image.MediaType,
                digest = c.Image.Digest.ToString(),
                size = c.Image.Manifest.Length,
                platform = new { architecture = c.Architecture, os = "linux" },
            }).ToArray(),
        }));
        var digest = Digest.Sha256Of(index);
        Assert.Equal(digest, await client.PutManifestAsync(repository, digest.ToString(), index, MediaTypes.OciIndex));
        return new PushedImage(digest, MediaTypes.OciIndex, index, children.SelectMany(c => c.Image.Blobs).Distinct().ToList());
    }

    /// <summary>The digest of the manifest bytes skopeo reads for <paramref name="reference"/> (an independent witness).</summary>
    public static async Task<Digest> SkopeoDigestAsync(string reference)
    {
        var start = new ProcessStartInfo("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://" + reference])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        using var output = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        await copy;
        Assert.True(process.ExitCode == 0, $"skopeo inspect {reference} failed: {await error}");
        return Digest.Sha256Of(output.ToArray());
    }
}

/// <summary>Deletes the manifests a test created, even when it fails.</summary>
internal sealed class Cleanup : IAsyncDisposable
{
    private readonly List<(IRegistryClient Client, string Repository, Digest Digest)> _manifests = [];

    public void Add(IRegistryClient client, string repository, Digest digest) => _manifests.Add((client, repository, digest));

    public void Add(IRegistryClient client, string repository, PushedImage image) => Add(client, repository, image.Digest);

    public async ValueTask DisposeAsync()
    {
        // Roots first: a registry may refuse to delete a child an index still names.
        foreach (var (client, repository, digest) in Enumerable.Reverse(_manifests))
        {
            try
            {
                await client.DeleteManifestAsync(repository, digest);
            }
            catch (Exception)
            {
                // Cleanup must not hide the test's own failure.
            }
        }
    }
}
