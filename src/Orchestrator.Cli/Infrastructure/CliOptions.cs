using System.CommandLine;

namespace Orchestrator.Cli.Infrastructure;

/// <summary>Options every verb accepts.</summary>
internal static class CliOptions
{
    /// <summary>The environment variable naming the daemon, when --server is not given.</summary>
    public const string ServerVariable = "ORCHESTRATOR_URL";

    /// <summary>The environment variable holding the bearer token, unless --token-env names another.</summary>
    public const string TokenVariable = "ORCHESTRATOR_TOKEN";

    public static readonly Option<FileInfo?> Config = new("--config", "-c")
    {
        Description = "orchestrator.yaml to use (default: $ORCHESTRATOR_CONFIG, else orchestrator.yaml in this folder or the nearest parent)",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print a machine-readable JSON result on standard output",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Also show the engine's full output (each build step's output, pulls, pushes) and debug logs; the build's 'Step N/M' lines show without it",
        Recursive = true,
    };

    public static readonly Option<string?> Server = new("--server")
    {
        Description = $"Submit the work to the daemon at this URL instead of running it here (default: ${ServerVariable}; unset: run in-process)",
    };

    // Deliberately no --token option: a secret on the command line leaks into shell history and process lists.
    public static readonly Option<string?> TokenEnv = new("--token-env")
    {
        Description = $"The environment variable holding the daemon's bearer token (default: {TokenVariable})",
    };
}
