using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Core.Errors;

namespace Orchestrator.Cli.Remote;

/// <summary>Decides whether an invocation talks to a daemon: --server, else $ORCHESTRATOR_URL; the token from $ORCHESTRATOR_TOKEN or --token-env.</summary>
internal static class DaemonConnection
{
    /// <summary>The server URL asked for, or null to run in-process.</summary>
    public static string? ServerOf(ParseResult parseResult, CliEnvironment environment) =>
        parseResult.GetValue(CliOptions.Server) is { Length: > 0 } option
            ? option
            : environment.GetVariable(CliOptions.ServerVariable) is { Length: > 0 } variable ? variable : null;

    /// <summary>A client for the daemon asked for, or null when none is (the verb runs in-process).</summary>
    /// <exception cref="InputException">The URL is not an absolute http(s) URL, or --token-env names no variable.</exception>
    public static DaemonClient? Create(ParseResult parseResult, CliEnvironment environment)
    {
        if (ServerOf(parseResult, environment) is not { } server)
        {
            return null;
        }

        if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new InputException($"'{server}' (from --server or ${CliOptions.ServerVariable}) is not an http:// or https:// URL, e.g. http://127.0.0.1:5080");
        }

        var tokenVariable = parseResult.GetValue(CliOptions.TokenEnv) is { Length: > 0 } named ? named : CliOptions.TokenVariable;
        var token = environment.GetVariable(tokenVariable);
        if (string.IsNullOrEmpty(token) && tokenVariable != CliOptions.TokenVariable)
        {
            throw new InputException($"--token-env names ${tokenVariable}, which is not set: export it with the token's secret, or drop --token-env to use ${CliOptions.TokenVariable}");
        }

        return new DaemonClient(uri, token, tokenVariable, environment.DaemonHandler);
    }
}
