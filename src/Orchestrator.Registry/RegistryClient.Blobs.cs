using System.Net;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;

namespace Orchestrator.Registry;

/// <summary>
/// Blobs: <c>/v2/&lt;name&gt;/blobs/&lt;digest&gt;</c> (distribution spec v1.1 "Checking if content exists",
/// "Pulling blobs"). A blob is read whole, as a stream the caller verifies while reading (ranges are not used:
/// a failed blob is copied again from its start, and the registry keeps no partial state to resume).
/// Redirects to storage (S3, GCS) are followed by the socket handler, which drops the Authorization header.
/// </summary>
internal sealed partial class RegistryClient
{
    /// <inheritdoc />
    public async Task<long?> HeadBlobAsync(string repository, Digest digest, CancellationToken cancellationToken = default)
    {
        var operation = $"HEAD blob {repository}@{digest}";
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Head, Url($"v2/{repository}/blobs/{digest}")), RegistryRequest.PullScope(repository), operation, cancellationToken, buffer: false).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        return response.Content.Headers.ContentLength
            ?? throw new RegistryException($"{BaseText}: {operation} answered without a Content-Length: the registry does not follow the distribution spec; check its version", response.StatusCode);
    }

    /// <inheritdoc />
    public async Task<Stream> OpenBlobAsync(string repository, Digest digest, CancellationToken cancellationToken = default)
    {
        var operation = $"GET blob {repository}@{digest}";
        var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, Url($"v2/{repository}/blobs/{digest}")), RegistryRequest.PullScope(repository), operation, cancellationToken, buffer: false).ConfigureAwait(false);
        try
        {
            await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new ResponseStream(response, stream);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
