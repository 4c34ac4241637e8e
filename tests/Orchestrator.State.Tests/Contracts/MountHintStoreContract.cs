using Orchestrator.Core.References;

namespace Orchestrator.State.Tests.Contracts;

/// <summary>
/// The mount hints' contract: every test here runs against each store (<see cref="SqliteMountHintStoreTests"/>,
/// <see cref="PostgresMountHintStoreTests"/>), each on a fresh database of its own.
/// </summary>
public abstract class MountHintStoreContract : IAsyncLifetime
{
    protected const string Registry = "http://127.0.0.1:5002";

    protected StoreBackend Backend { get; private set; } = null!;

    public async Task InitializeAsync() => Backend = await CreateBackendAsync();

    public async Task DisposeAsync() => await Backend.DisposeAsync();

    /// <summary>A fresh, empty database of this test's own.</summary>
    protected abstract Task<StoreBackend> CreateBackendAsync();

    [Fact]
    public async Task FindAsync_HintsWrittenByAnotherInstance_ReturnsTheNewestRepositoryOtherThanTheTarget()
    {
        // Given hints written by one store: the base layer seen in apps/a, later in apps/b; another layer only in apps/c
        var baseLayer = Digest.Sha256Of([1]);
        var other = Digest.Sha256Of([2]);
        var writer = Backend.NewMountHintStore(new SteppingClock());
        await writer.RememberAsync(Registry, "apps/a", [baseLayer]);
        await writer.RememberAsync(Registry, "apps/b", [baseLayer]);
        await writer.RememberAsync(Registry, "apps/c", [other]);
        await Backend.ReleaseStoresAsync();

        // When a new instance over the same database (a new process) looks them up for a copy into apps/b
        var reader = Backend.NewMountHintStore(TimeProvider.System);
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
        var store = Backend.NewMountHintStore(new SteppingClock());
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
        var store = Backend.NewMountHintStore(new SteppingClock());
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
    public async Task RememberAsync_SameHintTwice_KeepsOneRowWithTheLaterTime()
    {
        // Given a hint remembered twice, with another repository seen in between
        var layer = Digest.Sha256Of([7]);
        var store = Backend.NewMountHintStore(new SteppingClock());
        await store.RememberAsync(Registry, "apps/a", [layer, layer]);
        await store.RememberAsync(Registry, "apps/b", [layer]);
        await store.RememberAsync(Registry, "apps/a", [layer]);

        // When looked up, Then apps/a is the newest again and holds one row
        Assert.Equal("apps/a", (await store.FindAsync(Registry, [layer], "apps/z"))[layer]);
        Assert.Equal(1L, Convert.ToInt64(await Backend.ScalarAsync("SELECT count(*) FROM mount_hints WHERE repository = 'apps/a';"), System.Globalization.CultureInfo.InvariantCulture));
    }

    // One second later on every read, so the order of writes is the order of their timestamps.
    private sealed class SteppingClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now = _now.AddSeconds(1);
    }
}
