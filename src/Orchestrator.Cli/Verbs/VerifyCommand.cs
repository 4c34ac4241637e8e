using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Signing;

namespace Orchestrator.Cli.Verbs;

/// <summary>
/// <c>orchestrator verify PIPELINE --stage STAGE [--key KEY.pub …]</c>: the digest the stage serves for the pipeline (as
/// <c>status</c> shows it) and whether a cosign signature under its <c>sha256-HEX.sig</c> tag verifies with one of the
/// keys (<c>--key</c>, else the stage's <c>require-signature</c>). Exit 0 when one does, 1 when none does.
/// </summary>
internal sealed class VerifyCommand : VerbCommand
{
    private readonly Argument<string> _pipeline = VerbArguments.Pipeline();
    private readonly Option<string> _stage = new("--stage") { Description = "The stage whose digest to verify (e.g. production)", Required = true };
    private readonly Option<string[]> _keys = new("--key") { Description = "A PEM ECDSA P-256 public key to verify with (repeatable; default: the stage's require-signature keys)", AllowMultipleArgumentsPerToken = false };

    public VerifyCommand(CliConsole console)
        : base("verify", "Verify the cosign signatures of the digest a stage serves for a pipeline; exit 1 when none verifies with the keys", console)
    {
        Arguments.Add(_pipeline);
        Options.Add(_stage);
        Options.Add(_keys);
    }

    protected override void CheckArguments(ParseResult parseResult) => _ = ReadKeys(parseResult);

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken)
    {
        var pipeline = services.Workspace.GetPipeline(parseResult.GetRequiredValue(_pipeline));
        var stageName = parseResult.GetRequiredValue(_stage);
        var stage = services.Workspace.Config.FindStage(stageName)
            ?? throw new InputException($"no stage named '{stageName}'; the stages are {string.Join(", ", services.Workspace.Config.Stages.Select(s => s.Name))}");
        var keys = ReadKeys(parseResult) is { Count: > 0 } given ? given
            : stage.RequiredSignatureKeys.Count > 0 ? stage.RequiredSignatureKeys
            : throw new InputException(
                $"no key to verify with: pass --key KEY.pub, or give stage '{stage.Name}' 'require-signature: [KEY.pub]' in {services.Workspace.Config.SourceFile}");

        var release = await services.Workflows.Releases.GetReleaseAsync(pipeline.Name, stage.Name, cancellationToken).ConfigureAwait(false);
        var verification = await services.Workflows.Signatures.VerifyAsync(stage.Registry, release.Reference.Repository, release.Digest, keys, cancellationToken).ConfigureAwait(false);
        if (verification.Verified)
        {
            WriteResult(parseResult, ResultDocuments.Verify(pipeline.Name, stage.Name, verification), ResultJsonContext.Default.VerifyDocument,
                $"{verification.Image}: verified with {verification.VerifiedBy.Describe()} ({verification.Tag})");
            return ExitCodes.Success;
        }

        WriteResult(parseResult, ResultDocuments.Verify(pipeline.Name, stage.Name, verification), ResultJsonContext.Default.VerifyDocument);
        Console.Error.WriteLine(
            $"orchestrator: {verification.Image} in {stage.Name} has no signature that verifies with {verification.DescribeKeys()}: {string.Join("; ", verification.Findings)}");
        return ExitCodes.JobFailed;
    }

    // Keys given on the command line, relative to the working directory; read before anything else is opened.
    private List<VerificationKey> ReadKeys(ParseResult parseResult)
    {
        var keys = new List<VerificationKey>();
        foreach (var path in parseResult.GetValue(_keys) ?? [])
        {
            string pem;
            try
            {
                pem = File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new InputException($"--key {path} cannot be read ({(ex is FileNotFoundException or DirectoryNotFoundException ? "no such file" : ex.GetType().Name)}): give the path of a PEM public key");
            }

            keys.Add(VerificationKey.Parse(pem, path));
        }

        return keys;
    }
}
