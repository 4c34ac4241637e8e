using System.Net;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Packages;

/// <summary>
/// <see cref="IPackageDownloader"/> over one pooled <see cref="HttpClient"/>: the package mirror and Python indexes are
/// plain HTTP file servers, so this is GET and nothing more (no credentials are sent). Integrity is not its concern:
/// <see cref="PackageStore"/> hashes every byte it stores.
/// </summary>
public sealed class HttpPackageDownloader : IPackageDownloader, IDisposable
{
    private readonly HttpClient _client;

    /// <summary>A downloader with its own client; <paramref name="timeout"/> bounds one whole download. <value>The default is 10 minutes.</value></summary>
    public HttpPackageDownloader(TimeSpan? timeout = null)
    {
        _client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None, MaxConnectionsPerServer = PackageCache.MaxConcurrentDownloads })
        {
            Timeout = timeout ?? TimeSpan.FromMinutes(10),
        };
        _client.DefaultRequestHeaders.UserAgent.ParseAdd("orchestrator-package-cache/1");
    }

    /// <inheritdoc />
    public async Task<Stream> OpenAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        var response = await SendAsync(uri, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<string> GetStringAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(uri, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendAsync(Uri uri, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new JobFailedException($"could not fetch {uri} for the package cache: {ex.Message}; check that the mirror or index is reachable and retry", ex);
        }

        if (!response.IsSuccessStatusCode)
        {
            var status = (int)response.StatusCode;
            response.Dispose();
            throw new JobFailedException($"fetching {uri} for the package cache answered {status}; check that the mirror or index still serves it, or lock again");
        }

        return response;
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();
}
