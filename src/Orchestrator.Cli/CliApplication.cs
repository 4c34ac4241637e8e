using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Cli.Verbs;
using Orchestrator.Core.Errors;

namespace Orchestrator.Cli;

/// <summary>The command tree, and one invocation of it with given output writers (so tests run it in-process).</summary>
internal static class CliApplication
{
    public static RootCommand CreateRootCommand(CliConsole console)
    {
        var root = new RootCommand("Orchestrator: build images on full and slim bases with pinned packages, validate the exact digest, promote the same digest to production.");
        root.Options.Add(CliOptions.Config);
        root.Options.Add(CliOptions.Json);
        root.Options.Add(CliOptions.Verbose);
        root.Subcommands.Add(new BaseCommand(console));
        root.Subcommands.Add(new BuildCommand(console));
        root.Subcommands.Add(new ValidateCommand(console));
        root.Subcommands.Add(new PromoteCommand(console));
        root.Subcommands.Add(new RunCommand(console));
        root.Subcommands.Add(new CheckCommand(console));
        root.Subcommands.Add(new JobsCommand(console));
        root.Subcommands.Add(new JobCommand(console));
        root.Subcommands.Add(new StatusCommand(console));
        root.Subcommands.Add(new HistoryCommand(console));
        root.Subcommands.Add(new ReleaseCommand(console));
        root.Subcommands.Add(new DaemonCommand(console));
        root.Subcommands.Add(new LockCommand(console));
        root.Subcommands.Add(new OutdatedCommand(console));
        root.Subcommands.Add(new VerifyReproducibleCommand(console));
        root.Subcommands.Add(new VerifyCommand(console));
        root.Subcommands.Add(new StateCommand(console));
        root.Subcommands.Add(new CacheCommand(console));

        // --server and --token-env only where a daemon can answer: 'daemon --help' and local-only verbs do not list them.
        foreach (var verb in root.Subcommands.OfType<VerbCommand>().Where(v => v.TalksToDaemon))
        {
            verb.Options.Add(CliOptions.Server);
            verb.Options.Add(CliOptions.TokenEnv);
        }

        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code (usage errors are 2, not System.CommandLine's 1).</summary>
    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
    {
        var parseResult = CreateRootCommand(console).Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            foreach (var error in parseResult.Errors)
            {
                await console.Error.WriteLineAsync($"orchestrator: {error.Message}").ConfigureAwait(false);
            }

            await console.Error.WriteLineAsync("orchestrator: run 'orchestrator --help' for usage").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        var configuration = new InvocationConfiguration { Output = console.Out, Error = console.Error };
        return await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }
}
