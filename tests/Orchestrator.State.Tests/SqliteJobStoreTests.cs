using Orchestrator.Core.Jobs;
using Orchestrator.Core.Ports;
using Orchestrator.State.Tests.Contracts;

namespace Orchestrator.State.Tests;

/// <summary>The job queue's contract on the SQLite file, plus what only a SQLite file has (PRAGMA user_version, WAL, files of older versions).</summary>
public sealed class SqliteJobStoreTests : JobStoreContract
{
    private SqliteBackend Sqlite => (SqliteBackend)Backend;

    protected override Task<StoreBackend> CreateBackendAsync() => Task.FromResult<StoreBackend>(new SqliteBackend());

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task InitializeAsync_StateAndJobStoreOnOneFileInEitherOrder_BothWorkAtOneSchemaVersion(bool stateFirst)
    {
        // Given the two stores on one file, initialised in either order
        var state = Sqlite.NewStateStore();
        var jobs = NewStore();
        if (stateFirst)
        {
            await state.InitializeAsync();
            await jobs.InitializeAsync();
        }
        else
        {
            await jobs.InitializeAsync();
            await state.InitializeAsync();
        }

        // When each writes
        var job = await jobs.EnqueueAsync(new JobRequest(JobKind.Build, "app"), "ci");
        await state.RecordBuildAsync(BuildRecordOf("app"));

        // Then both read back, and the file carries the one shared schema version (state and job tables)
        Assert.NotNull(await jobs.GetAsync(job.Id));
        Assert.NotNull(await state.GetLatestBuildAsync("app"));
        Assert.Equal((long)SqliteStateStore.SchemaVersion, await ScalarAsync("PRAGMA user_version;"));
        Assert.True(SqliteStateStore.SchemaVersion >= 2);
        Assert.Equal("wal", await ScalarAsync("PRAGMA journal_mode;"));
    }

    [Fact]
    public async Task InitializeAsync_FileFromBeforeJobs_MigratesAndKeepsItsState()
    {
        // Given a file at schema version 1 (state tables only) holding a build
        var state = Sqlite.NewStateStore();
        await ExecuteAsync(Schema.Migrations[0] + "\nPRAGMA user_version = 1;");
        var digest = DigestOf("old");
        await ExecuteAsync(
            "INSERT INTO builds (subject, kind, stage, reference, digest, tags, version, base_digest, actor, at, duration_ms, recorded_at) " +
            $"VALUES ('app', 'pipeline', 'staging', '127.0.0.1:5001/apps/app@{digest}', '{digest}', '[]', '1', NULL, 'ci', '2025-01-01T00:00:00.0000000Z', 1, '2025-01-01T00:00:00.0000000Z');");

        // When the job store initialises first
        var jobs = NewStore();
        await jobs.InitializeAsync();

        // Then the file is at the current version, the build is still there and jobs work
        Assert.Equal((long)SqliteStateStore.SchemaVersion, await ScalarAsync("PRAGMA user_version;"));
        Assert.Equal(digest, (await state.GetLatestBuildAsync("app"))!.Digest);
        Assert.NotNull(await jobs.EnqueueAsync(new JobRequest(JobKind.Build, "app"), "ci"));
    }
}
