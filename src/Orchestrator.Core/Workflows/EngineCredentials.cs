using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Workflows;

/// <summary>The credentials the engine pushes and pulls with, read from the environment variables a registry names.</summary>
public static class EngineCredentials
{
    /// <summary>Basic credentials for the engine to push to or pull from <paramref name="registry"/>, or null for anonymous access.</summary>
    public static RegistryCredentials? For(RegistryEndpoint registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var username = registry.UsernameEnv is null ? null : Environment.GetEnvironmentVariable(registry.UsernameEnv);
        var password = registry.PasswordEnv is null ? null : Environment.GetEnvironmentVariable(registry.PasswordEnv);
        return string.IsNullOrEmpty(username) || password is null ? null : new RegistryCredentials(username, password);
    }
}
