namespace Orchestrator.Registry;

/// <summary>
/// The URLs a registry answers with: an upload's <c>Location</c> (spec "Pushing blobs": it "MAY be relative" and
/// carries the session's state in its query) and the <c>Link: &lt;…&gt;; rel="next"</c> of a paginated list
/// (spec "Listing Tags", RFC 8288).
/// </summary>
internal static class RegistryLinks
{
    /// <summary>Resolves a Location against the URL that answered (spec: it "MAY be relative"), keeping its query (upload state).</summary>
    public static Uri Resolve(HttpResponseMessage response, Uri location, Uri baseUri) =>
        location.IsAbsoluteUri ? location : new Uri(response.RequestMessage?.RequestUri ?? baseUri, location);

    /// <summary>Adds <c>name=value</c> to the query of <paramref name="uri"/>, keeping what is there.</summary>
    public static Uri WithQuery(Uri uri, string name, string value)
    {
        var text = uri.GetComponents(UriComponents.AbsoluteUri & ~UriComponents.Fragment, UriFormat.UriEscaped);
        var separator = string.IsNullOrEmpty(uri.Query) ? "?" : "&";
        return new Uri(text + separator + name + "=" + Uri.EscapeDataString(value));
    }

    /// <summary>The <c>rel="next"</c> target of the answer's <c>Link</c> header, resolved against the request; null on the last page.</summary>
    public static Uri? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            foreach (var part in value.Split(','))
            {
                var open = part.IndexOf('<');
                var close = part.IndexOf('>');
                if (open < 0 || close < open)
                {
                    continue;
                }

                var parameters = part[close..].Replace("\"", string.Empty, StringComparison.Ordinal);
                if (parameters.Contains("rel=next", StringComparison.OrdinalIgnoreCase))
                {
                    var target = part[(open + 1)..close];
                    var requestUri = response.RequestMessage?.RequestUri;
                    return requestUri is null ? new Uri(target, UriKind.RelativeOrAbsolute) : new Uri(requestUri, target);
                }
            }
        }

        return null;
    }
}
