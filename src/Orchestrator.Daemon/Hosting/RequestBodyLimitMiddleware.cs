using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Orchestrator.Daemon.Api;

namespace Orchestrator.Daemon.Hosting;

/// <summary>
/// Caps request bodies before anything reads them: <see cref="JobBodyLimit"/> bytes for
/// <c>POST /api/jobs</c>, <see cref="DefaultBodyLimit"/> for any other request. A declared
/// <c>Content-Length</c> over the cap is answered 413 at once, unread; a chunked body is cut off by
/// Kestrel when it passes the cap (<see cref="IHttpMaxRequestBodySizeFeature"/>), which the reader
/// sees as a <see cref="BadHttpRequestException"/> with status 413. So a 10 MB body never costs 10 MB.
/// </summary>
internal sealed class RequestBodyLimitMiddleware(RequestDelegate next)
{
    /// <summary>A job request is a handful of short fields; 4 KiB leaves room for long names and hashes.</summary>
    public const long JobBodyLimit = 4 * 1024;

    /// <summary>No other endpoint takes a body today; this bounds what a client can make the daemon read.</summary>
    public const long DefaultBodyLimit = 64 * 1024;

    public async Task InvokeAsync(HttpContext context)
    {
        var limit = LimitFor(context.Request);
        if (context.Request.ContentLength > limit)
        {
            await TooLarge(limit).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>The 413 every oversized body gets, whether it said its length up front or not.</summary>
    public static IResult TooLarge(long limit) =>
        ApiJson.Error(StatusCodes.Status413PayloadTooLarge, $"the request body is larger than this endpoint takes ({limit} bytes); a job request is a small JSON object such as {{\"kind\": \"build\", \"pipeline\": \"NAME\"}}");

    internal static long LimitFor(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && request.Path.StartsWithSegments("/api/jobs", StringComparison.Ordinal) && request.Path.Value!.TrimEnd('/') == "/api/jobs"
            ? JobBodyLimit
            : DefaultBodyLimit;
}
