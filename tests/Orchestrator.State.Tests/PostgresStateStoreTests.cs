using Orchestrator.State.Tests.Contracts;

namespace Orchestrator.State.Tests;

/// <summary>The state store's contract on PostgreSQL (a database per test on the server scripts/setup-postgres starts).</summary>
[Trait("Category", "Postgres")]
public sealed class PostgresStateStoreTests : StateStoreContract
{
    protected override async Task<StoreBackend> CreateBackendAsync() => await PostgresBackend.CreateAsync();
}
