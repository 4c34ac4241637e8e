using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;

namespace Orchestrator.Registry.Auth;

/// <summary>
/// The Docker Engine's pull credentials from the registry client's own credential chain, so the engine pulls from a
/// registry with the credential Orchestrator copies with (<c>username-env</c>/<c>password-env</c>, else docker's
/// config.json and credential helpers): dockerd reads no config.json itself; the docker CLI sends it, and so does this.
/// </summary>
/// <param name="credentials">The chain the registry clients use (<see cref="RegistryCredentialChain"/>).</param>
public sealed class EngineCredentialSource(IRegistryCredentialSource credentials) : IEngineCredentialSource
{
    private readonly IRegistryCredentialSource _credentials = credentials ?? throw new ArgumentNullException(nameof(credentials));

    /// <inheritdoc />
    public async ValueTask<RegistryCredentials?> GetAsync(RegistryEndpoint registry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return await _credentials.GetAsync(registry, cancellationToken).ConfigureAwait(false) switch
        {
            null => null,
            { IsIdentityToken: true } token => new RegistryCredentials(string.Empty, string.Empty, token.Secret),
            var basic => new RegistryCredentials(basic.Username, basic.Secret),
        };
    }
}
