using System.CommandLine;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Orchestrator.Cli.Remote;
using Orchestrator.Composition;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Workflows;
using Orchestrator.Definitions;

namespace Orchestrator.Cli.Infrastructure;

/// <summary>
/// A verb. Subclasses do the work in <see cref="ExecuteAsync"/>; this class maps the outcome to an exit
/// code: 0 done, 1 the job failed or was refused, 2 bad input or usage. Errors go to standard error
/// as one clear message, and with --json also to standard output as <c>{"error": …}</c>.
/// </summary>
internal abstract class VerbCommand : Command
{
    protected VerbCommand(string name, string description, CliConsole console)
        : base(name, description)
    {
        Console = console;
        SetAction(InvokeAsync);
    }

    protected CliConsole Console { get; }

    /// <summary>True when the verb needs the engine, registries and state; false for definition-only verbs.</summary>
    protected virtual bool NeedsServices => true;

    /// <summary>Whether the verb can (or must) ask a daemon instead of running here.</summary>
    protected virtual RemoteMode Remote => RemoteMode.None;

    /// <summary>True when the verb takes --server and --token-env (it can or must ask a daemon).</summary>
    internal bool TalksToDaemon => Remote != RemoteMode.None;

    /// <summary>Verbs with a <see cref="Remote"/> mode do their work through the daemon here.</summary>
    protected virtual Task<int> ExecuteRemoteAsync(ParseResult parseResult, DaemonClient daemon, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    protected abstract Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken);

    /// <summary>Definition-only verbs override this instead of <see cref="ExecuteAsync"/>.</summary>
    protected virtual Task<int> ExecuteWithoutServicesAsync(ParseResult parseResult, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    private async Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var json = parseResult.GetValue(CliOptions.Json);
        try
        {
            if (Remote != RemoteMode.None)
            {
                using var daemon = DaemonConnection.Create(parseResult, Console.Environment);
                if (daemon is not null)
                {
                    return await ExecuteRemoteAsync(parseResult, daemon, cancellationToken).ConfigureAwait(false);
                }

                if (Remote == RemoteMode.Required)
                {
                    throw new InputException(
                        $"'orchestrator {Name}' asks the daemon: pass --server URL or set {CliOptions.ServerVariable} (e.g. http://127.0.0.1:5080), with the token in {CliOptions.TokenVariable}");
                }
            }

            // Bad arguments are refused before anything is opened or created (state, logs).
            CheckArguments(parseResult);
            if (!NeedsServices)
            {
                return await ExecuteWithoutServicesAsync(parseResult, cancellationToken).ConfigureAwait(false);
            }

            await using var services = await CliServices.CreateAsync(
                parseResult.GetValue(CliOptions.Config), Console, parseResult.GetValue(CliOptions.Verbose), ScopeOf(parseResult), cancellationToken, json).ConfigureAwait(false);
            WriteWarnings(services.Services.Workspace);
            try
            {
                return await ExecuteAsync(parseResult, services.Services, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OrchestratorException and not OperationCanceledException)
            {
                services.Services.LoggerFactory.CreateLogger(GetType()).LogError(exception, "Unexpected failure in {Verb}", Name);
                throw;
            }
        }
        catch (ValidationFailedException failed)
        {
            if (json)
            {
                JsonOutput.Write(Console.Out, ResultDocuments.Validation(failed.Result));
            }

            Console.Error.WriteLine($"orchestrator: {failed.Message}");
            return failed.ExitCode;
        }
        catch (OrchestratorException exception)
        {
            return Fail(exception.Message, exception.ExitCode, json, (exception as DefinitionException)?.Errors);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Fail("cancelled; nothing was tagged after the cancellation", ExitCodes.JobFailed, json, null);
        }
        catch (Exception exception)
        {
            return Fail($"unexpected {exception.GetType().Name}: {exception.Message} (details in the log under .orchestrator/logs; please report it)", ExitCodes.JobFailed, json, null);
        }
    }

    /// <summary>Refuses arguments that cannot work, before any state or log file is opened; verbs override it.</summary>
    /// <exception cref="InputException">The arguments do not make sense together or do not parse.</exception>
    protected virtual void CheckArguments(ParseResult parseResult)
    {
    }

    /// <summary>
    /// The definitions this invocation needs: the pipeline its <c>pipeline</c> argument names (with its lock
    /// and bases) or the base its <c>base</c> argument names; everything when it names none (<c>--all</c>,
    /// <c>status</c> of every pipeline). Problems outside it are warnings, so one broken file does not block
    /// work on another.
    /// </summary>
    protected WorkspaceScope ScopeOf(ParseResult parseResult)
    {
        foreach (var argument in Arguments)
        {
            if (parseResult.GetResult(argument) is { Tokens: [{ } token, ..] })
            {
                switch (argument.Name)
                {
                    case "pipeline":
                        return WorkspaceScope.Pipeline(token.Value);
                    case "base":
                        return WorkspaceScope.Base(token.Value);
                }
            }
        }

        return WorkspaceScope.Everything;
    }

    /// <summary>Problems in definitions this invocation does not need: on standard error, each at file:line:column, and the verb goes on.</summary>
    protected void WriteWarnings(Workspace workspace)
    {
        foreach (var warning in workspace.Warnings)
        {
            Console.Error.WriteLine($"orchestrator: warning: {warning}");
        }

        if (workspace.Warnings.Count > 0)
        {
            Console.Error.WriteLine($"orchestrator: warning: {workspace.Warnings.Count} problem(s) in definitions this command does not use; they were skipped ('orchestrator check' reports them as errors)");
        }
    }

    private int Fail(string message, int exitCode, bool json, IReadOnlyList<DefinitionError>? errors)
    {
        Console.Error.WriteLine($"orchestrator: {message}");
        if (json)
        {
            JsonOutput.Write(Console.Out, JsonOutput.Error(message, exitCode, errors));
        }

        return exitCode;
    }

    /// <summary>Writes the result: JSON when asked, otherwise the human line(s).</summary>
    protected void WriteResult<T>(ParseResult parseResult, T jsonResult, JsonTypeInfo<T> jsonType, params string[] humanLines)
    {
        if (parseResult.GetValue(CliOptions.Json))
        {
            JsonOutput.Write(Console.Out, jsonResult, jsonType);
            return;
        }

        foreach (var line in humanLines)
        {
            Console.Out.WriteLine(line);
        }
    }
}

/// <summary>How a verb relates to a daemon.</summary>
internal enum RemoteMode
{
    /// <summary>Always runs here.</summary>
    None,

    /// <summary>Asks the daemon when one is set (--server or $ORCHESTRATOR_URL), else runs here.</summary>
    Optional,

    /// <summary>Only the daemon has the answer (its jobs); without one it is a usage error.</summary>
    Required,
}
