using Orchestrator.Core.Definitions;

namespace Orchestrator.Registry.Auth;

/// <summary>
/// The credential for a registry, from the first place that has one: the registry's <c>username-env</c>/<c>password-env</c>
/// in orchestrator.yaml (<see cref="EnvironmentCredentialSource"/>), else docker's config.json and credential helpers
/// (<see cref="DockerConfigCredentialSource"/>). A registry that names variables uses them only: an unset variable is an
/// error, not a reason to fall back to docker's credentials, so a CI job never pushes with whoever ran docker login.
/// </summary>
public sealed class RegistryCredentialChain : IRegistryCredentialSource
{
    private readonly EnvironmentCredentialSource _variables;
    private readonly DockerConfigCredentialSource _docker;

    /// <param name="environment">Reads the named variables, DOCKER_CONFIG, HOME and PATH; the process environment by default.</param>
    /// <param name="helperTimeout">How long a credential helper may run; <see cref="DockerConfigCredentialSource.DefaultHelperTimeout"/> by default.</param>
    public RegistryCredentialChain(Func<string, string?>? environment = null, TimeSpan? helperTimeout = null)
    {
        _variables = new EnvironmentCredentialSource(environment);
        _docker = new DockerConfigCredentialSource(environment, helperTimeout);
    }

    /// <inheritdoc />
    public ValueTask<RegistryCredential?> GetAsync(RegistryEndpoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return NamesVariables(endpoint) ? _variables.GetAsync(endpoint, cancellationToken) : _docker.GetAsync(endpoint, cancellationToken);
    }

    /// <inheritdoc />
    public string DescribeRefusal(RegistryEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return NamesVariables(endpoint) ? _variables.DescribeRefusal(endpoint) : _docker.DescribeRefusal(endpoint);
    }

    private static bool NamesVariables(RegistryEndpoint endpoint) => endpoint.UsernameEnv is not null || endpoint.PasswordEnv is not null;
}
