// Synthetic images for the benchmarks: random-content layers pushed to a registry without holding a layer in memory.
using System.Security.Cryptography;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Registry.Tests;

/// <summary>Random-content images, generated twice (hash, then upload) so no layer is ever held in memory.</summary>
internal static class Seed
{
    public sealed record Image(Digest Digest, IReadOnlyList<Digest> Blobs);

    public static async Task<Digest> BlobAsync(IRegistryClient client, string repository, int seed, long size)
    {
        Digest digest;
        using (var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            await using var stream = new PseudoRandomStream(seed, size);
            var buffer = new byte[1 << 20];
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                hasher.AppendData(buffer, 0, n);
            }

            digest = Digest.FromHash("sha256", hasher.GetHashAndReset());
        }

        await using var upload = new PseudoRandomStream(seed, size);
        await client.UploadBlobAsync(repository, digest, size, upload);
        return digest;
    }

    public static async Task<Image> ImageAsync(IRegistryClient client, string repository, (int Seed, long Size)[] layers, IReadOnlyList<(Digest Digest, long Size)> baseLayers)
    {
        var all = baseLayers.ToList();
        foreach (var (seed, size) in layers)
        {
            all.Add((await BlobAsync(client, repository, seed, size), size));
        }

        var config = SyntheticManifest.Config("amd64", all.Select(l => l.Digest));
        var configDigest = Digest.Sha256Of(config);
        await client.UploadBlobAsync(repository, configDigest, config.Length, new MemoryStream(config));
        var manifest = SyntheticManifest.Manifest(docker: false, configDigest, config.Length, all);
        var digest = await client.PutManifestAsync(repository, "seed", manifest, MediaTypes.OciManifest);
        return new Image(digest, [configDigest, .. all.Select(l => l.Digest)]);
    }
}
