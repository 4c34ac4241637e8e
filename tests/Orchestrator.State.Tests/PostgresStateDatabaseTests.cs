using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.State.Postgres;

namespace Orchestrator.State.Tests;

/// <summary>How <c>state: postgres</c> becomes a connection: the variables it names, and secrets kept out of messages.</summary>
public sealed class PostgresStateDatabaseTests
{
    [Fact]
    public void Create_PasswordVariableUnset_ThrowsInputNamingTheVariable()
    {
        // Given settings naming a password variable that is not set
        var settings = new PostgresSettings(PasswordEnv: "PG_PASS_FOR_TEST");

        // When the database is made, Then the error names the variable and the role
        var error = Assert.Throws<InputException>(() => PostgresStateDatabase.Create(settings, getEnvironmentVariable: _ => null));
        Assert.Contains("PG_PASS_FOR_TEST", error.Message, StringComparison.Ordinal);
        Assert.Contains("'orchestrator'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_ConnectionStringThatDoesNotParse_ThrowsInputWithoutEchoingIt()
    {
        // Given a variable holding something that is no connection string, a password inside
        var settings = new PostgresSettings(ConnectionStringEnv: "PG_CONN_FOR_TEST");
        const string Value = "Host=db;Passwrod=hunter2hunter2;Bogus Key=1";

        // When the database is made, Then the error names the variable only
        var error = Assert.Throws<InputException>(() => PostgresStateDatabase.Create(settings, getEnvironmentVariable: _ => Value));
        Assert.Contains("PG_CONN_FOR_TEST", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_Parts_DescribesServerWithoutPassword()
    {
        // Given parts and a password in its variable
        var settings = new PostgresSettings("db.internal", 6543, "state", "app", "PG_PASS_FOR_TEST");

        // When the database is made, Then its description names the server and database, not the password
        await using var database = PostgresStateDatabase.Create(settings, getEnvironmentVariable: _ => "s3cret-value");
        Assert.Equal("PostgreSQL db.internal:6543/state", database.Description);
    }
}
