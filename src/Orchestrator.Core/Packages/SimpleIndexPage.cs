using System.Net;
using System.Text.RegularExpressions;

namespace Orchestrator.Core.Packages;

/// <summary>Reads a PEP 503 simple index project page: each <c>&lt;a href="URL#sha256=HEX"&gt;FILE&lt;/a&gt;</c>.</summary>
public static partial class SimpleIndexPage
{
    /// <summary>A file the page links.</summary>
    /// <param name="Uri">The file's absolute URL, without the fragment.</param>
    /// <param name="FileName">The link's text (the file name).</param>
    /// <param name="Sha256">The <c>#sha256=</c> fragment's hex, or null.</param>
    public sealed record Link(Uri Uri, string FileName, string? Sha256);

    /// <summary>The project page's URL: <c>INDEX/NAME/</c> with the PEP 503 normalized name.</summary>
    public static Uri ProjectUri(string index, string name) =>
        new(index.TrimEnd('/') + "/" + Normalize(name) + "/");

    /// <summary>PEP 503 normalization: lower case, runs of <c>-</c>, <c>_</c> and <c>.</c> as one <c>-</c>.</summary>
    public static string Normalize(string name) => Separators().Replace(name, "-").ToLowerInvariant();

    /// <summary>Every link of <paramref name="html"/>, resolved against <paramref name="page"/>.</summary>
    public static IReadOnlyList<Link> Parse(string html, Uri page)
    {
        var links = new List<Link>();
        foreach (Match match in Anchor().Matches(html))
        {
            var href = WebUtility.HtmlDecode(match.Groups["href"].Value);
            if (!Uri.TryCreate(page, href, out var uri))
            {
                continue;
            }

            string? sha256 = null;
            if (uri.Fragment.StartsWith("#sha256=", StringComparison.OrdinalIgnoreCase))
            {
                sha256 = uri.Fragment[8..].ToLowerInvariant();
            }

            var withoutFragment = new UriBuilder(uri) { Fragment = string.Empty }.Uri;
            links.Add(new Link(withoutFragment, WebUtility.HtmlDecode(match.Groups["text"].Value).Trim(), sha256));
        }

        return links;
    }

    [GeneratedRegex(@"<a\s[^>]*href\s*=\s*""(?<href>[^""]*)""[^>]*>(?<text>[^<]*)</a>", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Anchor();

    [GeneratedRegex("[-_.]+", RegexOptions.CultureInvariant)]
    private static partial Regex Separators();
}
