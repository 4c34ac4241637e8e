using Orchestrator.Core.Definitions;

namespace Orchestrator.Registry.Auth;

/// <summary>
/// Where the registry client gets the username and secret for a registry: the environment variables a registry
/// names in orchestrator.yaml (<see cref="EnvironmentCredentialSource"/>), docker's config.json and credential
/// helpers (<see cref="DockerConfigCredentialSource"/>), tried in that order by <see cref="RegistryCredentialChain"/>.
/// The auth handler asks on each challenge and never logs what it gets, nor puts it in an error.
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
/// <param name="Username">The account; <c>&lt;token&gt;</c> for an identity token from a credential helper.</param>
/// <param name="Secret">The password, or the identity token when <paramref name="IsIdentityToken"/>.</param>
/// <param name="IsIdentityToken">
/// The secret is an OAuth2 refresh token (docker's <c>identitytoken</c>): exchanged at the token realm with
/// <c>POST grant_type=refresh_token</c> (distribution "OAuth2 Token Authentication"), never sent as Basic.
/// </param>
public sealed record RegistryCredential(string Username, string Secret, bool IsIdentityToken = false)
{
    /// <summary>The username only, so a credential logged by mistake does not leak its secret.</summary>
    public override string ToString() => $"{Username}:***";
}
