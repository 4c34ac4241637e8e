using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Workflows;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Jobs.Documents;

namespace Orchestrator.Cli.Verbs;

/// <summary>
/// <c>orchestrator verify-reproducible PIPELINE</c>: rebuild without any cache, without pushing, and compare
/// the digest with the one the first stage holds for the same inputs; exit 1 naming the first differing
/// file when they differ.
/// </summary>
internal sealed class VerifyReproducibleCommand : VerbCommand
{
    private readonly Argument<string> _pipeline = VerbArguments.Pipeline();

    public VerifyReproducibleCommand(CliConsole console)
        : base("verify-reproducible", "Rebuild a locked pipeline with no cache and check it gets the same digest; exit 1 naming the first differing file when not", console)
    {
        Arguments.Add(_pipeline);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken)
    {
        var result = await services.Workflows.Reproducibility.VerifyAsync(parseResult.GetRequiredValue(_pipeline), cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(CliOptions.Json))
        {
            JsonOutput.Write(
                Console.Out,
                new ReproducibilityDocument(
                    result.Pipeline, result.Reproducible, result.Expected.ToString(), result.Rebuilt.ToString(),
                    result.Difference is { } d ? new ImageDifferenceDocument(d.Layer, d.Path, d.Detail) : null),
                ResultJsonContext.Default.ReproducibilityDocument);
        }
        else if (result.Reproducible)
        {
            Console.Out.WriteLine($"{result.Pipeline}: reproducible, rebuilt as {result.Rebuilt}");
        }
        else
        {
            Console.Out.WriteLine($"{result.Pipeline}: NOT reproducible: {result.Expected.Digest} in the registry, {result.Rebuilt} rebuilt");
            Console.Out.WriteLine($"first difference: {result.Difference}");
        }

        return result.Reproducible ? ExitCodes.Success : ExitCodes.JobFailed;
    }
}
