using Orchestrator.Core.Definitions;

namespace Orchestrator.Registry.Auth;

/// <summary>
/// Where the registry client gets the username and secret for a registry: today the environment variables
/// a registry names in orchestrator.yaml (<see cref="EnvironmentCredentialSource"/>); docker's config.json
/// and credential helpers can sit behind the same interface. The auth handler asks on each challenge and
/// never logs what it gets, nor puts it in an error.
/// </summary>
public interface IRegistryCredentialSource
{
    /// <summary>The credentials for <paramref name="endpoint"/>, or null when none are configured (anonymous access).</summary>
    /// <exception cref="Core.Errors.RegistryException">Credentials are configured but cannot be read (a variable is unset); the message says where they should come from, never a value.</exception>
    ValueTask<RegistryCredential?> GetAsync(RegistryEndpoint endpoint, CancellationToken cancellationToken = default);

    /// <summary>What to check when <paramref name="endpoint"/> still answers 401: where its credentials come from (names, never values).</summary>
    string DescribeRefusal(RegistryEndpoint endpoint);
}

/// <summary>A username and its secret (password or token) for one registry; <see cref="ToString"/> never shows the secret.</summary>
public sealed record RegistryCredential(string Username, string Secret)
{
    /// <summary>The username only, so a credential logged by mistake does not leak its secret.</summary>
    public override string ToString() => $"{Username}:***";
}
