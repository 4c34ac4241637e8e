using Orchestrator.Core.References;
using Orchestrator.State.Postgres;
using Orchestrator.State.Tests.Contracts;

namespace Orchestrator.State.Tests;

/// <summary>The mount hints' contract on PostgreSQL, plus a server that cannot be reached.</summary>
[Trait("Category", "Postgres")]
public sealed class PostgresMountHintStoreTests : MountHintStoreContract
{
    protected override async Task<StoreBackend> CreateBackendAsync() => await PostgresBackend.CreateAsync();

    [Fact]
    public async Task FindAsync_ServerUnreachable_ReturnsNoHintInsteadOfThrowing()
    {
        // Given a store on a port where nothing listens
        await using var database = PostgresStateDatabase.FromConnectionString("Host=127.0.0.1;Port=1;Username=x;Password=secret-value;Timeout=2", "PostgreSQL 127.0.0.1:1/x");
        var store = new PostgresMountHintStore(database);

        // When hints are read and written, Then there are none and nothing threw
        Assert.Empty(await store.FindAsync(Registry, [Digest.Sha256Of([1])], "apps/a"));
        await store.RememberAsync(Registry, "apps/a", [Digest.Sha256Of([1])]);
    }

    [Fact]
    public async Task InitializeAsync_ServerUnreachable_ThrowsUnavailableNamingTheServerNotThePassword()
    {
        // Given a database handle on a port where nothing listens
        await using var database = PostgresStateDatabase.FromConnectionString("Host=127.0.0.1;Port=1;Username=x;Password=secret-value;Timeout=2", "PostgreSQL 127.0.0.1:1/x");

        // When it initialises, Then the error says where and how to fix it, never the password
        var error = await Assert.ThrowsAsync<Orchestrator.Core.Errors.UnavailableException>(() => database.InitializeAsync());
        Assert.Contains("PostgreSQL 127.0.0.1:1/x", error.Message, StringComparison.Ordinal);
        Assert.Contains("scripts/setup-postgres", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-value", error.ToString(), StringComparison.Ordinal);
    }
}
