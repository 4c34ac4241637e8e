namespace Orchestrator.Core.Ports;

/// <summary>Who is acting, for records: <c>ORCHESTRATOR_ACTOR</c> when set, else the OS user.</summary>
public interface IActorProvider
{
    string Actor { get; }
}

/// <summary>The default <see cref="IActorProvider"/>.</summary>
public sealed class EnvironmentActorProvider : IActorProvider
{
    public string Actor =>
        Environment.GetEnvironmentVariable("ORCHESTRATOR_ACTOR") is { Length: > 0 } actor ? actor : Environment.UserName;
}
