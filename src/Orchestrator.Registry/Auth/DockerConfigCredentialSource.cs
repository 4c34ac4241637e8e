using Orchestrator.Core.Definitions;

namespace Orchestrator.Registry.Auth;

/// <summary>
/// Credentials as the docker CLI has them: docker's <c>config.json</c> (<c>$DOCKER_CONFIG/config.json</c>, else
/// <c>~/.docker/config.json</c>), its <c>credHelpers</c>, <c>auths</c> and <c>credsStore</c> in the order
/// <see cref="DockerConfigFile"/> gives, and the credential helpers they name (<see cref="DockerCredentialHelper"/>).
/// The file is read on each use, so a <c>docker login</c> in between is picked up.
/// </summary>
public sealed class DockerConfigCredentialSource : IRegistryCredentialSource
{
    /// <summary>How long a credential helper may run; ECR's helper calls AWS, so not too short.</summary>
    public static readonly TimeSpan DefaultHelperTimeout = TimeSpan.FromSeconds(30);

    private readonly Func<string, string?> _environment;
    private readonly DockerCredentialHelper _helpers;

    /// <param name="environment">Reads DOCKER_CONFIG, HOME and PATH; the process environment by default.</param>
    /// <param name="helperTimeout">How long a credential helper may run; <see cref="DefaultHelperTimeout"/> by default.</param>
    public DockerConfigCredentialSource(Func<string, string?>? environment = null, TimeSpan? helperTimeout = null)
    {
        _environment = environment ?? Environment.GetEnvironmentVariable;
        _helpers = new DockerCredentialHelper(_environment, helperTimeout ?? DefaultHelperTimeout);
    }

    /// <inheritdoc />
    /// <exception cref="Core.Errors.InputException">config.json is unreadable or malformed.</exception>
    public async ValueTask<RegistryCredential?> GetAsync(RegistryEndpoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        switch (Find(endpoint))
        {
            case DockerCredentialLocation.AuthsEntry entry:
                return entry.Credential;
            case DockerCredentialLocation.Helper helper:
                return await _helpers.GetAsync(helper.HelperName, helper.ServerUrl, helper.Origin, cancellationToken).ConfigureAwait(false);
            default:
                return null;
        }
    }

    /// <inheritdoc />
    public string DescribeRefusal(RegistryEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        DockerCredentialLocation? location;
        try
        {
            location = Find(endpoint);
        }
        catch (Core.Errors.InputException ex)
        {
            return ex.Message;
        }

        return location is null
            ? $"{endpoint.Host} requires credentials: set username-env and password-env for this registry in orchestrator.yaml, or run 'docker login {endpoint.Host}' ({ConfigPath ?? "docker's config.json"} has no entry for it)"
            : $"{endpoint.Host} refused the credential from {location.Description}: check it (run 'docker login {endpoint.Host}' again) and the account's access to the repository";
    }

    private string? ConfigPath => DockerConfigFile.Locate(_environment);

    private DockerCredentialLocation? Find(RegistryEndpoint endpoint) =>
        ConfigPath is { } path && DockerConfigFile.Load(path) is { } file ? file.Find(endpoint.Host) : null;
}
