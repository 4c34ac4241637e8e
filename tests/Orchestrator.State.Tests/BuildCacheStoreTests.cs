using Microsoft.Data.Sqlite;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.State.Tests;

public sealed class BuildCacheStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2025, 5, 20, 10, 30, 15, 123, TimeSpan.Zero);

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "orchestrator-state-tests", Guid.NewGuid().ToString("N"));
    private readonly List<SqliteStateStore> _stores = [];

    private string DatabasePath => Path.Combine(_folder, "state.db");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task InitializeAsync_FileAtSchemaVersion2_MigratesBuildsWithoutKeys()
    {
        // Given a file at schema version 2 holding a build recorded before the cache existed
        await ExecuteAsync(Schema.Migrations[0] + "\n" + Schema.Migrations[1] + "\nPRAGMA user_version = 2;");
        var digest = DigestOf("old");
        await ExecuteAsync(
            "INSERT INTO builds (subject, kind, stage, reference, digest, tags, version, base_digest, actor, at, duration_ms, recorded_at) " +
            $"VALUES ('app', 'pipeline', 'staging', '127.0.0.1:5001/apps/app@{digest}', '{digest}', '[]', '1', NULL, 'ci', '2025-01-01T00:00:00.0000000Z', 1, '2025-01-01T00:00:00.0000000Z');");

        // When a store initializes on it
        var store = await NewInitializedStoreAsync();

        // Then the old build is there without a key, and new builds carry theirs
        Assert.True(SqliteStateStore.SchemaVersion >= 3);
        var old = (await store.GetLatestBuildAsync("app"))!;
        Assert.Equal(digest, old.Digest);
        Assert.Null(old.CacheKey);
        await store.RecordBuildAsync(Build("app", T0, "new") with { CacheKey = DigestOf("key") });
        Assert.Equal(DigestOf("new"), (await store.FindBuildByCacheKeyAsync("app", DigestOf("key")))!.Digest);
    }

    private async Task<SqliteStateStore> NewInitializedStoreAsync()
    {
        var store = new SqliteStateStore(DatabasePath);
        _stores.Add(store);
        await store.InitializeAsync();
        return store;
    }

    private async Task ExecuteAsync(string sql)
    {
        Directory.CreateDirectory(_folder);
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static Digest DigestOf(string content) => Digest.Sha256Of(System.Text.Encoding.UTF8.GetBytes(content));

    private static BuildRecord Build(string subject, DateTimeOffset at, string image) =>
        new(0, subject, "pipeline", "staging", ImageReference.Parse($"127.0.0.1:5001/apps/{subject.Replace('/', '-')}@{DigestOf(image)}"), ["1"], "1", DigestOf("base"), "ci", at, TimeSpan.FromSeconds(1));
}
