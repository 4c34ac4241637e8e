using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// Engine credentials from the environment variables a registry names (<c>username-env</c>, <c>password-env</c>) only:
/// the default of <see cref="WorkflowGraph.EngineCredentials"/> where no credential chain is composed (tests, tools).
/// </summary>
/// <param name="environment">Reads a variable; the process environment by default.</param>
public sealed class EnvironmentEngineCredentials(Func<string, string?>? environment = null) : IEngineCredentialSource
{
    private readonly Func<string, string?> _environment = environment ?? Environment.GetEnvironmentVariable;

    /// <inheritdoc />
    public ValueTask<RegistryCredentials?> GetAsync(RegistryEndpoint registry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var username = registry.UsernameEnv is null ? null : _environment(registry.UsernameEnv);
        var password = registry.PasswordEnv is null ? null : _environment(registry.PasswordEnv);
        return ValueTask.FromResult(string.IsNullOrEmpty(username) || password is null ? null : new RegistryCredentials(username, password));
    }
}
