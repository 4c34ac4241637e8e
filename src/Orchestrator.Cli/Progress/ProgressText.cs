using System.Globalization;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Progress;

/// <summary>The words both renderers use for one <see cref="ProgressEvent"/>'s subject.</summary>
internal static class ProgressText
{
    /// <summary>A blob's digest cut to its algorithm and 12 hex digits, as the CLI prints digests elsewhere.</summary>
    public static string ShortDigest(string digest)
    {
        var colon = digest.IndexOf(':', StringComparison.Ordinal);
        return colon >= 0 && digest.Length > colon + 13 ? digest[..(colon + 13)] : digest;
    }

    /// <summary><c>1.2 s</c>, or <c>850 ms</c> below a second.</summary>
    public static string Seconds(double? seconds) => seconds switch
    {
        null => "?",
        < 1 => (seconds.Value * 1000).ToString("0", CultureInfo.InvariantCulture) + " ms",
        _ => seconds.Value.ToString("0.0", CultureInfo.InvariantCulture) + " s",
    };

    /// <summary>Bytes per second as a size per second, or null when there is no time to divide by.</summary>
    public static string? Rate(long bytes, double? seconds) =>
        seconds is > 0 ? ImageSize.Format((long)(bytes / seconds.Value)) + "/s" : null;

    /// <summary><c>step 2/5</c>.</summary>
    public static string Step(ProgressEvent progress) =>
        string.Create(CultureInfo.InvariantCulture, $"step {progress.Number}/{progress.Count}");

    /// <summary>The instruction of a step, cut to <paramref name="width"/> characters with an ellipsis.</summary>
    public static string Cut(string text, int width) => text.Length <= width ? text : text[..Math.Max(0, width - 1)] + "…";
}
