using System.Diagnostics;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// <c>state: postgres</c> with the real parts: the CLI binary's daemon on a PostgreSQL database of the test's own (on the
/// cluster scripts/setup-postgres runs at 127.0.0.1:5433), a job taken from the queue and its record read back with psql.
/// Fails, not skips, when PostgreSQL is not running: CI starts it.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PostgresStateTests : IAsyncLifetime
{
    private const string PasswordEnv = "IT_ORCHESTRATOR_PG_PASSWORD";

    private readonly TestWorkspace _workspace = new();
    private readonly string _database = "orch_it_" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _password = TestPostgres.ReadPassword();

    public async Task InitializeAsync()
    {
        var created = await PsqlAsync("orchestrator", $"CREATE DATABASE {_database} TEMPLATE template0;");
        Assert.True(created.ExitCode == 0, $"PostgreSQL at 127.0.0.1:5433 is not usable (run scripts/setup-postgres): {created.Stderr}");
        var config = File.ReadAllText(_workspace.ConfigPath).Replace(
            "state:\n  path: state/state.db",
            $"state:\n  postgres: {{ host: 127.0.0.1, port: 5433, database: {_database}, username: orchestrator, password-env: {PasswordEnv} }}",
            StringComparison.Ordinal);
        Assert.Contains(_database, config, StringComparison.Ordinal);
        File.WriteAllText(_workspace.ConfigPath, config);
        _workspace.EnableDaemon();
    }

    public async Task DisposeAsync()
    {
        await PsqlAsync("orchestrator", $"DROP DATABASE IF EXISTS {_database} WITH (FORCE);");
        _workspace.Dispose();
    }

    [Fact]
    public async Task Daemon_StatePostgres_TakesTheJobFromPostgresRecordsItThereAndLetsASecondReplicaJoin()
    {
        // Given a pipeline and a daemon whose state is in the test's PostgreSQL database
        var name = _workspace.AddHelloPipeline($"pg-{Guid.NewGuid().ToString("N")[..6]}");
        await using var daemon = new DaemonProcess(_workspace.ConfigPath, 5182);
        daemon.Environment[PasswordEnv] = _password;
        await daemon.StartAsync();

        // When a promotion of a digest staging never had is submitted (the cheapest job that runs to an outcome)
        var missing = "sha256:" + new string('0', 64);
        var submitted = await daemon.SendAsync(
            HttpMethod.Post, "/api/jobs", DaemonProcess.AdminSecret, new { kind = "promote", pipeline = name, digest = missing, stage = "production" });
        Assert.True(submitted.IsSuccessStatusCode, $"{submitted.StatusCode}: {await submitted.Content.ReadAsStringAsync()}{Environment.NewLine}{daemon.Output}");
        var id = JsonDocument.Parse(await submitted.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();
        var job = await daemon.WaitForFinalAsync(id, DaemonProcess.AdminSecret, TimeSpan.FromSeconds(60));

        // Then the daemon claimed it and ran it to its outcome, and psql finds exactly that in the jobs table, with its log
        Assert.Equal("failed", job.GetProperty("state").GetString());
        var row = await PsqlAsync(_database, $"SELECT kind || '|' || pipeline || '|' || state || '|' || attempt || '|' || requested_by FROM jobs WHERE id = {id};");
        Assert.True(row.ExitCode == 0, row.Stderr);
        Assert.Equal($"Promote|{name}|Failed|1|admin", row.Stdout.Trim());
        var logLines = await PsqlAsync(_database, $"SELECT count(*) FROM job_log WHERE job_id = {id};");
        Assert.True(int.Parse(logLines.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture) > 0, daemon.Output);
        var version = await PsqlAsync(_database, "SELECT version FROM schema_version;");
        Assert.Equal("8", version.Stdout.Trim());

        // And no state file was made: the state is in PostgreSQL only
        Assert.False(File.Exists(Path.Combine(_workspace.Root, ".orchestrator", "state.db")));
        Assert.False(File.Exists(Path.Combine(_workspace.Root, "state", "state.db")));

        // And a second daemon on the same database starts beside it as a replica (issue 14), both registered as alive
        await using var second = new DaemonProcess(_workspace.ConfigPath, 5183);
        second.Environment[PasswordEnv] = _password;
        await second.StartAsync();
        var expected = $"{daemon.Url},{second.Url}";
        var registered = string.Empty;
        for (var deadline = DateTime.UtcNow.AddSeconds(20); registered != expected && DateTime.UtcNow < deadline; await Task.Delay(200))
        {
            registered = (await PsqlAsync(_database, "SELECT string_agg(urls, ',' ORDER BY urls) FROM replicas WHERE expires_at > to_char(now() AT TIME ZONE 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS');")).Stdout.Trim();
        }

        Assert.Equal(expected, registered);

        // And the SQLite-only maintenance verb refuses, naming PostgreSQL's tools; the password never shows anywhere
        var check = await CliRunner.RunAsync(_workspace.ConfigPath, "state", "check");
        Assert.NotEqual(0, check.ExitCode);
        Assert.Contains("pg_dump", check.Stderr + check.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(_password, daemon.Output + second.Output + check.Stdout + check.Stderr + row.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_PasswordVariableUnset_RefusesNamingTheVariable()
    {
        // Given the workspace's config naming a password variable this process does not set, and a pipeline
        Assert.Null(Environment.GetEnvironmentVariable(PasswordEnv));
        var name = _workspace.AddHelloPipeline($"pg-{Guid.NewGuid().ToString("N")[..6]}");

        // When a verb that opens the state runs
        var run = await CliRunner.RunAsync(_workspace.ConfigPath, "history", name);

        // Then it fails, naming the variable, before touching anything
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(PasswordEnv, run.Stderr + run.Stdout, StringComparison.Ordinal);
    }

    private Task<ProcessWitness.Result> PsqlAsync(string database, string sql) => TestPostgres.PsqlAsync(_password, database, sql);
}
