using System.Text.Json;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class ProgressEventsTests
{
    private static readonly Digest Blob = Digest.Sha256Of("progress-blob"u8.ToArray());

    [Fact]
    public void ShouldEmit_ManyEventsWithinAnInterval_LetsTheFirstThroughThenOnePerInterval()
    {
        // Given a throttle of 100 ms on a clock that moves only when told
        var clock = new SteppedClock();
        var throttle = new ProgressThrottle(clock);

        // When 25 events come 10 ms apart (250 ms in all)
        var emitted = 0;
        for (var i = 0; i < 25; i++)
        {
            emitted += throttle.ShouldEmit("sha256:a", final: false) ? 1 : 0;
            clock.Advance(TimeSpan.FromMilliseconds(10));
        }

        // Then only those at 0, 100 and 200 ms went through: at most 10 per second
        Assert.Equal(3, emitted);
    }

    [Fact]
    public void ShouldEmit_FinalEvent_AlwaysGoesThroughAndKeysAreApart()
    {
        // Given a key that just emitted
        var clock = new SteppedClock();
        var throttle = new ProgressThrottle(clock);
        Assert.True(throttle.ShouldEmit("sha256:a", final: false));

        // When the same key's final event and another key's first event come at the same instant
        // Then both go through, while a non-final event of the first key would not
        Assert.False(throttle.ShouldEmit("sha256:a", final: false));
        Assert.True(throttle.ShouldEmit("sha256:b", final: false));
        Assert.True(throttle.ShouldEmit("sha256:a", final: true));
    }

    [Fact]
    public void Report_BlobCopiedInManyChunks_StartedThrottledBytesThenDone()
    {
        // Given a blob of 1000 bytes reported 10 bytes at a time, 1 ms apart
        var clock = new SteppedClock();
        var reporter = new RecordingReporter();
        using var progress = new BlobProgress(reporter, "copy", clock);

        // When every chunk is reported
        for (var chunk = 10; chunk <= 1000; chunk += 10)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            progress.Report(new CopyProgress(Blob, chunk, 1000));
        }

        // Then one start, a byte event per 100 ms at most (here 1 over 100 ms), and one done with every byte and the elapsed time
        Assert.Equal(ProgressKind.BlobStarted, reporter.Events[0].Kind);
        Assert.Equal((Blob.ToString(), "copy", 1000L), (reporter.Events[0].Name, reporter.Events[0].Activity, reporter.Events[0].BytesTotal!.Value));
        var bytes = reporter.Events.Count(e => e.Kind == ProgressKind.BlobBytes);
        Assert.InRange(bytes, 1, 2);
        var done = reporter.Events[^1];
        Assert.Equal((ProgressKind.BlobDone, 1000L, 1000L), (done.Kind, done.BytesDone!.Value, done.BytesTotal!.Value));
        Assert.Equal(0.099, done.ElapsedSeconds!.Value, 3);
    }

    [Fact]
    public void Dispose_BlobNotFinished_ReportsItFailedWithTheBytesItReached()
    {
        // Given a blob that got to 400 of 1000 bytes
        var reporter = new RecordingReporter();
        var progress = new BlobProgress(reporter, "push", new SteppedClock());
        progress.Report(new CopyProgress(Blob, 400, 1000));

        // When the progress is disposed (the copy threw)
        progress.Dispose();

        // Then the blob is reported as failed at 400 bytes, and nothing is reported twice
        var failed = reporter.Events[^1];
        Assert.Equal((ProgressKind.BlobFailed, 400L), (failed.Kind, failed.BytesDone!.Value));
        progress.Dispose();
        Assert.Single(reporter.Events, e => e.Kind == ProgressKind.BlobFailed);
    }

    [Fact]
    public void Report_EngineBuildStream_StepsStartAndFinishInOrderAndEveryMessageIsPassedOn()
    {
        // Given a build's stream with two steps and other output
        var clock = new SteppedClock();
        var reporter = new RecordingReporter();
        var steps = new BuildStepProgress(reporter, new ReporterProgress(reporter), clock);

        // When the stream is reported, 2 s per step, and the build ends well
        steps.Report(new EngineProgress(null, null, "Step 1/2 : FROM 127.0.0.1:5001/base@sha256:abc\n", null, null));
        clock.Advance(TimeSpan.FromSeconds(2));
        steps.Report(new EngineProgress(null, null, " ---> 1234\n", null, null));
        steps.Report(new EngineProgress(null, null, "Step 2/2 : RUN apt-get install -y hello=2.10-3\n", null, null));
        clock.Advance(TimeSpan.FromSeconds(2));
        steps.Complete(succeeded: true);
        steps.Complete(succeeded: true);

        // Then: started 1, finished 1 after 2 s, started 2, finished 2 after 2 s; each message also went on as engine progress
        Assert.Equal(
            [(ProgressKind.StepStarted, 1), (ProgressKind.StepFinished, 1), (ProgressKind.StepStarted, 2), (ProgressKind.StepFinished, 2)],
            reporter.Events.Select(e => (e.Kind, e.Number!.Value)));
        Assert.Equal("RUN apt-get install -y hello=2.10-3", reporter.Events[2].Name);
        Assert.Equal(2, reporter.Events[3].Count);
        Assert.Equal(2.0, reporter.Events[3].ElapsedSeconds);
        Assert.Equal(3, reporter.ProgressMessages.Count);
    }

    [Fact]
    public void Complete_BuildFailedMidStep_ReportsThatStepFailed()
    {
        // Given a build in its first step
        var reporter = new RecordingReporter();
        var steps = new BuildStepProgress(reporter, new ReporterProgress(reporter), new SteppedClock());
        steps.Report(new EngineProgress(null, null, "Step 1/3 : RUN false", null, null));

        // When the build fails
        steps.Complete(succeeded: false);

        // Then the step is reported as failed
        Assert.Equal(ProgressKind.StepFailed, reporter.Events[^1].Kind);
    }

    [Fact]
    public void Serialize_Event_RoundTripsThroughTheSourceGeneratedContextWithoutNulls()
    {
        // Given a step event
        var progress = ProgressEvent.StepEnded(2, 5, "RUN make", succeeded: true, TimeSpan.FromMilliseconds(1234));

        // When it is written as a job log line and read back
        var json = JsonSerializer.Serialize(progress, ProgressJsonContext.Default.ProgressEvent);
        var read = JsonSerializer.Deserialize(json, ProgressJsonContext.Default.ProgressEvent);

        // Then it is camelCase without null fields, and reads back equal
        Assert.Equal("""{"kind":"step-finished","name":"RUN make","number":2,"count":5,"elapsedSeconds":1.234}""", json);
        Assert.Equal(progress, read);
    }
}
