using Orchestrator.Cli.Infrastructure;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// A throwaway workspace for CLI tests: orchestrator.yaml whose registries point at closed loopback ports
/// (so a test proves nothing was contacted), a slim base <c>deb</c>, and the pipeline <c>app</c>. Runs the
/// CLI in-process with no environment variables, so a machine's ORCHESTRATOR_URL cannot make a test remote.
/// </summary>
internal sealed class CliWorkspace : IDisposable
{
    public const string DefaultPipeline = """
        name: app
        version: 1.0.0
        base: deb/slim
        repository: apps/app
        """;

    public CliWorkspace(string pipeline = DefaultPipeline, int productionPort = 9)
    {
        Root = Directory.CreateTempSubdirectory("orchestrator-cli-").FullName;
        Directory.CreateDirectory(Path.Combine(Root, "base-images"));
        Directory.CreateDirectory(Path.Combine(Root, "pipelines"));
        File.WriteAllText(ConfigPath, $"""
            stages: [staging, production]
            registries:
              staging: {"{"} url: http://127.0.0.1:9 {"}"}
              production: {"{"} url: http://127.0.0.1:{productionPort} {"}"}
            state:
              path: state/state.db
            """);
        File.WriteAllText(Path.Combine(Root, "base-images", "deb.yaml"), """
            repository: base/deb
            default-variant: slim
            suite: bookworm
            variants:
              slim: { debootstrap-variant: minbase, slim: true }
            """);
        WritePipeline(pipeline);
    }

    public string Root { get; }

    public string ConfigPath => Path.Combine(Root, "orchestrator.yaml");

    /// <summary>The environment tests run in: no variables, the system clock, no daemon.</summary>
    public static CliEnvironment Hermetic { get; } = CliEnvironment.System with { GetVariable = _ => null };

    /// <summary>Writes pipelines/app.yaml.</summary>
    public void WritePipeline(string yaml) => File.WriteAllText(Path.Combine(Root, "pipelines", "app.yaml"), yaml);

    /// <summary>Runs the CLI with <c>--config</c> this workspace, hermetically.</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) => RunAsync(Hermetic, args);

    /// <summary>Runs the CLI with <c>--config</c> this workspace in <paramref name="environment"/>.</summary>
    public async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(CliEnvironment environment, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exitCode = await CliApplication.RunAsync([.. args, "--config", ConfigPath], new CliConsole(stdout, stderr) { Environment = environment });
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
