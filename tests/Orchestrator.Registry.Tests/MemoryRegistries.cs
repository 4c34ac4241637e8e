using System.Net;
using System.Net.Http.Headers;
using Orchestrator.Core.References;

namespace Orchestrator.Registry.Tests;

/// <summary>
/// Just enough of a distribution 2.8 registry per host: manifests, blobs, monolithic uploads; no referrers
/// API unless <see cref="ReferrersApi"/>, which answers <c>GET /v2/…/referrers/DIGEST</c> from the manifests' subjects.
/// </summary>
internal sealed class MemoryRegistries
{
    public Dictionary<(string Host, string Reference), (byte[] Content, string MediaType)> Manifests { get; } = [];

    public bool ReferrersApi { get; set; }

    public Dictionary<(string Host, string Digest), byte[]> Blobs { get; } = [];

    public HttpResponseMessage Respond(RecordedRequest request)
    {
        var host = request.Uri.Host;
        var path = request.Uri.AbsolutePath;
        var last = path[(path.LastIndexOf('/') + 1)..];
        if (ReferrersApi && path.Contains("/referrers/", StringComparison.Ordinal))
        {
            return ReferrersOf(host, last);
        }

        if (path.Contains("/manifests/", StringComparison.Ordinal))
        {
            if (request.Method == HttpMethod.Put)
            {
                var digest = Digest.Sha256Of(request.Body);
                Manifests[(host, last)] = Manifests[(host, digest.ToString())] = (request.Body, request.ContentType!);
                return WithDigest(FakeHandler.Status(HttpStatusCode.Created), digest);
            }

            if (!Manifests.TryGetValue((host, last), out var manifest))
            {
                return FakeHandler.Status(HttpStatusCode.NotFound, """{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}""");
            }

            var found = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(manifest.Content) };
            found.Content.Headers.ContentType = new MediaTypeHeaderValue(manifest.MediaType);
            return WithDigest(found, Digest.Sha256Of(manifest.Content));
        }

        if (path.Contains("/blobs/uploads/", StringComparison.Ordinal))
        {
            if (request.Method == HttpMethod.Post)
            {
                var accepted = FakeHandler.Status(HttpStatusCode.Accepted);
                accepted.Headers.Location = new Uri($"http://{host}/v2/app/blobs/uploads/u", UriKind.Absolute);
                return accepted;
            }

            var query = System.Web.HttpUtility.ParseQueryString(request.Uri.Query);
            Blobs[(host, query["digest"]!)] = request.Body;
            return FakeHandler.Status(HttpStatusCode.Created);
        }

        if (path.Contains("/blobs/", StringComparison.Ordinal))
        {
            if (!Blobs.TryGetValue((host, last), out var blob))
            {
                return FakeHandler.Status(HttpStatusCode.NotFound);
            }

            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(request.Method == HttpMethod.Head ? [] : blob) { Headers = { ContentLength = blob.Length } } };
        }

        return new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("404 page not found") };
    }

    private HttpResponseMessage ReferrersOf(string host, string subject)
    {
        var descriptors = new List<string>();
        foreach (var ((h, reference), (content, mediaType)) in Manifests)
        {
            if (h != host || !reference.StartsWith("sha256:", StringComparison.Ordinal))
            {
                continue;
            }

            using var document = System.Text.Json.JsonDocument.Parse(content);
            if (document.RootElement.TryGetProperty("subject", out var s) && s.GetProperty("digest").GetString() == subject)
            {
                var artifactType = document.RootElement.GetProperty("artifactType").GetString();
                descriptors.Add($$"""{"mediaType":"{{mediaType}}","digest":"{{reference}}","size":{{content.Length}},"artifactType":"{{artifactType}}"}""");
            }
        }

        var index = new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StringContent($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciIndex}}","manifests":[{{string.Join(",", descriptors)}}]}"""),
        };
        index.Content.Headers.ContentType = new MediaTypeHeaderValue(MediaTypes.OciIndex);
        return index;
    }

    private static HttpResponseMessage WithDigest(HttpResponseMessage response, Digest digest)
    {
        response.Headers.Add("Docker-Content-Digest", digest.ToString());
        return response;
    }
}
