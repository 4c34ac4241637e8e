using Npgsql;

namespace Orchestrator.State.Tests.Contracts;

/// <summary>
/// The PostgreSQL server the tests use: <c>$ORCHESTRATOR_TEST_PG</c> (a whole connection string to a role that may create
/// databases) or else the cluster scripts/setup-postgres runs, 127.0.0.1:5433, role and database <c>orchestrator</c>, the
/// password from <c>$state/postgres/password</c> ($state = <c>$ORCHESTRATOR_STATE_DIR</c> or <c>&lt;repo&gt;/.orchestrator</c>).
/// When neither is there the tests FAIL with how to start it: CI starts PostgreSQL, so a missing server is a broken set-up,
/// not a reason to skip.
/// </summary>
public static class PostgresServer
{
    private static readonly Lazy<string> s_connectionString = new(Resolve);

    /// <summary>The connection string to the maintenance database (<c>orchestrator</c>).</summary>
    public static string ConnectionString => s_connectionString.Value;

    /// <summary>Runs <paramref name="sql"/> on the maintenance database (CREATE/DROP DATABASE).</summary>
    /// <exception cref="InvalidOperationException">The server is not running or refuses the login.</exception>
    public static async Task AdminExecuteAsync(string sql)
    {
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException ex)
        {
            throw new InvalidOperationException(
                $"PostgreSQL for the store tests is not reachable ({ex.Message}): run 'scripts/setup-postgres' (as root) to start it on 127.0.0.1:5433, " +
                "or set ORCHESTRATOR_TEST_PG to a connection string of a role that may create databases.",
                ex);
        }
    }

    private static string Resolve()
    {
        if (Environment.GetEnvironmentVariable("ORCHESTRATOR_TEST_PG") is { Length: > 0 } fromEnvironment)
        {
            return fromEnvironment;
        }

        var state = Environment.GetEnvironmentVariable("ORCHESTRATOR_STATE_DIR") is { Length: > 0 } stateDir
            ? stateDir
            : Path.Combine(RepositoryRoot(), ".orchestrator");
        var passwordFile = Path.Combine(state, "postgres", "password");
        if (!File.Exists(passwordFile))
        {
            throw new InvalidOperationException(
                $"PostgreSQL for the store tests is not set up: {passwordFile} is missing. Run 'scripts/setup-postgres' (as root), " +
                "or set ORCHESTRATOR_TEST_PG to a connection string of a role that may create databases.");
        }

        return new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = 5433,
            Database = "orchestrator",
            Username = "orchestrator",
            Password = File.ReadAllText(passwordFile).Trim(),
            // Many test databases come and go: each test's pools are disposed with it (PostgresBackend), so few stay idle.
        }.ConnectionString;
    }

    private static string RepositoryRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Orchestrator.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("no Orchestrator.sln above " + AppContext.BaseDirectory);
    }
}
