using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Orchestrator.Daemon.Dashboard;

/// <summary>
/// The dashboard: static pages embedded in this assembly (<c>Dashboard/wwwroot</c>, no file on disk, no CDN, no build
/// step) served at <c>/</c> (the page) and <c>/assets/NAME</c> (its scripts and style). The pages hold no data; they
/// call the JSON API with the token the user typed in (see README "Dashboard"), so they are served without a token.
/// Each file carries a strong ETag (SHA-256 of its bytes) and <c>Cache-Control: no-cache</c>: a browser revalidates,
/// and gets a 304 while the daemon binary is unchanged.
/// </summary>
internal static class DashboardEndpoints
{
    private const string ResourcePrefix = "dashboard/";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".txt"] = "text/plain; charset=utf-8",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly Lazy<FrozenDictionary<string, Asset>> Assets = new(Load);

    /// <summary>The embedded files by name (<c>index.html</c>, <c>app.js</c>, …).</summary>
    internal static IReadOnlyDictionary<string, Asset> Files => Assets.Value;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext context) => Serve(context, "index.html"));
        app.MapGet("/index.html", (HttpContext context) => Serve(context, "index.html"));
        app.MapGet("/assets/{name}", (string name, HttpContext context) => Serve(context, name));
    }

    private static IResult Serve(HttpContext context, string name)
    {
        if (!Assets.Value.TryGetValue(name, out var asset))
        {
            return Api.ApiJson.Error(StatusCodes.Status404NotFound, $"no dashboard file '{(name.Length <= 64 ? name : name[..64] + "…")}'; open / for the dashboard");
        }

        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers.ETag = asset.ETag;
        if (context.Request.Headers.IfNoneMatch.ToString() == asset.ETag)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(asset.Content, asset.ContentType);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        var result = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            var name = resource[ResourcePrefix.Length..];
            var type = ContentTypes.GetValueOrDefault(Path.GetExtension(name), "application/octet-stream");
            result[name] = new Asset(content, type, new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..32]}\"").ToString());
        }

        return result.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>One embedded file: its bytes, media type and strong ETag.</summary>
    internal sealed record Asset(byte[] Content, string ContentType, string ETag);
}
