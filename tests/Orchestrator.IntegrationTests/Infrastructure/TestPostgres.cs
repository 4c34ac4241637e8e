using System.Diagnostics;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// The tests' own PostgreSQL cluster that scripts/setup-postgres starts on 127.0.0.1:5433 (role <c>orchestrator</c>,
/// password in <c>$ORCHESTRATOR_STATE_DIR/postgres/password</c>), and psql as the witness that reads it.
/// </summary>
internal static class TestPostgres
{
    /// <summary>The role's password, read from the file setup-postgres wrote.</summary>
    /// <exception cref="InvalidOperationException">The file is missing: PostgreSQL was not set up.</exception>
    public static string ReadPassword()
    {
        var state = Environment.GetEnvironmentVariable("ORCHESTRATOR_STATE_DIR") is { Length: > 0 } stateDir
            ? stateDir
            : Path.Combine(TestWorkspace.RepoRoot(), ".orchestrator");
        var file = Path.Combine(state, "postgres", "password");
        return File.Exists(file)
            ? File.ReadAllText(file).Trim()
            : throw new InvalidOperationException($"{file} is missing: run scripts/setup-postgres (as root) to start PostgreSQL for the tests");
    }

    /// <summary>Runs <paramref name="sql"/> in <paramref name="database"/> with psql (<c>-qAt</c>: unaligned rows, '|' between columns).</summary>
    public static async Task<ProcessWitness.Result> PsqlAsync(string password, string database, string sql)
    {
        var start = new ProcessStartInfo("psql") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-h", "127.0.0.1", "-p", "5433", "-U", "orchestrator", "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql })
        {
            start.ArgumentList.Add(argument);
        }

        // Through the environment, never the command line other users could read.
        start.Environment["PGPASSWORD"] = password;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start psql");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return new ProcessWitness.Result(process.ExitCode, await stdout, await stderr);
    }
}
