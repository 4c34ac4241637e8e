using Orchestrator.Core.Definitions;
using Orchestrator.Definitions.Yaml;

namespace Orchestrator.Definitions;

/// <summary>
/// Reads the <c>state:</c> section of orchestrator.yaml: <c>path</c> (the SQLite file, the default) or <c>postgres</c>
/// (issue 14), never both. Secrets are never read from the file: <c>password-env</c> and <c>connection-string-env</c>
/// name environment variables, and a value that looks like a secret itself is refused without being echoed.
/// </summary>
internal static class StateReader
{
    public const string DefaultStatePath = ".orchestrator/state.db";

    internal static readonly string[] StateKeys = ["path", "postgres"];
    private static readonly string[] PostgresKeys = ["host", "port", "database", "username", "password-env", "connection-string-env"];
    private static readonly string[] PartKeys = ["host", "port", "database", "username", "password-env"];

    // A pasted password must not get a "did you mean 'password-env'?", which would invite pasting it there instead.
    private static readonly Dictionary<string, string> SecretKeys = new(StringComparer.Ordinal)
    {
        ["password"] = "put the password in an environment variable and name it, e.g. 'password-env: ORCHESTRATOR_PG_PASSWORD'",
        ["connection-string"] = "put the connection string in an environment variable and name it, e.g. 'connection-string-env: ORCHESTRATOR_PG'",
    };

    /// <summary>The SQLite path as written (default <see cref="DefaultStatePath"/>) and the PostgreSQL settings or null; problems go to <paramref name="file"/>.</summary>
    public static (string Path, PostgresSettings? Postgres) Read(SourceFile file, MappingReader config)
    {
        if (config.Mapping("state", StateKeys, what: "'state'") is not { } state)
        {
            return (DefaultStatePath, null);
        }

        var path = state.String("path", example: DefaultStatePath);
        if (state.Raw("postgres") is not { } postgresNode)
        {
            return (path?.Value ?? DefaultStatePath, null);
        }

        if (path is { } given)
        {
            file.Error(given.Node, "'state' has both 'path' (a SQLite file) and 'postgres': the state lives in one store",
                "keep 'path' for SQLite, or remove it to keep the state in PostgreSQL");
        }

        var postgres = MappingReader.Of(file, postgresNode, "'state: postgres'", PostgresKeys, SecretKeys);
        return (DefaultStatePath, postgres is null ? null : ReadPostgres(file, postgres, postgresNode));
    }

    private static PostgresSettings? ReadPostgres(SourceFile file, MappingReader postgres, YamlDotNet.RepresentationModel.YamlNode at)
    {
        var before = file.Diagnostics.Count;
        var connectionStringEnv = EnvName(file, postgres, "connection-string-env", "ORCHESTRATOR_PG");
        if (connectionStringEnv is not null)
        {
            foreach (var part in PartKeys.Where(key => postgres.KeyNode(key) is not null))
            {
                file.Error(postgres.KeyNode(part)!, $"'{part}' in 'state: postgres' is given with 'connection-string-env', which already names the whole connection",
                    $"remove '{part}', or remove 'connection-string-env' and give host, port, database, username and password-env");
            }

            return file.Diagnostics.Count == before ? new PostgresSettings(ConnectionStringEnv: connectionStringEnv) : null;
        }

        var port = postgres.Int("port", example: "5432");
        if (port is { } given && given.Value is < 1 or > 65535)
        {
            file.Error(given.Node, $"'port' in 'state: postgres' must be a TCP port from 1 to 65535, got {given.Value}", "write e.g. 'port: 5432'");
        }

        var settings = new PostgresSettings(
            postgres.String("host", example: PostgresSettings.DefaultHost)?.Value ?? PostgresSettings.DefaultHost,
            port?.Value ?? PostgresSettings.DefaultPort,
            postgres.String("database", example: PostgresSettings.DefaultName)?.Value ?? PostgresSettings.DefaultName,
            postgres.String("username", example: PostgresSettings.DefaultName)?.Value ?? PostgresSettings.DefaultName,
            EnvName(file, postgres, "password-env", "ORCHESTRATOR_PG_PASSWORD"));
        foreach (var (key, value) in new[] { ("host", settings.Host), ("database", settings.Database), ("username", settings.Username) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                file.Error(postgres.KeyNode(key) ?? (YamlDotNet.RepresentationModel.YamlNode)at, $"'{key}' in 'state: postgres' is empty", $"give it a value or leave it out for the default");
            }
        }

        return file.Diagnostics.Count == before ? settings : null;
    }

    private static string? EnvName(SourceFile file, MappingReader entry, string key, string example)
    {
        var value = entry.String(key, example: example);
        if (value is null)
        {
            return null;
        }

        if (!DefinitionRules.IsSecretEnvReference(value.Value.Value))
        {
            // Someone may have pasted the secret itself: never echo the value into an error, a log or CI output.
            file.Error(value.Value.Node,
                DefinitionRules.LooksLikeSecret(value.Value.Value) || value.Value.Value.Contains('=', StringComparison.Ordinal)
                    ? $"'{key}' in {entry.What} looks like a secret itself, not the name of an environment variable"
                    : $"'{key}' in {entry.What} must name an environment variable: upper-case letters, digits and '_', not starting with a digit",
                $"put the secret in an environment variable and write its name, e.g. '{key}: {example}'; never write the secret itself here");
            return null;
        }

        return value.Value.Value;
    }
}
