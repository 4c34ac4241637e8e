using Orchestrator.Core.Workflows;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Orchestrator.Cli.Progress;

/// <summary>
/// Progress live on a terminal (standard error a TTY, not <c>--json</c>, <c>TERM</c> not <c>dumb</c>) with Spectre.Console's
/// <see cref="Spectre.Console.Progress"/>: a bar per blob with its bytes, rate and time left; the running build step with its
/// elapsed time; each test with its elapsed time, then ✓ or ✗. The display runs only while something is running: when the
/// last bar, step or test ends it stops and leaves its last frame, so lines written between (steps, details) and the verb's
/// result never interleave with a redraw. Lines written while it runs appear above it. Thread-safe.
/// </summary>
internal sealed class LiveProgressRenderer(IAnsiConsole console) : IProgressRenderer
{
    private const string BytesKey = "bytes";
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ProgressTask> _tasks = new(StringComparer.Ordinal);
    private ProgressContext? _context;
    private TaskCompletionSource? _stop;
    private Task? _display;

    public void WriteLine(string line)
    {
        lock (_gate)
        {
            console.WriteLine(line);
        }
    }

    public void Render(ProgressEvent progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        lock (_gate)
        {
            switch (progress.Kind)
            {
                case ProgressKind.BlobStarted:
                    Start("blob:" + progress.Name, $"{progress.Activity} {ProgressText.ShortDigest(progress.Name)}", Math.Max(1, progress.BytesTotal ?? 1), bytes: true);
                    break;
                case ProgressKind.BlobBytes when _tasks.TryGetValue("blob:" + progress.Name, out var blob):
                    blob.Value = progress.BytesDone ?? blob.Value;
                    break;
                case ProgressKind.BlobDone:
                    End("blob:" + progress.Name, null, "[green]✓[/]");
                    break;
                case ProgressKind.BlobFailed:
                    End("blob:" + progress.Name, null, "[red]✗[/]", complete: false);
                    break;
                case ProgressKind.StepStarted:
                    Start(StepKey(progress), $"{ProgressText.Step(progress)} {Markup.Escape(ProgressText.Cut(progress.Name, 48))}", 1, bytes: false);
                    break;
                case ProgressKind.StepFinished:
                    End(StepKey(progress), null, "[green]✓[/]");
                    break;
                case ProgressKind.StepFailed:
                    End(StepKey(progress), null, "[red]✗[/]", complete: false);
                    break;
                case ProgressKind.TestStarted:
                    Start("test:" + progress.Name, $"test {Markup.Escape(progress.Name)}", 1, bytes: false);
                    break;
                case ProgressKind.TestPassed or ProgressKind.TestFailed:
                    EndTest(progress);
                    break;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var task in _tasks.Values)
            {
                task.StopTask();
            }

            _tasks.Clear();
            StopDisplay();
        }
    }

    private static string StepKey(ProgressEvent progress) => $"step:{progress.Number}";

    private void Start(string key, string description, double maxValue, bool bytes)
    {
        if (_tasks.ContainsKey(key))
        {
            return; // a retry of the same blob: keep its bar
        }

        var task = Context().AddTask(description, autoStart: true, maxValue: maxValue);
        task.IsIndeterminate = !bytes;
        task.State.Update<bool>(BytesKey, _ => bytes);
        _tasks[key] = task;
    }

    private void End(string key, string? description, string mark, bool complete = true)
    {
        if (!_tasks.Remove(key, out var task))
        {
            return;
        }

        task.Description = $"{mark} {description ?? task.Description}";
        task.IsIndeterminate = false;
        if (complete)
        {
            task.Value = task.MaxValue;
        }

        task.StopTask();
        if (_tasks.Count == 0)
        {
            StopDisplay();
        }
    }

    private void EndTest(ProgressEvent progress)
    {
        var passed = progress.Kind == ProgressKind.TestPassed;
        var mark = passed ? "[green]✓[/]" : "[red]✗[/]";
        var description = $"{Markup.Escape(progress.Activity ?? "test")} {Markup.Escape(progress.Name)}";
        if (_tasks.ContainsKey("test:" + progress.Name))
        {
            End("test:" + progress.Name, description, mark, complete: true);
        }
        else
        {
            // File, metadata and size tests have no start: their outcome is one line.
            console.MarkupLine($"{mark} {description} [grey]({ProgressText.Seconds(progress.ElapsedSeconds)})[/]");
        }

        if (!passed && !string.IsNullOrEmpty(progress.Detail))
        {
            console.MarkupLine($"    [red]{Markup.Escape(progress.Detail)}[/]");
        }
    }

    private ProgressContext Context()
    {
        if (_context is { } context)
        {
            return context;
        }

        var ready = new TaskCompletionSource<ProgressContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var display = new Spectre.Console.Progress(console)
        {
            AutoClear = false,
            HideCompleted = false,
            AutoRefresh = true,
        }.Columns(
            new TaskDescriptionColumn { Alignment = Justify.Left },
            new ProgressBarColumn(),
            new BytesOnly(new PercentageColumn()),
            new BytesOnly(new DownloadedColumn()),
            new BytesOnly(new TransferSpeedColumn()),
            new BytesOnly(new RemainingTimeColumn()),
            new ElapsedTimeColumn());
        _display = Task.Run(() => display.StartAsync(async ctx =>
        {
            ready.TrySetResult(ctx);
            await stop.Task.ConfigureAwait(false);
        }));
        _stop = stop;

        // The display can fail before it calls back (another live display on this console): surface that, never hang.
        Task.WhenAny(ready.Task, _display).GetAwaiter().GetResult();
        if (!ready.Task.IsCompleted)
        {
            _display.GetAwaiter().GetResult();
            throw new InvalidOperationException("the progress display ended before it started");
        }

        _context = ready.Task.Result;
        return _context;
    }

    private void StopDisplay()
    {
        if (_stop is null || _display is null)
        {
            return;
        }

        _stop.TrySetResult();
        _display.GetAwaiter().GetResult();
        _stop = null;
        _display = null;
        _context = null;
    }

    /// <summary>A column shown only for tasks that count bytes (blobs); empty for steps and tests.</summary>
    private sealed class BytesOnly(ProgressColumn inner) : ProgressColumn
    {
        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            task.State.Get<bool>(BytesKey) ? inner.Render(options, task, deltaTime) : Text.Empty;

        public override int? GetColumnWidth(RenderOptions options) => inner.GetColumnWidth(options);
    }
}
