using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Locks;
using Orchestrator.Core.Workflows;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Jobs.Documents;

namespace Orchestrator.Cli.Verbs;

/// <summary>
/// <c>orchestrator outdated</c>: locked pipelines whose base moved since the lock, and locked packages the
/// mirror now has newer versions of, security updates first. Informational: exits 0 either way.
/// </summary>
internal sealed class OutdatedCommand : VerbCommand
{
    public OutdatedCommand(CliConsole console)
        : base("outdated", "List locked pipelines whose base moved and packages with newer versions in the mirror (security updates first)", console)
    {
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken)
    {
        var reports = await services.Workflows.Locks.OutdatedAsync(cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(CliOptions.Json))
        {
            var document = new OutdatedDocument([.. reports.Select(r => new OutdatedPipelineDocument(
                r.Pipeline,
                r.Base,
                r.LockedBaseDigest.ToString(),
                r.CurrentBaseDigest.ToString(),
                r.BaseOutdated,
                [.. r.Packages.Select(p => new OutdatedPackageDocument(p.Name, p.Locked, p.Candidate, p.Security, p.Direct))]))]);
            JsonOutput.Write(Console.Out, document, ResultJsonContext.Default.OutdatedDocument);
            return ExitCodes.Success;
        }

        var table = new TextTable("PIPELINE", "PACKAGE", "LOCKED", "AVAILABLE", "KIND");
        foreach (var report in reports)
        {
            if (report.BaseOutdated)
            {
                table.Add(report.Pipeline, $"base {report.Base}", report.LockedBaseDigest.ToShortString(), report.CurrentBaseDigest.ToShortString(), "base");
            }

            foreach (var package in report.Packages)
            {
                table.Add(report.Pipeline, package.Name, package.Locked, package.Candidate, package.Security ? "security" : "update");
            }
        }

        if (table.Count > 0)
        {
            table.Write(Console.Out);
            Console.Error.WriteLine("move a fresh lock to what the mirror serves now with 'orchestrator lock --update PIPELINE'");
        }
        else
        {
            Console.Out.WriteLine(reports.Count == 0
                ? "no pipeline has a lock yet: 'orchestrator lock NAME' writes one"
                : $"all {reports.Count} locked pipeline(s) are up to date");
        }

        return ExitCodes.Success;
    }
}
