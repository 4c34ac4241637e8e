using System.Text.Json;
using Orchestrator.Core.Jobs;
using Orchestrator.State;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// Issue 11, item 5: a corrupt state.db is named with the way back (never "unexpected SqliteException"), and
/// <c>state check</c> / <c>state backup</c> do what they say, on real SQLite files.
/// </summary>
public sealed class StateVerbTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    private string StatePath => Path.Combine(_workspace.Root, "state", "state.db");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _workspace.Dispose();
    }

    /// <summary>A real store with <paramref name="jobs"/> jobs, each with a few log lines.</summary>
    private async Task SeedAsync(int jobs)
    {
        await using var store = new SqliteJobStore(StatePath);
        await store.InitializeAsync();
        for (var i = 0; i < jobs; i++)
        {
            var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "app"), "seed");
            await store.AppendLogAsync(job.Id, "step", new string('x', 400));
        }
    }

    private async Task TruncateToHalfAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await using var file = new FileStream(StatePath, FileMode.Open, FileAccess.ReadWrite);
        file.SetLength(file.Length / 2);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    public async Task Status_UnreadableStateFile_ExitsOneNamingTheFileAndTheWaysBack(string damage)
    {
        // Given a state.db that is garbage, or a real store cut to half its size
        if (damage == "garbage")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(StatePath)!);
            await File.WriteAllBytesAsync(StatePath, System.Text.Encoding.ASCII.GetBytes(new string('#', 10_000)));
        }
        else
        {
            await SeedAsync(200);
            await TruncateToHalfAsync();
        }

        // When a verb that reads the state runs
        var (exitCode, stdout, stderr) = await _workspace.RunAsync("history", "app");

        // Then it exits 1 naming the file, saying it is not a readable state store and how to recover; no stack trace
        Assert.True(exitCode == 1, $"exit {exitCode}: {stdout}{stderr}");
        Assert.Contains(StatePath, stderr);
        Assert.Contains("is not a readable state store", stderr);
        Assert.Contains("orchestrator state backup", stderr);
        Assert.Contains("move the file aside", stderr);
        Assert.DoesNotContain("unexpected", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public async Task Daemon_GarbageStateFile_ExitsOneNamingTheFileInsteadOfStarting()
    {
        // Given a state.db that is not a database
        Directory.CreateDirectory(Path.GetDirectoryName(StatePath)!);
        await File.WriteAllBytesAsync(StatePath, System.Text.Encoding.ASCII.GetBytes(new string('#', 10_000)));

        // When the daemon is started on it
        var (exitCode, stdout, stderr) = await _workspace.RunAsync("daemon", "--urls", "http://127.0.0.1:0").WaitAsync(TimeSpan.FromSeconds(60));

        // Then it exits 1 with the same clear message, not a crash report
        Assert.True(exitCode == 1, $"exit {exitCode}: {stdout}{stderr}");
        Assert.Contains(StatePath, stderr);
        Assert.Contains("is not a readable state store", stderr);
        Assert.DoesNotContain("failed: SqliteException", stderr);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    public async Task StateCheck_UnreadableStateFile_ExitsOneListingTheProblems(string damage)
    {
        // Given a damaged state.db
        if (damage == "garbage")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(StatePath)!);
            await File.WriteAllBytesAsync(StatePath, new byte[8192]);
        }
        else
        {
            await SeedAsync(200);
            await TruncateToHalfAsync();
        }

        // When it is checked with --json
        var (exitCode, stdout, _) = await _workspace.RunAsync("state", "check", "--json");

        // Then it exits 1 and the document lists at least one problem
        Assert.Equal(1, exitCode);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.False(json.GetProperty("ok").GetBoolean());
        Assert.NotEmpty(json.GetProperty("problems").EnumerateArray());
    }

    [Fact]
    public async Task StateCheck_SoundStore_ExitsZeroWithOkAndTheSchemaVersion()
    {
        // Given a real, sound store
        await SeedAsync(3);

        // When it is checked
        var (exitCode, stdout, stderr) = await _workspace.RunAsync("state", "check");

        // Then it is ok
        Assert.True(exitCode == 0, stderr);
        Assert.StartsWith($"ok: {StatePath} (schema version ", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StateBackup_WhileAnotherConnectionWrites_IsAReadableCopyThatPassesTheCheck()
    {
        // Given a store that another writer keeps adding jobs and log lines to
        await SeedAsync(50);
        using var stop = new CancellationTokenSource();
        var written = 0;
        var writer = Task.Run(async () =>
        {
            await using var store = new SqliteJobStore(StatePath);
            while (!stop.IsCancellationRequested)
            {
                var job = await store.EnqueueAsync(new JobRequest(JobKind.Build, "app"), "writer");
                await store.AppendLogAsync(job.Id, "step", new string('y', 2000));
                Interlocked.Increment(ref written);
            }
        });
        while (Volatile.Read(ref written) < 20)
        {
            await Task.Delay(10);
        }

        // When a backup is taken mid-write
        var backup = Path.Combine(_workspace.Root, "backups", "state-copy.db");
        var (exitCode, stdout, stderr) = await _workspace.RunAsync("state", "backup", backup, "--json");
        var writtenDuringBackup = Volatile.Read(ref written);
        await stop.CancelAsync();
        await writer;

        // Then the copy exists, passes the integrity and schema check, and holds the seeded and some written jobs
        Assert.True(exitCode == 0, stderr);
        Assert.Equal(backup, JsonDocument.Parse(stdout).RootElement.GetProperty("backup").GetString());
        var check = await StateMaintenance.CheckAsync(backup);
        Assert.True(check.Ok, string.Join("; ", check.Problems));
        await using var copy = new SqliteJobStore(backup);
        var jobs = await copy.ListAsync(new JobFilter(Limit: 1000));
        Assert.InRange(jobs.Count, 50 + 20, 50 + writtenDuringBackup + 1);
    }

    [Fact]
    public async Task StateBackup_FileExists_ExitsTwoUnlessForced()
    {
        // Given a store and a file already at the backup path
        await SeedAsync(1);
        var backup = Path.Combine(_workspace.Root, "existing.db");
        await File.WriteAllTextAsync(backup, "keep me");

        // When a backup is asked for without and then with --force
        var refused = await _workspace.RunAsync("state", "backup", backup);
        var kept = await File.ReadAllTextAsync(backup);
        var forced = await _workspace.RunAsync("state", "backup", backup, "--force");

        // Then the first exits 2 naming --force and leaves the file alone; the second replaces it with a sound copy
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--force", refused.Stderr);
        Assert.Equal("keep me", kept);
        Assert.True(forced.ExitCode == 0, forced.Stderr);
        Assert.True((await StateMaintenance.CheckAsync(backup)).Ok);
    }
}
