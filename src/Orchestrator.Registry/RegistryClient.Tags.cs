using System.Net;
using System.Text.Json;
using Orchestrator.Core.Errors;

namespace Orchestrator.Registry;

/// <summary>
/// Tags: <c>GET /v2/&lt;name&gt;/tags/list</c> (distribution spec v1.1 "Listing Tags"), following the
/// <c>Link: &lt;…&gt;; rel="next"</c> header page after page (RFC 8288), as long as the registry sends one.
/// </summary>
internal sealed partial class RegistryClient
{
    // A registry whose Link pagination loops would otherwise keep the client reading forever.
    private const int MaxTagPages = 10_000;

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListTagsAsync(string repository, CancellationToken cancellationToken = default)
    {
        var tags = new List<string>();
        Uri? next = Url($"v2/{repository}/tags/list");
        var operation = $"GET tags of {repository}";
        for (var pages = 1; next is not null; pages++)
        {
            if (pages > MaxTagPages)
            {
                throw new RegistryException($"{BaseText}: the tag list of {repository} did not end after {MaxTagPages} pages: the registry's Link pagination loops; report it to the registry's operator");
            }

            using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, next), RegistryRequest.PullScope(repository), operation, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return tags;
            }

            await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.TryGetProperty("tags", out var array) && array.ValueKind == JsonValueKind.Array)
                {
                    tags.AddRange(array.EnumerateArray().Select(t => t.GetString()).OfType<string>());
                }
            }
            catch (JsonException ex)
            {
                throw new RegistryException($"{BaseText}: {operation} answered invalid JSON ({ex.Message}): check the registry", response.StatusCode, innerException: ex);
            }

            next = RegistryLinks.NextLink(response);
        }

        return tags;
    }
}
