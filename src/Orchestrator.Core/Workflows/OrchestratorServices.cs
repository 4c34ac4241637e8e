using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// The ports and settings the workflows run on. The CLI (and later the daemon) composes one from
/// orchestrator.yaml; tests compose one from fakes or from the real parts.
/// </summary>
public sealed record OrchestratorServices(
    Workspace Workspace,
    IDockerEngine Engine,
    IRegistryClientFactory Registries,
    IImageCopier Copier,
    IStateStore State,
    IRootfsBuilder Rootfs,
    IJobReporter Reporter,
    TimeProvider Time,
    IActorProvider Actor,
    ILoggerFactory LoggerFactory)
{
    public OrchestratorConfig Config => Workspace.Config;

    /// <summary>A registry client for <paramref name="stage"/>'s registry.</summary>
    public IRegistryClient RegistryFor(StageDefinition stage) => Registries.Create(stage.Registry);

    /// <summary>Basic credentials for the engine to push to or pull from <paramref name="registry"/>, or null for anonymous access.</summary>
    public static RegistryCredentials? CredentialsFor(RegistryEndpoint registry)
    {
        var username = registry.UsernameEnv is null ? null : Environment.GetEnvironmentVariable(registry.UsernameEnv);
        var password = registry.PasswordEnv is null ? null : Environment.GetEnvironmentVariable(registry.PasswordEnv);
        return string.IsNullOrEmpty(username) || password is null ? null : new RegistryCredentials(username, password);
    }

    internal ILogger<T> Logger<T>() => LoggerFactory?.CreateLogger<T>() ?? NullLogger<T>.Instance;
}
