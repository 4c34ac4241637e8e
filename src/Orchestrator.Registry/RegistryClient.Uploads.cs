using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;

namespace Orchestrator.Registry;

/// <summary>
/// Uploads: <c>/v2/&lt;name&gt;/blobs/uploads/</c> (distribution spec v1.1 "Pushing blobs": "Pushing a blob
/// monolithically" as <c>POST</c> then one streamed <c>PUT ?digest=</c>, "Pushing a blob in chunks" as
/// <c>PATCH</c>es with <c>Content-Range</c>, and "Mounting a blob from another repository" as
/// <c>POST ?mount=&amp;from=</c>). The streamed requests are one-shot: their bodies cannot be replayed, so
/// the copy engine retries the whole blob. A session that fails is cancelled (<c>DELETE</c> of its location)
/// rather than left to hold storage until the registry purges it.
/// </summary>
internal sealed partial class RegistryClient
{
    /// <inheritdoc />
    public async Task UploadBlobAsync(string repository, Digest digest, long size, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var what = $"blob {digest} for {Endpoint.Host}/{repository}";
        var location = await StartUploadAsync(repository, cancellationToken).ConfigureAwait(false);
        try
        {
            if (size <= _options.MonolithicUploadLimit)
            {
                await CompleteUploadAsync(repository, digest, location, new BoundedReadStream(content, size, what), size, cancellationToken).ConfigureAwait(false);
                return;
            }

            long offset = 0;
            while (offset < size)
            {
                var length = Math.Min(_options.ChunkSize, size - offset);
                location = await PatchChunkAsync(repository, digest, location, new BoundedReadStream(content, length, what), offset, length, cancellationToken).ConfigureAwait(false);
                offset += length;
            }

            await CompleteUploadAsync(repository, digest, location, body: null, 0, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await CancelUploadAsync(repository, location).ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<bool> MountBlobAsync(string repository, Digest digest, string fromRepository, CancellationToken cancellationToken = default)
    {
        var operation = $"mount blob {digest} from {fromRepository} into {repository}";
        var uri = Url($"v2/{repository}/blobs/uploads/?mount={Uri.EscapeDataString(digest.ToString())}&from={Uri.EscapeDataString(fromRepository)}");
        var scope = $"{RegistryRequest.PushScope(repository)} {RegistryRequest.PullScope(fromRepository)}";
        using var response = await SendAsync(EmptyPost(uri), scope, operation, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Created)
        {
            return true;
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        if (response.Headers.Location is not null)
        {
            // The registry opened an ordinary upload instead; leaving it open would leak a session until the registry purges it.
            await CancelUploadAsync(repository, RegistryLinks.Resolve(response, response.Headers.Location, Endpoint.BaseUri)).ConfigureAwait(false);
        }

        return false;
    }

    private async Task<Uri> StartUploadAsync(string repository, CancellationToken cancellationToken)
    {
        var operation = $"start blob upload to {repository}";
        using var response = await SendAsync(EmptyPost(Url($"v2/{repository}/blobs/uploads/")), RegistryRequest.PushScope(repository), operation, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        return RequireLocation(response, operation);
    }

    private async Task<Uri> PatchChunkAsync(string repository, Digest digest, Uri location, Stream chunk, long offset, long length, CancellationToken cancellationToken)
    {
        var operation = $"upload bytes {offset}-{offset + length - 1} of blob {digest} to {repository}";
        var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new StreamContent(chunk) };
        request.Content.Headers.ContentLength = length;
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        // The distribution spec's Content-Range is "<start>-<end>" (inclusive), not RFC 9110's "bytes a-b/n".
        request.Content.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{offset + length - 1}");
        using var response = await SendAsync(request, RegistryRequest.PushScope(repository), operation, cancellationToken, oneShot: true).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        return RequireLocation(response, operation);
    }

    private async Task CompleteUploadAsync(string repository, Digest digest, Uri location, Stream? body, long size, CancellationToken cancellationToken)
    {
        var operation = $"commit blob {digest} to {repository}";
        HttpContent content = body is null ? new ByteArrayContent([]) : new StreamContent(body);
        content.Headers.ContentLength = size;
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var request = new HttpRequestMessage(HttpMethod.Put, RegistryLinks.WithQuery(location, "digest", digest.ToString())) { Content = content };
        using var response = await SendAsync(request, RegistryRequest.PushScope(repository), operation, cancellationToken, oneShot: body is not null).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        if (TryGetDigestHeader(response, out var committed) && committed != digest)
        {
            throw new DigestMismatchException(
                $"{BaseText} committed blob {digest} to {repository} as {committed}: the registry received other bytes; delete that blob and copy again");
        }
    }

    private async Task CancelUploadAsync(string repository, Uri location)
    {
        try
        {
            // Best effort and deliberately not cancellable by the caller: the caller's token may be what ended the upload.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), _timeProvider);
            var request = new HttpRequestMessage(HttpMethod.Delete, location).With(RegistryRequest.PushScope(repository), oneShot: true, bufferResponse: true);
            using (request)
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or TimeoutException or OrchestratorException)
        {
            LogUploadCancelFailed(_logger, location.GetLeftPart(UriPartial.Path), ex.Message);
        }
    }

    private Uri RequireLocation(HttpResponseMessage response, string operation) =>
        response.Headers.Location is { } location
            ? RegistryLinks.Resolve(response, location, Endpoint.BaseUri)
            : throw new RegistryException($"{BaseText} answered {operation} without a Location header: the registry does not follow the distribution spec's upload protocol", response.StatusCode);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not cancel the upload session {Location}: {Reason}")]
    private static partial void LogUploadCancelFailed(ILogger logger, string location, string reason);
}
