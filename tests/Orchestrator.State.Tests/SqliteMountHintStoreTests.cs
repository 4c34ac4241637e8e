using Microsoft.Data.Sqlite;
using Orchestrator.Core.References;

namespace Orchestrator.State.Tests;

public sealed class SqliteMountHintStoreTests : IDisposable
{
    private const string Registry = "http://127.0.0.1:5002";

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "orchestrator-state-tests", Guid.NewGuid().ToString("N"));

    private string DatabasePath => Path.Combine(_folder, "state.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task FindAsync_HintsWrittenByAnotherInstance_ReturnsTheNewestRepositoryOtherThanTheTarget()
    {
        // Given hints written by one store: the base layer seen in apps/a, later in apps/b; another layer only in apps/c
        var baseLayer = Digest.Sha256Of([1]);
        var other = Digest.Sha256Of([2]);
        var clock = new SteppingClock();
        using (var writer = new SqliteMountHintStore(DatabasePath, clock))
        {
            await writer.RememberAsync(Registry, "apps/a", [baseLayer]);
            await writer.RememberAsync(Registry, "apps/b", [baseLayer]);
            await writer.RememberAsync(Registry, "apps/c", [other]);
        }

        // When a new instance over the same file (a new process) looks them up for a copy into apps/b
        using var reader = new SqliteMountHintStore(DatabasePath);
        var forB = await reader.FindAsync(Registry, [baseLayer, other, Digest.Sha256Of([3])], "apps/b");
        var forD = await reader.FindAsync(Registry, [baseLayer], "apps/d");
        var elsewhere = await reader.FindAsync("http://127.0.0.1:5001", [baseLayer], "apps/d");

        // Then apps/b is never offered to itself, the newest other repository wins, unknown blobs and other registries have none
        Assert.Equal("apps/a", forB[baseLayer]);
        Assert.Equal("apps/c", forB[other]);
        Assert.Equal(2, forB.Count);
        Assert.Equal("apps/b", forD[baseLayer]);
        Assert.Empty(elsewhere);
    }

    [Fact]
    public async Task ForgetAsync_OneRepository_DropsOnlyThatHint()
    {
        // Given the base layer hinted in two repositories
        var baseLayer = Digest.Sha256Of([1]);
        using var store = new SqliteMountHintStore(DatabasePath, new SteppingClock());
        await store.RememberAsync(Registry, "apps/a", [baseLayer]);
        await store.RememberAsync(Registry, "apps/b", [baseLayer]);

        // When the newest is forgotten (the registry no longer has the blob there)
        await store.ForgetAsync(Registry, "apps/b", baseLayer);

        // Then the other one is offered
        Assert.Equal("apps/a", (await store.FindAsync(Registry, [baseLayer], "apps/z"))[baseLayer]);
    }

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
        Directory.CreateDirectory(_folder);
        await File.WriteAllTextAsync(DatabasePath, "not a database, just text long enough to be a header and more");
        using var store = new SqliteMountHintStore(DatabasePath);

        // When hints are read and written
        var found = await store.FindAsync(Registry, [Digest.Sha256Of([1])], "apps/a");
        await store.RememberAsync(Registry, "apps/a", [Digest.Sha256Of([1])]);

        // Then there are none, and nothing threw: a hint costs a copy, never a promotion
        Assert.Empty(found);
    }

    // One second later on every read, so the order of writes is the order of their timestamps.
    private sealed class SteppingClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now = _now.AddSeconds(1);
    }
}
