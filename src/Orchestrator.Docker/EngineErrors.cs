using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Docker.DotNet;
using Orchestrator.Core.Errors;

namespace Orchestrator.Docker;

/// <summary>
/// Turns what Docker.DotNet throws into Orchestrator's typed errors, with messages that name the operation, the
/// endpoint and what to do next: an error status (<see cref="DockerApiException"/>, whose body is the engine's
/// <c>{"message":…}</c>) becomes <see cref="EngineException"/> with the status and body; a transport failure
/// (no socket, nothing listening, permission denied, connection closed) becomes <see cref="UnavailableException"/>;
/// a body that is not the JSON the Engine API documents becomes <see cref="EngineException"/> without a status.
/// </summary>
internal static class EngineErrors
{
    /// <summary>Errors of the call itself stay as they are: cancellation, argument checks, our own typed errors.</summary>
    public static bool IsMapped(Exception ex) =>
        ex is DockerApiException or HttpRequestException or IOException or SocketException or JsonException or UnauthorizedAccessException;

    /// <summary>The typed error for <paramref name="ex"/>, which <see cref="IsMapped"/> accepted.</summary>
    /// <param name="ex">What the library or the transport threw.</param>
    /// <param name="operation">What was attempted, for the message ("tagging of x as y:1").</param>
    /// <param name="endpoint">The engine, for the message.</param>
    public static OrchestratorException Map(Exception ex, string operation, DockerEndpoint endpoint) => ex switch
    {
        DockerApiException api => FromStatus(api, operation, endpoint),
        JsonException json => new EngineException(
            $"the {operation} on {endpoint} answered with JSON that cannot be read ({json.Message}): check that the endpoint is a Docker Engine speaking API {EngineConnection.ApiVersion}",
            innerException: json),
        _ => Unavailable(ex, operation, endpoint),
    };

    /// <summary>An error status: the engine's own message, the status, and a next step where one is known.</summary>
    public static EngineException FromStatus(DockerApiException api, string operation, DockerEndpoint endpoint, string? nextStep = null)
    {
        var body = api.ResponseBody ?? string.Empty;
        var status = (int)api.StatusCode;
        var engineMessage = ExtractMessage(body) ?? (string.IsNullOrWhiteSpace(body) ? api.StatusCode.ToString() : body.Trim());
        nextStep ??= api.StatusCode switch
        {
            >= HttpStatusCode.InternalServerError => "the engine failed internally: check its log (dockerd output or journalctl -u docker) and retry",
            HttpStatusCode.Conflict => "something else holds that name or object: remove it first or use another name",
            _ => null,
        };
        var suffix = nextStep is null ? string.Empty : "; " + nextStep;
        return new EngineException($"the {operation} failed on {endpoint}: {engineMessage} (HTTP {status}){suffix}", api.StatusCode, body, api);
    }

    /// <summary>
    /// The engine does not answer: says which of the usual causes it is, reading the socket's state for unix endpoints
    /// (absent: the engine is not running; there but refused: it stopped; not permitted: the user's groups).
    /// </summary>
    public static UnavailableException Unavailable(Exception ex, string operation, DockerEndpoint endpoint)
    {
        var socketError = FindSocketError(ex);
        var cause = ex.InnerException is { } inner && ex is HttpRequestException ? $"{ex.Message} {inner.Message}" : ex.Message;
        string detail;
        if (socketError == SocketError.AccessDenied || ex is UnauthorizedAccessException)
        {
            detail = endpoint.SocketPath is { } socket
                ? $"permission denied on {socket}: add the user to the group that owns it (usually 'docker': sudo usermod -aG docker $USER, then log in again) or run as root"
                : "permission denied: check the TLS client certificate and the engine's authorization plugin";
        }
        else if (endpoint.SocketPath is { } path && !Path.Exists(path))
        {
            detail = $"the socket {path} does not exist, so no engine is running there: run ./scripts/setup to start one, or set DOCKER_HOST to an engine that runs";
        }
        else if (ex is IOException && socketError is null)
        {
            detail = "the engine closed the connection mid-answer: check that it is still running (dockerd output or journalctl -u docker) and retry";
        }
        else
        {
            detail = "run ./scripts/setup to start one, or set DOCKER_HOST to an engine that runs";
        }

        return new UnavailableException($"no Docker Engine answers on {endpoint} ({operation}: {cause.Trim()}): {detail}", ex);
    }

    /// <summary>The <c>message</c> of an Engine API error body, or null when the body is not that JSON.</summary>
    public static string? ExtractMessage(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("message", out var message)
                && message.ValueKind == JsonValueKind.String
                && message.GetString()?.Trim() is { Length: > 0 } text
                ? text
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static SocketError? FindSocketError(Exception ex)
    {
        for (Exception? current = ex; current is not null; current = current.InnerException)
        {
            if (current is SocketException socket)
            {
                return socket.SocketErrorCode;
            }
        }

        return null;
    }
}
