using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class DebootstrapProgressTests
{
    [Fact]
    public void Report_DebootstrapRun_OneLinePerPhaseAndEveryTwentyFivePackagesWithAllRawLinesAsOutput()
    {
        // Given debootstrap's output for 60 packages: release files, then download, extract, install and configure phases
        var reporter = new RecordingReporter();
        var progress = new DebootstrapProgress(reporter);
        var lines = new List<string> { "I: Retrieving InRelease", "I: Validating InRelease", "I: Retrieving Packages", "I: Validating Packages", "I: Resolving dependencies of required packages..." };
        var packages = Enumerable.Range(1, 60).Select(i => $"pkg{i}").ToList();
        lines.AddRange(packages.SelectMany(p => new[] { $"I: Retrieving {p} 1.0-1", $"I: Validating {p} 1.0-1" }));
        lines.AddRange(packages.Take(10).Select(p => $"I: Extracting {p}..."));
        lines.Add("W: something odd");
        lines.AddRange(packages.Take(30).Select(p => $"I: Configuring {p}..."));
        lines.Add("I: Base system installed successfully.");

        // When every line is reported
        foreach (var line in lines)
        {
            progress.Report(line);
        }

        // Then every raw line is output (shown with --verbose), and the details are the phases, counts, warnings and the end
        Assert.Equal(lines, reporter.Outputs);
        Assert.Equal(
            [
                "debootstrap: Retrieving InRelease",
                "debootstrap: Validating InRelease",
                "debootstrap: Retrieving Packages",
                "debootstrap: Validating Packages",
                "debootstrap: Resolving dependencies of required packages...",
                "debootstrap: downloading packages (Retrieving pkg1 1.0-1 …)",
                "debootstrap: downloading packages, 25 so far",
                "debootstrap: downloading packages, 50 so far",
                "debootstrap: extracting packages (Extracting pkg1 …)",
                "debootstrap: W: something odd",
                "debootstrap: configuring packages (Configuring pkg1 …)",
                "debootstrap: configuring packages, 25 so far",
                "debootstrap: Base system installed successfully.",
            ],
            reporter.Details);
    }
}
