namespace Orchestrator.Core.Workflows;

/// <summary>
/// Turns debootstrap's output into progress a person sees without <c>--verbose</c>: a detail line when it enters a
/// phase (downloading, extracting, installing, configuring the packages) and one every <see cref="Every"/> packages
/// within it, so the half minute it takes is not silence. Every raw line still goes to
/// <see cref="IJobReporter.Output"/>, shown with <c>--verbose</c>.
/// </summary>
/// <remarks>
/// debootstrap as Debian bookworm ships it prints <c>I: Retrieving P V</c> and <c>I: Validating P V</c> in turn for each
/// package, then <c>I: Extracting P...</c>, <c>I: Unpacking P...</c> / <c>I: Installing …</c> and
/// <c>I: Configuring P...</c>; the other <c>I:</c> lines (release files, dependency resolution, the final
/// "Base system installed successfully") are shown as they are. <c>W:</c> and <c>E:</c> lines are always shown.
/// </remarks>
internal sealed class DebootstrapProgress(IJobReporter reporter) : IProgress<string>
{
    /// <summary>How many packages of one phase pass between two progress lines.</summary>
    public const int Every = 25;

    private string? _phase;
    private int _count;

    public void Report(string value)
    {
        reporter.Output(value);
        if (value.StartsWith("W: ", StringComparison.Ordinal) || value.StartsWith("E: ", StringComparison.Ordinal))
        {
            reporter.Detail($"debootstrap: {value}");
            return;
        }

        if (!value.StartsWith("I: ", StringComparison.Ordinal))
        {
            return;
        }

        var message = value[3..].Trim();
        var verb = message.Split(' ', 2)[0];
        var phase = verb switch
        {
            "Retrieving" or "Validating" => "downloading",
            "Extracting" => "extracting",
            "Unpacking" or "Installing" => "installing",
            "Configuring" => "configuring",
            _ => null,
        };

        // Release files and package lists are retrieved and validated one by one too, but they are few: show them.
        var isPackage = phase is not null && !message.Contains("Release", StringComparison.Ordinal) && !message.Contains("Packages", StringComparison.Ordinal);
        if (!isPackage)
        {
            _phase = null;
            reporter.Detail($"debootstrap: {message}");
            return;
        }

        // Retrieving and Validating alternate per package: count each package once, on Retrieving.
        if (verb == "Validating")
        {
            return;
        }

        if (phase != _phase)
        {
            _phase = phase;
            _count = 0;
            reporter.Detail($"debootstrap: {phase} packages ({message.TrimEnd('.')} …)");
        }

        _count++;
        if (_count % Every == 0)
        {
            reporter.Detail($"debootstrap: {phase} packages, {_count} so far");
        }
    }
}
