using Orchestrator.Core.Definitions;

namespace Orchestrator.Core.Ports;

/// <summary>
/// The credentials the Docker Engine pulls with (<c>X-Registry-Auth</c> of <c>POST /images/create</c>, Engine API v1.41):
/// dockerd reads no credential store of its own, so whoever calls it must send what <c>docker login</c> left, as the
/// docker CLI does. Implemented at the registry edge over the same credential chain the registry client uses
/// (the registry's <c>username-env</c>/<c>password-env</c>, then docker's config.json and credential helpers).
/// </summary>
public interface IEngineCredentialSource
{
    /// <summary>The credentials for <paramref name="registry"/>, or null for anonymous access.</summary>
    /// <exception cref="Errors.RegistryException">Credentials are configured but cannot be read (an unset variable, a failing credential helper); the message names where they should come from, never a value.</exception>
    ValueTask<RegistryCredentials?> GetAsync(RegistryEndpoint registry, CancellationToken cancellationToken = default);
}
