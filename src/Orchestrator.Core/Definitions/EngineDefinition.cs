namespace Orchestrator.Core.Definitions;

/// <summary>
/// One Docker Engine of the pool (<c>engines:</c> in orchestrator.yaml): where it listens, how many builds and
/// validations it takes at once, and, for <c>tcp://</c> with TLS, the folder of its client certificates.
/// </summary>
/// <param name="Name">The engine's name in records, <c>/healthz</c> and <c>/metrics</c>: lower-case letters, digits and '-'.</param>
/// <param name="Endpoint"><c>unix:///path</c> or <c>tcp://host:port</c>; never carries credentials.</param>
/// <param name="Slots">Jobs that may use the engine at once, at least 1.</param>
/// <param name="CertPath">
/// For <c>tcp://</c> with TLS: an absolute folder holding <c>ca.pem</c>, <c>cert.pem</c> and <c>key.pem</c>, as the docker CLI's
/// <c>DOCKER_CERT_PATH</c> has them; null for a unix socket or a plain loopback <c>tcp://</c>.
/// </param>
public sealed record EngineDefinition(string Name, string Endpoint, int Slots, string? CertPath = null)
{
    /// <summary>The name of the pool's only engine when orchestrator.yaml has <c>engine:</c> (or nothing) rather than <c>engines:</c>.</summary>
    public const string DefaultName = "default";
}
