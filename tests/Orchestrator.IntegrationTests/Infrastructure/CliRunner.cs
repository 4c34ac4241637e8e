using System.Text.Json;
using Orchestrator.Cli;
using Orchestrator.Cli.Infrastructure;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>Runs the CLI in-process, as a user would from a shell, capturing its output.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;

        public override string ToString() => $"exit {ExitCode}{Environment.NewLine}stdout:{Environment.NewLine}{Stdout}{Environment.NewLine}stderr:{Environment.NewLine}{Stderr}";
    }

    public static async Task<Result> RunAsync(string configPath, params string[] arguments)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exitCode = await CliApplication.RunAsync([.. arguments, "--config", configPath], new CliConsole(stdout, stderr));
        return new Result(exitCode, stdout.ToString(), stderr.ToString());
    }
}
