// Over 400 lines: sending, auth challenge, error parsing, retries, uploads and paging in one class. Issue 12
// splits it into a handler chain and one file per resource (manifests, blobs, uploads, tags, referrers).
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Orchestrator.Registry;

/// <summary>
/// The OCI distribution API (spec v1.1) of one registry over a shared, pooled <see cref="HttpClient"/>.
/// Every request goes through a Polly pipeline: retry (outermost, exponential backoff with jitter,
/// <c>Retry-After</c> honoured) on 5xx/408/429/broken connections/attempt timeouts, around a
/// per-attempt timeout; between the two, the registry's shared <see cref="RegistryRateBudget"/> (a 429
/// pauses every client of the registry, not just the one that received it). Requests with a streamed
/// body are sent once: a stream cannot be replayed, so the copy engine retries the whole blob instead.
/// </summary>
internal sealed partial class RegistryClient : IRegistryClient
{
    // Registries may refuse manifests above 4 MiB (spec "Pushing Manifests"); reading more would only waste memory.
    private const int MaxManifestBytes = 4 * 1024 * 1024;
    private const int MaxErrorBodyBytes = 64 * 1024;
    private const string DockerContentDigest = "Docker-Content-Digest";
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(2);

    private readonly HttpClient _http;
    private readonly RegistryAuthenticator _auth;
    private readonly RegistryClientOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _retrying;
    private readonly ResiliencePipeline<HttpResponseMessage> _once;
    private readonly RegistryRateBudget _budget;

    internal RegistryClient(
        RegistryEndpoint endpoint,
        HttpClient http,
        RegistryAuthenticator auth,
        RegistryClientOptions? options = null,
        TimeProvider? timeProvider = null,
        ILogger? logger = null,
        RegistryRateBudget? budget = null)
    {
        Endpoint = endpoint;
        _http = http;
        _auth = auth;
        _options = options ?? RegistryClientOptions.Default;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _budget = budget ?? new RegistryRateBudget(endpoint.BaseUri.GetLeftPart(UriPartial.Authority), _options.RequestsPerSecond, _timeProvider, _logger);
        _retrying = BuildPipeline(retry: _options.MaxRetryAttempts > 0);
        _once = BuildPipeline(retry: false);
    }

    /// <inheritdoc />
    public RegistryEndpoint Endpoint { get; }

    private string BaseText => Endpoint.BaseUri.GetLeftPart(UriPartial.Authority);

    /// <inheritdoc />
    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Url("v2/")), string.Empty, "GET /v2/", replayable: true, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.Unauthorized;
        }
        catch (UnavailableException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<Descriptor?> HeadManifestAsync(string repository, string reference, CancellationToken cancellationToken = default)
    {
        var operation = $"HEAD manifest {repository}{Separator(reference)}{reference}";
        using var response = await SendAsync(() => ManifestRequest(HttpMethod.Head, repository, reference), PullScope(repository), operation, replayable: true, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        var size = response.Content.Headers.ContentLength;
        if (TryGetDigestHeader(response, out var digest) && mediaType is not null && size is not null)
        {
            return new Descriptor(mediaType, digest, size.Value);
        }

        // Some registries omit the digest on HEAD; the bytes say it just as well.
        var manifest = await GetManifestAsync(repository, reference, cancellationToken).ConfigureAwait(false);
        return new Descriptor(manifest.MediaType, manifest.Digest, manifest.Content.Length);
    }

    /// <inheritdoc />
    public async Task<ManifestContent> GetManifestAsync(string repository, string reference, CancellationToken cancellationToken = default)
    {
        var operation = $"GET manifest {repository}{Separator(reference)}{reference}";
        using var response = await SendAsync(() => ManifestRequest(HttpMethod.Get, repository, reference), PullScope(repository), operation, replayable: true, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        var content = await ReadLimitedAsync(response, MaxManifestBytes, cancellationToken).ConfigureAwait(false)
            ?? throw new RegistryException($"{BaseText}: {operation} served more than {MaxManifestBytes} bytes; registries limit manifests to 4 MiB, so this is not a manifest: check the reference", response.StatusCode);

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (string.IsNullOrEmpty(mediaType) || mediaType is "application/json" or "text/plain" or "application/octet-stream")
        {
            mediaType = ReadMediaTypeField(content) ?? mediaType ?? "application/octet-stream";
        }

        Digest actual;
        if (Digest.TryParse(reference, out var requested, out _))
        {
            actual = DigestOf(requested.Algorithm, content);
            if (actual != requested)
            {
                throw new DigestMismatchException(
                    $"{BaseText}/{repository}@{requested} served a manifest that hashes to {actual}: the registry's storage is corrupt or a proxy altered the bytes; re-push the image");
            }
        }
        else
        {
            actual = DigestOf(TryGetDigestHeader(response, out var announced) ? announced.Algorithm : "sha256", content);
        }

        return new ManifestContent(mediaType, actual, content);
    }

    /// <inheritdoc />
    public async Task<Digest> PutManifestAsync(string repository, string reference, ReadOnlyMemory<byte> content, string mediaType, CancellationToken cancellationToken = default)
    {
        var operation = $"PUT manifest {repository}{Separator(reference)}{reference}";
        using var response = await SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Put, Url($"v2/{repository}/manifests/{reference}"))
                {
                    Content = new ReadOnlyMemoryContent(content),
                };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
                return request;
            },
            PushScope(repository), operation, replayable: true, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        return TryGetDigestHeader(response, out var digest) ? digest : Digest.Sha256Of(content.Span);
    }

    /// <inheritdoc />
    public async Task DeleteManifestAsync(string repository, Digest digest, CancellationToken cancellationToken = default)
    {
        var operation = $"DELETE manifest {repository}@{digest}";
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, Url($"v2/{repository}/manifests/{digest}")), PushScope(repository), operation, replayable: true, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return;
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<long?> HeadBlobAsync(string repository, Digest digest, CancellationToken cancellationToken = default)
    {
        var operation = $"HEAD blob {repository}@{digest}";
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, Url($"v2/{repository}/blobs/{digest}")), PullScope(repository), operation, replayable: true, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
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
        var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Url($"v2/{repository}/blobs/{digest}")), PullScope(repository), operation, replayable: true, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
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
            // An abandoned session holds storage until the registry purges it; close it now.
            await CancelUploadAsync(location).ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<bool> MountBlobAsync(string repository, Digest digest, string fromRepository, CancellationToken cancellationToken = default)
    {
        var operation = $"mount blob {digest} from {fromRepository} into {repository}";
        var uri = Url($"v2/{repository}/blobs/uploads/?mount={Uri.EscapeDataString(digest.ToString())}&from={Uri.EscapeDataString(fromRepository)}");
        using var response = await SendAsync(() => EmptyPost(uri), $"{PushScope(repository)} {PullScope(fromRepository)}", operation, replayable: true, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Created)
        {
            return true;
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        if (response.Headers.Location is not null)
        {
            // The registry opened an ordinary upload instead; leaving it open would leak a session until the registry purges it.
            await CancelUploadAsync(Resolve(response, response.Headers.Location)).ConfigureAwait(false);
        }

        return false;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListTagsAsync(string repository, CancellationToken cancellationToken = default)
    {
        var tags = new List<string>();
        Uri? next = Url($"v2/{repository}/tags/list");
        var pages = 0;
        while (next is not null)
        {
            if (++pages > 10_000)
            {
                throw new RegistryException($"{BaseText}: the tag list of {repository} did not end after 10000 pages: the registry's Link pagination loops; report it to the registry's operator");
            }

            var uri = next;
            var operation = $"GET tags of {repository}";
            using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, uri), PullScope(repository), operation, replayable: true, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
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

            next = NextLink(response);
        }

        return tags;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Referrer>?> GetReferrersAsync(string repository, Digest subject, CancellationToken cancellationToken = default)
    {
        var referrers = new List<Referrer>();
        Uri? next = Url($"v2/{repository}/referrers/{subject}");
        var pages = 0;
        while (next is not null)
        {
            if (++pages > 1_000)
            {
                throw new RegistryException($"{BaseText}: the referrers of {repository}@{subject} did not end after 1000 pages: the registry's Link pagination loops; report it to the registry's operator");
            }

            var uri = next;
            var operation = $"GET referrers of {repository}@{subject}";
            using var response = await SendAsync(
                () =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Get, uri);
                    request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaTypes.OciIndex));
                    return request;
                },
                PullScope(repository), operation, replayable: true, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);

            // A registry with the API never answers 404 (spec "Listing Referrers"); distribution 2.8 does, with a plain-text page.
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
            if (response.Content.Headers.ContentType?.MediaType != MediaTypes.OciIndex)
            {
                return null;
            }

            var body = await ReadLimitedAsync(response, MaxManifestBytes, cancellationToken).ConfigureAwait(false)
                ?? throw new RegistryException($"{BaseText}: {operation} served more than {MaxManifestBytes} bytes in one page: check the registry", response.StatusCode);
            try
            {
                referrers.AddRange(OciReferrers.ParseIndex(body, $"{BaseText}/{repository} referrers of {subject}"));
            }
            catch (JobFailedException ex)
            {
                throw new RegistryException($"{BaseText}: {operation} answered an invalid index ({ex.Message})", response.StatusCode, innerException: ex);
            }

            next = NextLink(response);
        }

        return referrers;
    }

    private async Task<Uri> StartUploadAsync(string repository, CancellationToken cancellationToken)
    {
        var operation = $"start blob upload to {repository}";
        var uri = Url($"v2/{repository}/blobs/uploads/");
        using var response = await SendAsync(() => EmptyPost(uri), PushScope(repository), operation, replayable: true, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        return RequireLocation(response, operation);
    }

    private async Task<Uri> PatchChunkAsync(string repository, Digest digest, Uri location, Stream chunk, long offset, long length, CancellationToken cancellationToken)
    {
        var operation = $"upload bytes {offset}-{offset + length - 1} of blob {digest} to {repository}";
        using var response = await SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new StreamContent(chunk) };
                request.Content.Headers.ContentLength = length;
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                // The distribution spec's Content-Range is "<start>-<end>" (inclusive), not RFC 9110's "bytes a-b/n".
                request.Content.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{offset + length - 1}");
                return request;
            },
            PushScope(repository), operation, replayable: false, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        return RequireLocation(response, operation);
    }

    private async Task CompleteUploadAsync(string repository, Digest digest, Uri location, Stream? body, long size, CancellationToken cancellationToken)
    {
        var operation = $"commit blob {digest} to {repository}";
        var uri = WithQuery(location, "digest", digest.ToString());
        using var response = await SendAsync(
            () =>
            {
                HttpContent content = body is null ? new ByteArrayContent([]) : new StreamContent(body);
                content.Headers.ContentLength = size;
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                return new HttpRequestMessage(HttpMethod.Put, uri) { Content = content };
            },
            PushScope(repository), operation, replayable: body is null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        if (TryGetDigestHeader(response, out var committed) && committed != digest)
        {
            throw new DigestMismatchException(
                $"{BaseText} committed blob {digest} to {repository} as {committed}: the registry received other bytes; delete that blob and copy again");
        }
    }

    private async Task CancelUploadAsync(Uri location)
    {
        try
        {
            // Best effort and deliberately not cancellable: the caller's token may be what ended the upload.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), _timeProvider);
            using var request = new HttpRequestMessage(HttpMethod.Delete, location);
            _auth.Authorize(request, string.Empty);
            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            LogUploadCancelFailed(_logger, location.GetLeftPart(UriPartial.Path), ex.Message);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(
        Func<HttpRequestMessage> build,
        string scope,
        string operation,
        bool replayable,
        HttpCompletionOption completion,
        CancellationToken cancellationToken)
    {
        var pipeline = replayable ? _retrying : _once;
        try
        {
            return await pipeline.ExecuteAsync(
                async token => await SendOnceAsync(build, scope, replayable, completion, token).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new UnavailableException(
                $"{BaseText} did not answer {operation} within {_options.AttemptTimeout.TotalSeconds:0.#} s{(replayable ? $" in {_options.MaxRetryAttempts + 1} attempts" : string.Empty)}: check the registry is healthy, or raise AttemptTimeout",
                ex);
        }
        catch (Exception ex) when (FindInner<OrchestratorException>(ex) is { } inner && inner != ex)
        {
            // A failure of our own (a digest check in the request body) surfaces wrapped by HttpClient.
            ExceptionDispatchInfo.Throw(inner);
            throw;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(ex, operation);
        }
    }

    private async Task<HttpResponseMessage> SendOnceAsync(Func<HttpRequestMessage> build, string scope, bool replayable, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        var request = build();
        _auth.Authorize(request, scope);
        var response = await SendDisposingAsync(request, completion, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        if (!replayable)
        {
            // The body stream is spent; the upload's POST already answered the challenge, so a 401 here is a refusal.
            return response;
        }

        try
        {
            if (!await _auth.AnswerChallengeAsync(response, scope, _http, cancellationToken).ConfigureAwait(false))
            {
                return response;
            }
        }
        catch
        {
            response.Dispose();
            throw;
        }

        response.Dispose();
        request = build();
        _auth.Authorize(request, scope);
        return await SendDisposingAsync(request, completion, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendDisposingAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Disposing the request disposes its content; chunk streams never dispose the caller's stream under them.
            request.Dispose();
        }
    }

    private UnavailableException Unavailable(Exception ex, string operation)
    {
        if (FindInner<SocketException>(ex) is { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.TryAgain })
        {
            return new UnavailableException(
                $"no registry answers at {BaseText}: run ./scripts/setup to start the registries, or fix the url of this stage's registry (registries.<stage>.url) in orchestrator.yaml",
                ex);
        }

        return new UnavailableException(
            $"the connection to {BaseText} failed during {operation} ({ex.Message}): check the registry is healthy and retry the job",
            ex);
    }

    private async Task EnsureSuccessAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var (code, message) = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        var detail = code is null ? $"{status} {response.ReasonPhrase}" : $"{status} {code}{(string.IsNullOrEmpty(message) ? string.Empty : ": " + message)}";
        var hint = response.StatusCode == HttpStatusCode.Unauthorized ? _auth.DescribeRefusal() : Hint(code, response.StatusCode);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            // Reached only once the retries are spent, so the fix is time, not the reference.
            var wait = RetryAfter(response) is { } after ? $" (it asks to wait {after.TotalSeconds:0.#} s)" : string.Empty;
            throw new RegistryException(
                $"{BaseText} is rate-limiting: {operation} was still refused ({detail}) after every retry{wait}; wait and run the job again, or lower RequestsPerSecond for this registry",
                response.StatusCode,
                code);
        }

        throw new RegistryException($"{BaseText} refused {operation} ({detail}): {hint}", response.StatusCode, code);
    }

    private static async Task<(string? Code, string? Message)> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var body = await ReadLimitedAsync(response, MaxErrorBodyBytes, cancellationToken).ConfigureAwait(false);
            if (body is null || body.Length == 0)
            {
                return (null, null);
            }

            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("errors", out var errors)
                && errors.ValueKind == JsonValueKind.Array)
            {
                foreach (var error in errors.EnumerateArray())
                {
                    var code = error.TryGetProperty("code", out var c) ? c.GetString() : null;
                    var message = error.TryGetProperty("message", out var m) ? m.GetString() : null;
                    if (code is not null)
                    {
                        return (code, message);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or HttpRequestException or IOException)
        {
            // A malformed error body must not hide the status it came with.
        }

        return (null, null);
    }

    private static string Hint(string? code, HttpStatusCode status) => code switch
    {
        "MANIFEST_UNKNOWN" => "the registry has no such manifest: check the tag or digest, or push the image first",
        "NAME_UNKNOWN" => "the repository does not exist in this registry: check its name, or push the image first",
        "BLOB_UNKNOWN" => "the registry has no such blob: push the image again so its layers are complete",
        "MANIFEST_BLOB_UNKNOWN" => "a blob the manifest references is missing in the target: copy the blobs before the manifest (rerun the copy)",
        "MANIFEST_INVALID" => "the registry rejected the manifest's content: check it references only pushed blobs and valid descriptors",
        "DIGEST_INVALID" => "the bytes received do not hash to the digest: the source content is corrupt or was altered in transit; retry",
        "SIZE_INVALID" => "the bytes received do not match the announced size: retry the copy",
        "BLOB_UPLOAD_UNKNOWN" or "BLOB_UPLOAD_INVALID" => "the upload session expired or broke: retry the copy",
        "NAME_INVALID" => "the repository name is invalid: use lower-case path components",
        "TAG_INVALID" => "the tag is invalid: use letters, digits, '_', '.' or '-'",
        "UNSUPPORTED" when status == HttpStatusCode.MethodNotAllowed => "the registry does not allow this operation (deletes may be disabled: set storage.delete.enabled)",
        "UNSUPPORTED" => "the registry does not support this operation",
        "DENIED" => "access denied: check the account behind this registry's credentials may push and pull this repository",
        "UNAUTHORIZED" => "authentication required: configure this registry's credentials",
        "TOOMANYREQUESTS" => "the registry is rate-limiting: wait and retry the job",
        _ when (int)status >= 500 => "the registry failed internally: check its logs and retry the job",
        _ => "check the reference and the registry's logs",
    };

    private ResiliencePipeline<HttpResponseMessage> BuildPipeline(bool retry)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _timeProvider };
        if (retry)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = _options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryDelay,
                MaxDelay = MaxRetryAfter,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result)),
                OnRetry = args =>
                {
                    var reason = args.Outcome.Result is { } r ? $"{(int)r.StatusCode} {r.ReasonPhrase}" : args.Outcome.Exception?.Message ?? "unknown";
                    LogRetrying(_logger, Endpoint.Host, reason, args.AttemptNumber + 1, _options.MaxRetryAttempts, args.RetryDelay.TotalMilliseconds);
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            });
        }

        // Retry, then the registry's shared budget, then the attempt's timeout: waiting for the budget is not a slow answer.
        return builder
            .AddStrategy(_ => new RateBudgetStrategy(_budget, r => RetryAfter(r) ?? _options.RetryDelay), new RateBudgetStrategyOptions())
            .AddTimeout(_options.AttemptTimeout)
            .Build();
    }

    internal static bool IsTransient(Outcome<HttpResponseMessage> outcome)
    {
        if (outcome.Result is { } response)
        {
            var status = (int)response.StatusCode;
            return status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
        }

        return outcome.Exception switch
        {
            null => false,
            TimeoutRejectedException => true,
            OrchestratorException => false,
            OperationCanceledException => false,
            var ex when FindInner<OrchestratorException>(ex) is not null => false,
            HttpRequestException or IOException => true,
            _ => false,
        };
    }

    private TimeSpan? RetryAfter(HttpResponseMessage? response)
    {
        var header = response?.Headers.RetryAfter;
        if (header is null)
        {
            return null;
        }

        var delay = header.Delta ?? (header.Date is { } date ? date - _timeProvider.GetUtcNow() : (TimeSpan?)null);
        if (delay is null)
        {
            return null;
        }

        return delay < TimeSpan.Zero ? TimeSpan.Zero : delay > MaxRetryAfter ? MaxRetryAfter : delay;
    }

    private static T? FindInner<T>(Exception? ex)
        where T : Exception
    {
        for (var current = ex; current is not null; current = current.InnerException)
        {
            if (current is T match)
            {
                return match;
            }
        }

        return null;
    }

    private HttpRequestMessage ManifestRequest(HttpMethod method, string repository, string reference)
    {
        var request = new HttpRequestMessage(method, Url($"v2/{repository}/manifests/{reference}"));
        foreach (var mediaType in MediaTypes.AllManifests)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
        }

        return request;
    }

    private static HttpRequestMessage EmptyPost(Uri uri)
    {
        var content = new ByteArrayContent([]);
        content.Headers.ContentLength = 0;
        return new HttpRequestMessage(HttpMethod.Post, uri) { Content = content };
    }

    private Uri Url(string relative) => new(Endpoint.BaseUri, relative);

    private static string Separator(string reference) => reference.Contains(':') ? "@" : ":";

    private static string PullScope(string repository) => $"repository:{repository}:pull";

    private static string PushScope(string repository) => $"repository:{repository}:pull,push";

    private Uri RequireLocation(HttpResponseMessage response, string operation) =>
        response.Headers.Location is { } location
            ? Resolve(response, location)
            : throw new RegistryException($"{BaseText} answered {operation} without a Location header: the registry does not follow the distribution spec's upload protocol", response.StatusCode);

    /// <summary>Resolves a Location against the URL that answered (spec: it "MAY be relative"), keeping its query (upload state).</summary>
    internal Uri Resolve(HttpResponseMessage response, Uri location) =>
        location.IsAbsoluteUri ? location : new Uri(response.RequestMessage?.RequestUri ?? Endpoint.BaseUri, location);

    /// <summary>Adds <c>name=value</c> to the query of <paramref name="uri"/>, keeping what is there.</summary>
    internal static Uri WithQuery(Uri uri, string name, string value)
    {
        var text = uri.GetComponents(UriComponents.AbsoluteUri & ~UriComponents.Fragment, UriFormat.UriEscaped);
        var separator = string.IsNullOrEmpty(uri.Query) ? "?" : "&";
        return new Uri(text + separator + name + "=" + Uri.EscapeDataString(value));
    }

    private static Uri? NextLink(HttpResponseMessage response)
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

    private static bool TryGetDigestHeader(HttpResponseMessage response, [NotNullWhen(true)] out Digest? digest)
    {
        digest = null;
        return response.Headers.TryGetValues(DockerContentDigest, out var values)
            && Digest.TryParse(values.FirstOrDefault()?.Trim(), out digest, out _);
    }

    private static Digest DigestOf(string algorithm, byte[] content) =>
        Digest.FromHash(algorithm, algorithm == "sha512" ? System.Security.Cryptography.SHA512.HashData(content) : System.Security.Cryptography.SHA256.HashData(content));

    private static string? ReadMediaTypeField(byte[] content)
    {
        try
        {
            using var document = JsonDocument.Parse(content);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("mediaType", out var m)
                && m.ValueKind == JsonValueKind.String
                    ? m.GetString()
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The body, or null when it is longer than <paramref name="limit"/> bytes.</summary>
    private static async Task<byte[]?> ReadLimitedAsync(HttpResponseMessage response, int limit, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > limit)
        {
            return null;
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, n);
        }

        return buffer.ToArray();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Registry {Registry} failed transiently ({Reason}); retry {Attempt} of {MaxAttempts} in {DelayMs} ms")]
    private static partial void LogRetrying(ILogger logger, string registry, string reason, int attempt, int maxAttempts, double delayMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not cancel the upload session {Location}: {Reason}")]
    private static partial void LogUploadCancelFailed(ILogger logger, string location, string reason);
}
