using System.Diagnostics;

namespace Orchestrator.BaseOs;

/// <summary>Runs a tool, streaming each output line to a log file and to the caller's progress.</summary>
internal static class ProcessRunner
{
    internal const int TailLines = 20;

    /// <summary>
    /// Runs <paramref name="fileName"/> to its end. Lines from stdout and stderr go, as they come,
    /// to <paramref name="logFile"/> (appended) and <paramref name="progress"/>. On cancellation the
    /// whole process tree is killed and <see cref="OperationCanceledException"/> thrown once it is gone.
    /// </summary>
    /// <returns>The exit code and the last <see cref="TailLines"/> lines.</returns>
    internal static async Task<ProcessResult> RunAsync(
        string fileName,
        IReadOnlyList<string> arguments,
        string logFile,
        IProgress<string>? progress,
        IReadOnlyDictionary<string, string>? environment = null,
        CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[name] = value;
        }

        var tail = new Queue<string>();
        var gate = new object();
        await using var log = new StreamWriter(new FileStream(logFile, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        lock (gate)
        {
            log.WriteLine("$ " + fileName + " " + string.Join(' ', arguments));
        }

        using var process = new Process { StartInfo = startInfo };
        process.Start();
        process.StandardInput.Close();

        void Line(string line)
        {
            lock (gate)
            {
                log.WriteLine(line);
                tail.Enqueue(line);
                if (tail.Count > TailLines)
                {
                    tail.Dequeue();
                }
            }

            progress?.Report(line);
        }

        async Task PumpAsync(StreamReader reader)
        {
            while (await reader.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
            {
                Line(line);
            }
        }

        var pumps = Task.WhenAll(PumpAsync(process.StandardOutput), PumpAsync(process.StandardError));
        await using (cancellationToken.Register(() => Kill(process)))
        {
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            await pumps.ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        lock (gate)
        {
            log.WriteLine($"exit code {process.ExitCode}");
            return new ProcessResult(process.ExitCode, tail.ToList());
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }
}

/// <summary>How a tool ended: its exit code and the last lines it printed.</summary>
internal sealed record ProcessResult(int ExitCode, IReadOnlyList<string> Tail);
