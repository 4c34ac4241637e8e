using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Dashboard.Tests.Infrastructure;

/// <summary>
/// Pushes small hand-made images straight through the OCI distribution API (plain HTTP, not the product's client):
/// blobs by monolithic upload, manifests by PUT, an SPDX SBOM as a referrer listed under the fallback tag
/// <c>sha256-HEX</c> (the registries here have no referrers API), and a cosign-shaped <c>sha256-HEX.sig</c> manifest.
/// </summary>
internal sealed class OciPusher(string registry, string repository) : IDisposable
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string Spdx = "application/spdx+json";
    private const string EmptyConfig = "application/vnd.oci.empty.v1+json";

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>A pushed image: its manifest digest and size, and its compressed size (layers plus config) as the product counts it.</summary>
    public sealed record Pushed(string Digest, long ManifestSize, long TotalBytes);

    public static string DigestOf(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public void Dispose() => _http.Dispose();

    /// <summary>An image: a config with <paramref name="labels"/>, layers of random bytes of the given sizes, under <paramref name="tag"/>.</summary>
    public async Task<Pushed> PushImageAsync(string tag, IReadOnlyDictionary<string, string> labels, int[] layerSizes)
    {
        var layers = new List<(string Digest, long Size)>();
        foreach (var size in layerSizes)
        {
            var content = RandomNumberGenerator.GetBytes(size);
            await PushBlobAsync(content);
            layers.Add((DigestOf(content), size));
        }

        var labelJson = string.Join(",", labels.Select(l => $"{Json(l.Key)}:{Json(l.Value)}"));
        var config = Encoding.UTF8.GetBytes(
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Labels\":{" + labelJson + "}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
            + string.Join(",", layers.Select(l => Json(l.Digest))) + "]}}");
        await PushBlobAsync(config);
        var manifest = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{DigestOf(config)}\",\"size\":{config.Length}}},\"layers\":["
            + string.Join(",", layers.Select(l => $"{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{l.Digest}\",\"size\":{l.Size}}}")) + "]}");
        await PutManifestAsync(tag, manifest, OciManifest);
        return new Pushed(DigestOf(manifest), manifest.Length, layers.Sum(l => l.Size) + config.Length);
    }

    /// <summary>An SPDX 2.3 document listing <paramref name="purls"/>, attached to <paramref name="subject"/> as a referrer.</summary>
    public async Task AttachSbomAsync(Pushed subject, IEnumerable<(string Name, string Version, string Purl)> purls)
    {
        var packages = purls.Select((p, i) =>
            $"{{\"SPDXID\":\"SPDXRef-p{i}\",\"name\":{Json(p.Name)},\"versionInfo\":{Json(p.Version)},\"downloadLocation\":\"NOASSERTION\",\"filesAnalyzed\":false," +
            $"\"externalRefs\":[{{\"referenceCategory\":\"PACKAGE-MANAGER\",\"referenceType\":\"purl\",\"referenceLocator\":{Json(p.Purl)}}}]}}");
        var document = Encoding.UTF8.GetBytes(
            $"{{\"spdxVersion\":\"SPDX-2.3\",\"dataLicense\":\"CC0-1.0\",\"SPDXID\":\"SPDXRef-DOCUMENT\",\"name\":\"{repository}@{subject.Digest}\",\"packages\":[{string.Join(",", packages)}]}}");
        await PushBlobAsync(document);
        await PushBlobAsync("{}"u8.ToArray());
        var manifest = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"artifactType\":\"{Spdx}\",\"config\":{{\"mediaType\":\"{EmptyConfig}\",\"digest\":\"{DigestOf("{}"u8.ToArray())}\",\"size\":2}}," +
            $"\"layers\":[{{\"mediaType\":\"{Spdx}\",\"digest\":\"{DigestOf(document)}\",\"size\":{document.Length}}}]," +
            $"\"subject\":{{\"mediaType\":\"{OciManifest}\",\"digest\":\"{subject.Digest}\",\"size\":{subject.ManifestSize}}}}}");
        var digest = DigestOf(manifest);
        await PutManifestAsync(digest, manifest, OciManifest);
        var index = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciIndex}\",\"manifests\":[{{\"mediaType\":\"{OciManifest}\",\"digest\":\"{digest}\",\"size\":{manifest.Length},\"artifactType\":\"{Spdx}\"}}]}}");
        await PutManifestAsync(subject.Digest.Replace(':', '-'), index, OciIndex);
    }

    /// <summary>A manifest under cosign's <c>sha256-HEX.sig</c> tag for <paramref name="subject"/> (its layer is not a real signature).</summary>
    public async Task TagSignatureAsync(Pushed subject)
    {
        var payload = Encoding.UTF8.GetBytes($"{{\"critical\":{{\"image\":{{\"docker-manifest-digest\":\"{subject.Digest}\"}}}}}}");
        await PushBlobAsync(payload);
        await PushBlobAsync("{}"u8.ToArray());
        var manifest = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{{\"mediaType\":\"{EmptyConfig}\",\"digest\":\"{DigestOf("{}"u8.ToArray())}\",\"size\":2}}," +
            $"\"layers\":[{{\"mediaType\":\"application/vnd.dev.cosign.simplesigning.v1+json\",\"digest\":\"{DigestOf(payload)}\",\"size\":{payload.Length}}}]}}");
        await PutManifestAsync(subject.Digest.Replace(':', '-') + ".sig", manifest, OciManifest);
    }

    private async Task PushBlobAsync(byte[] content)
    {
        var start = await _http.PostAsync($"http://{registry}/v2/{repository}/blobs/uploads/", null);
        Assert.True(start.StatusCode == HttpStatusCode.Accepted, $"starting an upload to {registry}/{repository}: {(int)start.StatusCode}");
        var location = start.Headers.Location!;
        var url = location.IsAbsoluteUri ? location.ToString() : $"http://{registry}{location}";
        using var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var put = await _http.PutAsync($"{url}{(url.Contains('?', StringComparison.Ordinal) ? '&' : '?')}digest={DigestOf(content)}", body);
        Assert.True(put.StatusCode == HttpStatusCode.Created, $"uploading a blob to {registry}/{repository}: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
    }

    private async Task PutManifestAsync(string reference, byte[] content, string mediaType)
    {
        using var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        var put = await _http.PutAsync($"http://{registry}/v2/{repository}/manifests/{reference}", body);
        Assert.True(put.StatusCode == HttpStatusCode.Created, $"putting manifest {reference} to {registry}/{repository}: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
    }

    private static string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value);
}
