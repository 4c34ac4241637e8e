using System.Text;
using System.Text.Json;
using Orchestrator.Core.References;

namespace Orchestrator.Registry.Tests;

/// <summary>
/// The JSON of a synthetic image: a config naming its layers (with a nonce, so every image differs) and a
/// schema 2 manifest over config and layers. Shared by the tests and bench/Orchestrator.Bench (linked there).
/// </summary>
internal static class SyntheticManifest
{
    public static byte[] Config(string architecture, IEnumerable<Digest> layers) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
    {
        architecture,
        os = "linux",
        rootfs = new { type = "layers", diff_ids = layers.Select(l => l.ToString()).ToArray() },
        config = new { Env = new[] { "NONCE=" + Guid.NewGuid() } },
    }));

    public static byte[] Manifest(bool docker, Digest config, long configSize, IEnumerable<(Digest Digest, long Size)> layers) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
    {
        schemaVersion = 2,
        mediaType = docker ? MediaTypes.DockerManifest : MediaTypes.OciManifest,
        config = new { mediaType = docker ? MediaTypes.DockerConfig : MediaTypes.OciConfig, digest = config.ToString(), size = configSize },
        layers = layers.Select(l => new { mediaType = docker ? MediaTypes.DockerLayerGzip : MediaTypes.OciLayerGzip, digest = l.Digest.ToString(), size = l.Size }).ToArray(),
    }));
}
