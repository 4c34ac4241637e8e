using System.Net;

namespace Orchestrator.Core.Errors;

/// <summary>
/// The Docker Engine answered with an error, or an error inside a 200 JSON message stream
/// (<c>errorDetail</c>). Carries the HTTP status (null for an in-stream error) and the body.
/// </summary>
public sealed class EngineException(string message, HttpStatusCode? statusCode = null, string? responseBody = null, Exception? innerException = null)
    : JobFailedException(message, innerException)
{
    public HttpStatusCode? StatusCode { get; } = statusCode;

    public string? ResponseBody { get; } = responseBody;
}

/// <summary>
/// A registry answered with an error (OCI distribution spec, "Error Codes"): the HTTP status, the
/// first OCI error code (<c>MANIFEST_UNKNOWN</c>, <c>BLOB_UNKNOWN</c>, …) when the body had one.
/// </summary>
public sealed class RegistryException(string message, HttpStatusCode? statusCode = null, string? errorCode = null, Exception? innerException = null)
    : JobFailedException(message, innerException)
{
    public HttpStatusCode? StatusCode { get; } = statusCode;

    public string? ErrorCode { get; } = errorCode;
}

/// <summary>Content whose bytes do not hash to the digest it was asked for or announced with.</summary>
public sealed class DigestMismatchException(string message) : JobFailedException(message);

/// <summary>A component Orchestrator needs (engine, registry, debootstrap) is not reachable or not installed.</summary>
public sealed class UnavailableException(string message, Exception? innerException = null) : JobFailedException(message, innerException);
