using System.CommandLine;

namespace Orchestrator.Cli.Infrastructure;

/// <summary>Options every verb accepts.</summary>
internal static class CliOptions
{
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
        Description = "Show engine output (build steps, pulls, pushes) and debug logs",
        Recursive = true,
    };
}
