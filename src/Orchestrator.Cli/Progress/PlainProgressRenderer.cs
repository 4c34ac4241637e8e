using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Progress;

/// <summary>
/// Progress as plain lines, for a standard error that is not a terminal (a file, a pipe, CI) or <c>TERM=dumb</c>: one
/// line when a blob, build step or test starts and one when it ends, byte events dropped, no ANSI escapes and no
/// carriage returns, so the output reads the same in a log file as it did live.
/// </summary>
internal sealed class PlainProgressRenderer(TextWriter writer) : IProgressRenderer
{
    private readonly Lock _gate = new();

    public void WriteLine(string line)
    {
        lock (_gate)
        {
            writer.WriteLine(line);
        }
    }

    public void Render(ProgressEvent progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (Format(progress) is { } line)
        {
            // Names come from definitions and engines: a control character in one must not move the cursor.
            WriteLine(string.Create(line.Length, line, static (span, text) =>
            {
                for (var i = 0; i < text.Length; i++)
                {
                    span[i] = char.IsControl(text[i]) ? ' ' : text[i];
                }
            }));
        }
    }

    /// <summary>The line for <paramref name="progress"/>, or null for the kinds plain output leaves out (byte counts).</summary>
    internal static string? Format(ProgressEvent progress) => progress.Kind switch
    {
        ProgressKind.BlobStarted => $"    {progress.Activity} {ProgressText.ShortDigest(progress.Name)} started ({ImageSize.Format(progress.BytesTotal ?? 0)})",
        ProgressKind.BlobDone => $"    {progress.Activity} {ProgressText.ShortDigest(progress.Name)} done: {ImageSize.Format(progress.BytesTotal ?? 0)} in {ProgressText.Seconds(progress.ElapsedSeconds)}" +
            (ProgressText.Rate(progress.BytesTotal ?? 0, progress.ElapsedSeconds) is { } rate ? $" ({rate})" : string.Empty),
        ProgressKind.BlobFailed => $"    {progress.Activity} {ProgressText.ShortDigest(progress.Name)} stopped at {ImageSize.Format(progress.BytesDone ?? 0)} of {ImageSize.Format(progress.BytesTotal ?? 0)} after {ProgressText.Seconds(progress.ElapsedSeconds)}",
        ProgressKind.StepStarted => $"    {ProgressText.Step(progress)}: {progress.Name}",
        ProgressKind.StepFinished => $"    {ProgressText.Step(progress)} done in {ProgressText.Seconds(progress.ElapsedSeconds)}",
        ProgressKind.StepFailed => $"    {ProgressText.Step(progress)} failed after {ProgressText.Seconds(progress.ElapsedSeconds)}",
        ProgressKind.TestStarted => $"    test {progress.Activity} '{progress.Name}' started",
        ProgressKind.TestPassed => $"    PASS {progress.Activity} '{progress.Name}' ({ProgressText.Seconds(progress.ElapsedSeconds)})",
        ProgressKind.TestFailed => $"    FAIL {progress.Activity} '{progress.Name}' ({ProgressText.Seconds(progress.ElapsedSeconds)})" +
            (string.IsNullOrEmpty(progress.Detail) ? string.Empty : ": " + progress.Detail),
        _ => null,
    };

    public void Dispose()
    {
    }
}
