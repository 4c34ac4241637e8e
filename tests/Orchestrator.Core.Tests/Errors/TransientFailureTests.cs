using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Orchestrator.Core.Errors;

// Not Orchestrator.Core.Tests.Errors: that namespace would shadow Core.Errors where other tests write Errors.X.
namespace Orchestrator.Core.Tests;

public sealed class TransientFailureTests
{
    public static TheoryData<int, bool> Statuses()
    {
        var data = new TheoryData<int, bool>();
        foreach (var transient in new[] { 408, 429, 500, 502, 503, 504 })
        {
            data.Add(transient, true);
        }

        foreach (var permanent in new[] { 200, 201, 202, 204, 301, 304, 400, 401, 403, 404, 405, 409, 412, 413, 416, 422, 501, 505, 507 })
        {
            data.Add(permanent, false);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Statuses))]
    public void IsTransient_Status_OnlyTheRetryableSet(int status, bool expected)
    {
        // Given an HTTP status
        // When it is classified
        var transient = TransientFailure.IsTransient((HttpStatusCode)status);

        // Then exactly 408, 429, 500, 502, 503 and 504 are transient
        Assert.Equal(expected, transient);
    }

    public static TheoryData<string, Exception?, bool> Exceptions() => new()
    {
        { "null", null, false },
        { "connection refused", new HttpRequestException(HttpRequestError.ConnectionError, "refused", new SocketException((int)SocketError.ConnectionRefused)), true },
        { "connection reset mid-body", new IOException("reset", new SocketException((int)SocketError.ConnectionReset)), true },
        { "connection aborted", new SocketException((int)SocketError.ConnectionAborted), true },
        { "socket timed out", new SocketException((int)SocketError.TimedOut), true },
        { "response ended", new HttpRequestException(HttpRequestError.ResponseEnded, "ended"), true },
        { "body cut off", new IOException("unexpected end of stream"), true },
        { "attempt timed out", new TimeoutException("no answer"), true },
        { "registry unavailable", new UnavailableException("down"), true },
        { "registry 503", new RegistryException("busy", HttpStatusCode.ServiceUnavailable), true },
        { "registry 429", new RegistryException("slow down", HttpStatusCode.TooManyRequests), true },
        { "engine 500", new EngineException("engine failed", HttpStatusCode.InternalServerError), true },
        { "HTTP 502 status", new HttpRequestException("bad gateway", null, HttpStatusCode.BadGateway), true },
        { "host not found", new HttpRequestException(HttpRequestError.NameResolutionError, "no such host", new SocketException((int)SocketError.HostNotFound)), false },
        { "TLS failure", new HttpRequestException(HttpRequestError.SecureConnectionError, "certificate"), false },
        { "registry 404", new RegistryException("unknown", HttpStatusCode.NotFound, "MANIFEST_UNKNOWN"), false },
        { "registry 401", new RegistryException("denied", HttpStatusCode.Unauthorized), false },
        { "registry without status", new RegistryException("malformed"), false },
        { "engine in-stream error", new EngineException("errorDetail"), false },
        { "digest mismatch", new DigestMismatchException("bytes differ"), false },
        { "digest mismatch inside a request body", new HttpRequestException("send failed", new DigestMismatchException("bytes differ")), false },
        { "job refused", new JobRefusedException("tag moved"), false },
        { "caller cancelled", new OperationCanceledException(), false },
        { "task cancelled", new TaskCanceledException(), false },
        { "bug", new InvalidOperationException("bug"), false },
        { "bad argument", new ArgumentException("bad"), false },
    };

    [Theory]
    [MemberData(nameof(Exceptions))]
    public void IsTransient_Exception_OnlyWhatCanPass(string what, Exception? exception, bool expected)
    {
        // Given a failure
        // When it is classified
        var transient = TransientFailure.IsTransient(exception);

        // Then only connection failures, timeouts, cut bodies and transient statuses are transient
        Assert.True(expected == transient, $"{what}: expected {(expected ? "transient" : "not transient")}");
    }
}
