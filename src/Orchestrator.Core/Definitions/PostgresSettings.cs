namespace Orchestrator.Core.Definitions;

/// <summary>
/// <c>state: postgres:</c> in orchestrator.yaml: the state store and job queue in a PostgreSQL database instead of
/// the SQLite file (issue 14). Either the parts (<see cref="Host"/> … <see cref="PasswordEnv"/>) or
/// <see cref="ConnectionStringEnv"/>, never both. Secrets are never held here, only the names of the environment
/// variables that carry them.
/// </summary>
/// <param name="Host">Server host name or address; <see cref="DefaultHost"/> when not given.</param>
/// <param name="Port">TCP port; <see cref="DefaultPort"/> when not given.</param>
/// <param name="Database">Database name; <see cref="DefaultName"/> when not given.</param>
/// <param name="Username">Role name; <see cref="DefaultName"/> when not given.</param>
/// <param name="PasswordEnv">Environment variable holding the role's password, or null (trust, peer or a .pgpass file).</param>
/// <param name="ConnectionStringEnv">Environment variable holding a whole Npgsql connection string, or null.</param>
public sealed record PostgresSettings(
    string Host = PostgresSettings.DefaultHost,
    int Port = PostgresSettings.DefaultPort,
    string Database = PostgresSettings.DefaultName,
    string Username = PostgresSettings.DefaultName,
    string? PasswordEnv = null,
    string? ConnectionStringEnv = null)
{
    /// <summary>The default host, <c>127.0.0.1</c>.</summary>
    public const string DefaultHost = "127.0.0.1";

    /// <summary>The default port, PostgreSQL's 5432.</summary>
    public const int DefaultPort = 5432;

    /// <summary>The default database and role name, <c>orchestrator</c>.</summary>
    public const string DefaultName = "orchestrator";

    /// <summary>Where the store is, for messages and logs: <c>host:port/database</c> or the variable's name; never a secret.</summary>
    public string Describe() => ConnectionStringEnv is { } variable
        ? $"PostgreSQL (connection string from ${variable})"
        : $"PostgreSQL {Host}:{Port}/{Database}";
}
