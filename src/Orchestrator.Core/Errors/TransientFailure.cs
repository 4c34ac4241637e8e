using System.Net;
using System.Net.Http;
using System.Net.Sockets;

namespace Orchestrator.Core.Errors;

/// <summary>
/// The project's one definition of a transient failure: a failure that the same request, sent again
/// a little later, can succeed past. Every retry in the project (the registry client's handler chain,
/// the copy engine's per-blob retry, the Docker Engine adapter) asks this class, so "retry on X" means
/// the same X everywhere.
/// <list type="bullet">
/// <item>HTTP statuses (RFC 9110 section 15): 408 Request Timeout, 429 Too Many Requests, 500 Internal
/// Server Error, 502 Bad Gateway, 503 Service Unavailable, 504 Gateway Timeout. Never another 4xx (the
/// request itself is wrong), nor 501 Not Implemented or 505 (the server will never do it).</item>
/// <item>Exceptions: a connection refused, reset or aborted, or timed out at the socket; a connection
/// that ended mid-response (<see cref="IOException"/>, <see cref="HttpRequestError.ResponseEnded"/>);
/// an attempt that ran out of time (<see cref="TimeoutException"/>); <see cref="UnavailableException"/>;
/// a <see cref="RegistryException"/> or <see cref="EngineException"/> carrying one of the statuses above.</item>
/// <item>Never transient: a cancellation the caller asked for, a digest mismatch, any other error of
/// our own (<see cref="OrchestratorException"/>, even wrapped in an <see cref="HttpRequestException"/>),
/// a DNS name that does not resolve, a TLS handshake or certificate failure, or a malformed request.</item>
/// </list>
/// </summary>
public static class TransientFailure
{
    /// <summary>True for 408, 429, 500, 502, 503 and 504 (see the class summary).</summary>
    public static bool IsTransient(HttpStatusCode status) => status is
        HttpStatusCode.RequestTimeout or
        HttpStatusCode.TooManyRequests or
        HttpStatusCode.InternalServerError or
        HttpStatusCode.BadGateway or
        HttpStatusCode.ServiceUnavailable or
        HttpStatusCode.GatewayTimeout;

    /// <summary>True when <paramref name="exception"/> is a transient failure (see the class summary); false for null.</summary>
    public static bool IsTransient(Exception? exception)
    {
        switch (exception)
        {
            case null:
            case OperationCanceledException:
            case DigestMismatchException:
                return false;
            case UnavailableException:
                return true;
            case RegistryException registry:
                return registry.StatusCode is { } registryStatus && IsTransient(registryStatus);
            case EngineException engine:
                return engine.StatusCode is { } engineStatus && IsTransient(engineStatus);
            case OrchestratorException:
                return false;
            case TimeoutException:
                return true;
        }

        // A failure of our own (a digest check inside a request body) reaches us wrapped by HttpClient: it stays fatal.
        if (Find<OrchestratorException>(exception) is not null)
        {
            return false;
        }

        // A TLS handshake refused (certificate, protocol) fails the same way next time, even when it surfaces as an I/O error.
        if (Find<System.Security.Authentication.AuthenticationException>(exception) is not null)
        {
            return false;
        }

        if (Find<SocketException>(exception) is { } socket)
        {
            return socket.SocketErrorCode is
                SocketError.ConnectionRefused or
                SocketError.ConnectionReset or
                SocketError.ConnectionAborted or
                SocketError.TimedOut or
                SocketError.Shutdown or
                SocketError.NetworkReset or
                SocketError.TryAgain;
        }

        if (exception is HttpRequestException http)
        {
            if (http.StatusCode is { } status)
            {
                return IsTransient(status);
            }

            return http.HttpRequestError is
                HttpRequestError.Unknown or
                HttpRequestError.ConnectionError or
                HttpRequestError.ResponseEnded or
                HttpRequestError.HttpProtocolError;
        }

        // A body that broke off mid-stream: the next attempt starts a fresh connection.
        return exception is IOException;
    }

    private static T? Find<T>(Exception? exception)
        where T : Exception
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is T match)
            {
                return match;
            }
        }

        return null;
    }
}
