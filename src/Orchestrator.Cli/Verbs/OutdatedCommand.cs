using System.CommandLine;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Locks;
using Orchestrator.Core.Workflows;

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
            JsonOutput.Write(Console.Out, new
            {
                pipelines = reports.Select(r => new
                {
                    pipeline = r.Pipeline,
                    @base = r.Base,
                    lockedBaseDigest = r.LockedBaseDigest.ToString(),
                    currentBaseDigest = r.CurrentBaseDigest.ToString(),
                    baseOutdated = r.BaseOutdated,
                    packages = r.Packages.Select(p => new { name = p.Name, locked = p.Locked, candidate = p.Candidate, security = p.Security, direct = p.Direct }),
                }),
            });
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
