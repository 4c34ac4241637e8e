using Orchestrator.Core.References;
using Orchestrator.State.Tests.Contracts;

namespace Orchestrator.State.Tests;

/// <summary>The mount hints' contract on the SQLite file, plus a file that is no database.</summary>
public sealed class SqliteMountHintStoreTests : MountHintStoreContract
{
    private SqliteBackend Sqlite => (SqliteBackend)Backend;

    protected override Task<StoreBackend> CreateBackendAsync() => Task.FromResult<StoreBackend>(new SqliteBackend());

    [Fact]
    public async Task FindAsync_UnreadableFile_ReturnsNoHintInsteadOfThrowing()
    {
        // Given a "state file" that is not a SQLite database
        Directory.CreateDirectory(Path.GetDirectoryName(Sqlite.DatabasePath)!);
        await File.WriteAllTextAsync(Sqlite.DatabasePath, "not a database, just text long enough to be a header and more");
        var store = Backend.NewMountHintStore(TimeProvider.System);

        // When hints are read and written
        var found = await store.FindAsync(Registry, [Digest.Sha256Of([1])], "apps/a");
        await store.RememberAsync(Registry, "apps/a", [Digest.Sha256Of([1])]);

        // Then there are none, and nothing threw: a hint costs a copy, never a promotion
        Assert.Empty(found);
    }
}
