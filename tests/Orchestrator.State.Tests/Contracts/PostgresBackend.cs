using Npgsql;
using Orchestrator.Core.Ports;
using Orchestrator.State.Postgres;

namespace Orchestrator.State.Tests.Contracts;

/// <summary>
/// The PostgreSQL stores on a database of the test's own: <c>CREATE DATABASE … TEMPLATE template0</c> before the test,
/// <c>DROP DATABASE … WITH (FORCE)</c> after. Each store instance gets its own <see cref="PostgresStateDatabase"/> (its own
/// pool), as a second process would. The server is the one scripts/setup-postgres starts (see <see cref="PostgresServer"/>).
/// </summary>
public sealed class PostgresBackend : StoreBackend
{
    private readonly List<PostgresStateDatabase> _databases = [];

    private PostgresBackend(string databaseName, string connectionString)
    {
        DatabaseName = databaseName;
        ConnectionString = connectionString;
    }

    /// <summary>The test's database.</summary>
    public string DatabaseName { get; }

    /// <summary>A connection string to the test's database, password included (tests only).</summary>
    public string ConnectionString { get; }

    public override string Name => "postgres";

    /// <summary>Creates the test's empty database.</summary>
    /// <exception cref="InvalidOperationException">PostgreSQL is not running or refuses the login (the message says how to start it).</exception>
    public static async Task<PostgresBackend> CreateAsync(string prefix = "orch_test_")
    {
        var name = prefix + Guid.NewGuid().ToString("N")[..16];
        await PostgresServer.AdminExecuteAsync($"CREATE DATABASE {name} TEMPLATE template0;");
        var builder = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Database = name };
        return new PostgresBackend(name, builder.ConnectionString);
    }

    /// <summary>A new database handle (a new pool) on the test's database; disposed with the backend.</summary>
    public PostgresStateDatabase NewDatabase()
    {
        var database = PostgresStateDatabase.FromConnectionString(ConnectionString, $"PostgreSQL test database {DatabaseName}");
        lock (_databases)
        {
            _databases.Add(database);
        }

        return database;
    }

    public override IStateStore NewStateStore(TimeProvider? clock = null) => new PostgresStateStore(NewDatabase(), clock);

    public override IJobStore NewJobStore(TimeProvider clock) => NewPostgresJobStore(clock);

    /// <summary>A job store with its own pool and a lease owner and duration of the test's choice.</summary>
    public PostgresJobStore NewPostgresJobStore(TimeProvider clock, string? leaseOwner = null, TimeSpan? leaseDuration = null) =>
        new(NewDatabase(), clock, leaseOwner: leaseOwner, leaseDuration: leaseDuration);

    public override IMountHintStore NewMountHintStore(TimeProvider clock) => new PostgresMountHintStore(NewDatabase(), clock);

    public override async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    public override async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public override async Task ReleaseStoresAsync()
    {
        List<PostgresStateDatabase> databases;
        lock (_databases)
        {
            databases = [.. _databases];
            _databases.Clear();
        }

        foreach (var database in databases)
        {
            await database.DisposeAsync();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await ReleaseStoresAsync();
        // FORCE ends our own sessions, but not an autovacuum worker (a superuser's): that one finishes soon, so retry.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await PostgresServer.AdminExecuteAsync($"DROP DATABASE IF EXISTS {DatabaseName} WITH (FORCE);");
                return;
            }
            catch (InvalidOperationException ex) when (attempt < 20 && ex.InnerException is PostgresException { SqlState: "42501" or "55006" })
            {
                await Task.Delay(250);
            }
        }
    }
}
