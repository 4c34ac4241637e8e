using Orchestrator.Core.Errors;

namespace Orchestrator.Registry.Tls;

/// <summary>The socket handler of a TLS registry together with its <see cref="RegistryTlsPolicy"/>, so disposing one disposes the certificates too.</summary>
internal sealed class OwningHandler(HttpMessageHandler inner, RegistryTlsPolicy policy) : DelegatingHandler(inner)
{
    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            policy.Dispose();
        }
    }
}

/// <summary>
/// Stands in for the socket handler of a registry whose TLS files could not be loaded: every request fails with that
/// error (a <see cref="RegistryException"/>: never retried), so the job that first needs the registry says why.
/// </summary>
internal sealed class FailingHandler(string message) : HttpMessageHandler
{
    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Task.FromException<HttpResponseMessage>(new RegistryException(message));
}
