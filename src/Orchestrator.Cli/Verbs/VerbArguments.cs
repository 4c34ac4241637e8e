using System.CommandLine;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;

namespace Orchestrator.Cli.Verbs;

/// <summary>Arguments and options shared by several verbs, and their parsing into domain types.</summary>
internal static class VerbArguments
{
    public static Argument<string> Pipeline() => new("pipeline") { Description = "The pipeline's name (pipelines/NAME.yaml)" };

    public static Option<string?> Digest(string description) => new("--digest", "-d") { Description = description };

    public static Option<bool> NoCache() => new("--no-cache") { Description = "Rebuild even when the build cache has this build, without the engine's layer cache" };

    /// <summary>Parses a digest given on the command line.</summary>
    /// <exception cref="InputException">Malformed; the message says how.</exception>
    public static Digest ParseDigest(string value) =>
        Core.References.Digest.TryParse(value, out var digest, out var error)
            ? digest
            : throw new InputException($"--digest: {error}");
}
