using Orchestrator.Core.Definitions;

namespace Orchestrator.Definitions.Tests;

/// <summary>orchestrator.yaml's <c>state:</c> section: the SQLite path (the default) or <c>postgres</c> (issue 14).</summary>
public sealed class StateConfigTests
{
    [Fact]
    public async Task LoadAsync_NoStateSection_SqliteDefaultAndNoPostgres()
    {
        // Given a config without state:
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", TestWorkspace.Config);

        // When loaded, Then the state is the SQLite file under .orchestrator
        var config = (await ws.LoadAsync()).Config;
        Assert.Null(config.Postgres);
        Assert.Equal(Path.Combine(ws.Root, ".orchestrator", "state.db"), config.StatePath);
    }

    [Fact]
    public async Task LoadAsync_PostgresParts_ReadWithDefaultsForTheRest()
    {
        // Given state: postgres with host, port and the password variable
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", TestWorkspace.Config + """

            state:
              postgres: { host: db.internal, port: 5433, password-env: ORCHESTRATOR_PG_PASSWORD }
            """);

        // When loaded
        var config = (await ws.LoadAsync()).Config;

        // Then the parts are read, database and username default to orchestrator
        Assert.Equal(new PostgresSettings("db.internal", 5433, "orchestrator", "orchestrator", "ORCHESTRATOR_PG_PASSWORD"), config.Postgres);
        Assert.Equal("PostgreSQL db.internal:5433/orchestrator", config.Postgres!.Describe());
    }

    [Fact]
    public async Task LoadAsync_PostgresConnectionStringEnv_ReadAlone()
    {
        // Given state: postgres naming a variable with the whole connection string
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", TestWorkspace.Config + "\nstate:\n  postgres: { connection-string-env: ORCHESTRATOR_PG }\n");

        // When loaded, Then only the variable's name is kept
        var config = (await ws.LoadAsync()).Config;
        Assert.Equal("ORCHESTRATOR_PG", config.Postgres!.ConnectionStringEnv);
        Assert.Equal("PostgreSQL (connection string from $ORCHESTRATOR_PG)", config.Postgres.Describe());
    }

    [Fact]
    public async Task LoadAsync_PathAndPostgres_RefusedAtThePath()
    {
        // Given both a SQLite path and postgres
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Config + "\nstate:\n  path: x.db\n  postgres: { host: 127.0.0.1 }\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded, Then one error at path:'s value says the state lives in one store
        var error = Assert.Single(await ws.ErrorsAsync());
        error.AssertAt(ws.ConfigPath, text, "x.db");
        error.AssertSays("both 'path' (a SQLite file) and 'postgres'", "remove it to keep the state in PostgreSQL");
    }

    [Fact]
    public async Task LoadAsync_PasswordPastedIntoPasswordEnv_RefusedWithoutEchoingIt()
    {
        // Given a password written where the variable's name belongs
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Config + "\nstate:\n  postgres: { password-env: \"s3cr3t-Pa55w0rd!\" }\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded, Then the error is at the value and never repeats it
        var error = Assert.Single(await ws.ErrorsAsync());
        error.AssertAt(ws.ConfigPath, text, "\"s3cr3t");
        Assert.Contains("'password-env'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_PasswordKey_RefusedWithoutSuggestingToPasteIt()
    {
        // Given 'password:' (a secret in the file) under postgres
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Config + "\nstate:\n  postgres: { password: hunter2hunter2 }\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded, Then the key is refused, the fix names password-env, and the value is not echoed
        var error = Assert.Single(await ws.ErrorsAsync());
        error.AssertAt(ws.ConfigPath, text, "password:");
        Assert.Contains("password-env: ORCHESTRATOR_PG_PASSWORD", error.Fix!, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_ConnectionStringEnvWithParts_RefusedAtEachPart()
    {
        // Given a connection string variable and a host beside it
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Config + "\nstate:\n  postgres: { connection-string-env: ORCHESTRATOR_PG, host: db }\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded, Then the host is refused where it is written
        var error = Assert.Single(await ws.ErrorsAsync());
        error.AssertAt(ws.ConfigPath, text, "host:");
        error.AssertSays("'host' in 'state: postgres' is given with 'connection-string-env'", "remove 'host'");
    }

    [Fact]
    public async Task LoadAsync_PortOutOfRange_Refused()
    {
        // Given a port that no TCP server has
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Config + "\nstate:\n  postgres: { port: 70000 }\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded, Then it is refused at the value
        var error = Assert.Single(await ws.ErrorsAsync());
        error.AssertAt(ws.ConfigPath, text, "70000");
        error.AssertSays("must be a TCP port from 1 to 65535", "port: 5432");
    }
}
