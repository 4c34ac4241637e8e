using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Errors;
using Orchestrator.Daemon.Api;

namespace Orchestrator.Daemon.Hosting;

/// <summary>
/// One log event per request (method, path, status, duration; never headers, so never the token), and
/// the last word on errors: Core's typed exceptions become JSON errors with their status.
/// </summary>
internal sealed class RequestLoggingMiddleware(RequestDelegate next, ILogger<RequestLoggingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception exception) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            var (status, message) = exception switch
            {
                InputException input => (StatusCodes.Status400BadRequest, input.Message),
                UnavailableException unavailable => (StatusCodes.Status503ServiceUnavailable, unavailable.Message),
                OrchestratorException failed => (StatusCodes.Status409Conflict, failed.Message),
                BadHttpRequestException bad => (bad.StatusCode, bad.Message),
                _ => (StatusCodes.Status500InternalServerError, $"unexpected {exception.GetType().Name}: {exception.Message} (details in the daemon log)"),
            };
            if (status >= 500)
            {
                logger.LogError(exception, "HTTP {Method} {Path} failed", context.Request.Method, context.Request.Path.Value);
            }

            await ApiJson.Error(status, message).ExecuteAsync(context).ConfigureAwait(false);
        }
        finally
        {
            // Probes and scrapes arrive every few seconds; they are logged only when asked for debug logs.
            var level = context.Request.Path.Value is "/healthz" or "/metrics" && context.Response.StatusCode < 500 ? LogLevel.Debug : LogLevel.Information;
            logger.Log(
                level,
                "HTTP {Method} {Path} responded {StatusCode} in {ElapsedMs:0.0} ms",
                context.Request.Method,
                context.Request.Path.Value,
                context.Response.StatusCode,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }
}
