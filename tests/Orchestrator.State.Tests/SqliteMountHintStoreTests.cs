using Orchestrator.Core.References;
using Orchestrator.State.Tests.Contracts;

namespace Orchestrator.State.Tests;

/// <summary>The mount hints' contract on the SQLite file, plus a file that is no database.</summary>
public sealed class SqliteMountHintStoreTests : MountHintStoreContract
{
    private SqliteBackend Sqlite => (SqliteBackend)Backend;

    protected override Task<StoreBackend> CreateBackendAsync() => Task.FromResult<StoreBackend>(new SqliteBackend());

    [Fact]
    public async Task ForgetAsync_SeveralHints_DropsEachAndKeepsTheRest()
    {
        // Given two layers hinted in two repositories each
        var baseLayer = Digest.Sha256Of([1]);
        var appLayer = Digest.Sha256Of([2]);
        using var store = new SqliteMountHintStore(DatabasePath, new SteppingClock());
        await store.RememberAsync(Registry, "apps/a", [baseLayer, appLayer]);
        await store.RememberAsync(Registry, "apps/b", [baseLayer, appLayer]);

        // When the newer repository's hints are forgotten in one call (the registry has neither layer there any more)
        await store.ForgetAsync(Registry, [new(baseLayer, "apps/b"), new(appLayer, "apps/b")]);

        // Then both layers are offered from the older repository only
        var found = await store.FindAsync(Registry, [baseLayer, appLayer], "apps/z");
        Assert.Equal("apps/a", found[baseLayer]);
        Assert.Equal("apps/a", found[appLayer]);
        Assert.Empty(await store.FindAsync(Registry, [baseLayer, appLayer], "apps/a"));
    }

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
