using Microsoft.Data.Sqlite;
using Orchestrator.Core.Errors;
using Orchestrator.State.Tests.Contracts;

namespace Orchestrator.State.Tests;

/// <summary>The state store's contract on the SQLite file, plus what only a SQLite file has (WAL, PRAGMA user_version, paths).</summary>
public sealed class SqliteStateStoreTests : StateStoreContract
{
    private SqliteBackend Sqlite => (SqliteBackend)Backend;

    protected override Task<StoreBackend> CreateBackendAsync() => Task.FromResult<StoreBackend>(new SqliteBackend());

    [Fact]
    public async Task InitializeAsync_MissingFolder_CreatesFileInWalModeAtCurrentSchemaVersion()
    {
        // Given a path whose folder does not exist
        var store = NewStore();

        // When the store initializes
        await store.InitializeAsync();

        // Then the file exists, is in WAL mode and carries the schema version
        Assert.True(File.Exists(Sqlite.DatabasePath));
        Assert.Equal("wal", await PragmaAsync("journal_mode"));
        Assert.Equal((long)SqliteStateStore.SchemaVersion, await PragmaAsync("user_version"));
    }

    [Fact]
    public async Task InitializeAsync_CalledTwiceAndOnAnotherInstance_KeepsDataAndVersion()
    {
        // Given an initialized store with one build
        var store = NewStore();
        await store.InitializeAsync();
        var id = await store.RecordBuildAsync(Build("apps/x", T0));

        // When InitializeAsync runs again, on this and on a fresh instance
        await store.InitializeAsync();
        await NewStore().InitializeAsync();

        // Then nothing was lost or re-created
        var builds = await store.ListBuildsAsync();
        Assert.Equal(id, Assert.Single(builds).Id);
        Assert.Equal((long)SqliteStateStore.SchemaVersion, await PragmaAsync("user_version"));
    }

    [Fact]
    public async Task InitializeAsync_DatabaseFromNewerVersion_ThrowsJobFailedSayingToUpgrade()
    {
        // Given a file whose schema version is ahead of this code
        var store = NewStore();
        await store.InitializeAsync();
        await ExecuteAsync($"PRAGMA user_version = {SqliteStateStore.SchemaVersion + 1};");

        // When a new instance initializes
        var error = await Assert.ThrowsAsync<JobFailedException>(() => NewStore().InitializeAsync());

        // Then it refuses, saying what to do
        Assert.Contains("upgrade Orchestrator", error.Message);
    }

    [Fact]
    public async Task RecordBuildAsync_UnwritablePath_ThrowsUnavailable()
    {
        // Given a database path under a regular file, which cannot be a folder
        Directory.CreateDirectory(Sqlite.Folder);
        var file = Path.Combine(Sqlite.Folder, "a-file");
        await File.WriteAllTextAsync(file, "x");
        await using var store = new SqliteStateStore(Path.Combine(file, "state.db"));

        // When it initializes, Then the error names the path
        var error = await Assert.ThrowsAsync<UnavailableException>(() => store.InitializeAsync());
        Assert.Contains(file, error.Message);
    }


    private async Task<object?> PragmaAsync(string name) => await Backend.ScalarAsync($"PRAGMA {name};");

    private Task ExecuteAsync(string sql) => Backend.ExecuteAsync(sql);
}
