using System.Net;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;

namespace Orchestrator.Registry.Auth;

/// <summary>
/// Credentials from the environment variables a registry names in orchestrator.yaml
/// (<c>username-env</c>, <c>password-env</c>: <see cref="RegistryEndpoint.UsernameEnv"/>,
/// <see cref="RegistryEndpoint.PasswordEnv"/>), read on each use so a rotated secret is picked up.
/// </summary>
/// <param name="environment">Reads a variable; the process environment by default.</param>
public sealed class EnvironmentCredentialSource(Func<string, string?>? environment = null) : IRegistryCredentialSource
{
    private readonly Func<string, string?> _environment = environment ?? Environment.GetEnvironmentVariable;

    /// <inheritdoc />
    public ValueTask<RegistryCredential?> GetAsync(RegistryEndpoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint.UsernameEnv is null && endpoint.PasswordEnv is null)
        {
            return ValueTask.FromResult<RegistryCredential?>(null);
        }

        var user = endpoint.UsernameEnv is null ? null : _environment(endpoint.UsernameEnv);
        var password = endpoint.PasswordEnv is null ? null : _environment(endpoint.PasswordEnv);
        if (string.IsNullOrEmpty(user) || string.IsNullOrEmpty(password))
        {
            var missing = string.Join(" and ", new[] { (endpoint.UsernameEnv, user), (endpoint.PasswordEnv, password) }
                .Where(p => string.IsNullOrEmpty(p.Item2)).Select(p => p.Item1 is null ? "(no variable configured)" : "$" + p.Item1));
            throw new RegistryException(
                $"{endpoint.Host} requires credentials but {missing} is not set: export it before running, or fix username-env/password-env for this registry in orchestrator.yaml",
                HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }

        return ValueTask.FromResult<RegistryCredential?>(new RegistryCredential(user, password));
    }

    /// <inheritdoc />
    public string DescribeRefusal(RegistryEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return endpoint.UsernameEnv is null
            ? $"{endpoint.Host} requires credentials: set username-env and password-env for this registry in orchestrator.yaml and export those variables"
            : $"{endpoint.Host} refused the credentials from ${endpoint.UsernameEnv}/${endpoint.PasswordEnv}: check their values and the account's access to the repository";
    }
}
