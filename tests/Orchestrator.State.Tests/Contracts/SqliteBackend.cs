using Microsoft.Data.Sqlite;
using Orchestrator.Core.Ports;

namespace Orchestrator.State.Tests.Contracts;

/// <summary>The SQLite stores on a file in a folder of their own under the temp folder, deleted after the test.</summary>
public sealed class SqliteBackend : StoreBackend
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "orchestrator-store-tests", Guid.NewGuid().ToString("N"));
    private readonly List<object> _stores = [];

    /// <summary>The state file; its folder does not exist until a store creates it.</summary>
    public string DatabasePath => Path.Combine(_folder, "nested", "state.db");

    /// <summary>The test's folder.</summary>
    public string Folder => _folder;

    public override string Name => "sqlite";

    public override IStateStore NewStateStore(TimeProvider? clock = null) => Track(new SqliteStateStore(DatabasePath, clock));

    public override IJobStore NewJobStore(TimeProvider clock) => Track(new SqliteJobStore(DatabasePath, clock));

    public override IMountHintStore NewMountHintStore(TimeProvider clock) => Track(new SqliteMountHintStore(DatabasePath, clock));

    public override async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    public override async Task ExecuteAsync(string sql)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public override async Task ReleaseStoresAsync()
    {
        foreach (var store in _stores)
        {
            switch (store)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }

        _stores.Clear();
        SqliteConnection.ClearAllPools();
    }

    public override async ValueTask DisposeAsync()
    {
        await ReleaseStoresAsync();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private T Track<T>(T store)
        where T : notnull
    {
        _stores.Add(store);
        return store;
    }
}
