using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// Removes what a test run left in the shared engine and registries: every manifest in the run's
/// repositories (the registries have delete enabled) and every local image under the run's prefix.
/// Uses plain HTTP and the docker CLI, not the product's own clients.
/// </summary>
internal static class Janitor
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public static async Task DeleteRepositoryAsync(string registry, string repository)
    {
        var tags = await Http.GetAsync($"http://{registry}/v2/{repository}/tags/list");
        if (tags.StatusCode != HttpStatusCode.OK)
        {
            return;
        }

        using var document = JsonDocument.Parse(await tags.Content.ReadAsStringAsync());
        if (!document.RootElement.TryGetProperty("tags", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        var digests = new HashSet<string>();
        foreach (var tag in list.EnumerateArray())
        {
            using var head = new HttpRequestMessage(HttpMethod.Head, $"http://{registry}/v2/{repository}/manifests/{tag.GetString()}");
            foreach (var mediaType in new[] { "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json" })
            {
                head.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
            }

            var response = await Http.SendAsync(head);
            if (response.Headers.TryGetValues("Docker-Content-Digest", out var values))
            {
                digests.Add(values.First());
            }

            // A referrers fallback tag (sha256-HEX) lists SBOMs that no tag names: delete them too.
            if (tag.GetString()!.StartsWith("sha256-", StringComparison.Ordinal))
            {
                using var get = new HttpRequestMessage(HttpMethod.Get, $"http://{registry}/v2/{repository}/manifests/{tag.GetString()}");
                get.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.oci.image.index.v1+json"));
                var index = await Http.SendAsync(get);
                if (index.IsSuccessStatusCode)
                {
                    using var listed = JsonDocument.Parse(await index.Content.ReadAsStringAsync());
                    if (listed.RootElement.TryGetProperty("manifests", out var manifests) && manifests.ValueKind == JsonValueKind.Array)
                    {
                        digests.UnionWith(manifests.EnumerateArray().Select(m => m.TryGetProperty("digest", out var d) ? d.GetString() : null).OfType<string>());
                    }
                }
            }
        }

        foreach (var digest in digests)
        {
            await DeleteManifestAsync(registry, repository, digest);
        }
    }

    public static async Task DeleteManifestAsync(string registry, string repository, string digest) =>
        await Http.DeleteAsync($"http://{registry}/v2/{repository}/manifests/{digest}");

    public static async Task RemoveLocalImagesAsync(string prefix)
    {
        var images = await ProcessWitness.RunAsync("docker", "images", "--no-trunc", "--format", "{{.Repository}}\t{{.ID}}");
        var ids = images.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t'))
            .Where(parts => parts.Length == 2 && parts[0].Contains($"/{prefix}/", StringComparison.Ordinal))
            .Select(parts => parts[1])
            .Distinct()
            .ToList();
        if (ids.Count > 0)
        {
            await ProcessWitness.RunAsync("docker", ["rmi", "-f", .. ids]);
        }
    }
}
