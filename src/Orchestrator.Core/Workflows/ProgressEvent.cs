using System.Text.Json.Serialization;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// One structured progress event of a job, for a person watching it: a blob's bytes moving, a build step
/// starting or finishing, a validation test starting, passing or failing. Reporters render it (a live bar on a
/// terminal, a plain line otherwise); the daemon keeps it in the job's log (kind <see cref="LogKind"/>, the
/// message this record as JSON through <see cref="ProgressJsonContext"/>) so a CLI following the job renders the same.
/// </summary>
/// <param name="Kind">What happened: one of <see cref="ProgressKind"/>'s constants.</param>
/// <param name="Name">Whose progress: a blob's digest (<c>sha256:…</c>), a build step's instruction text, a test's name.</param>
public sealed record ProgressEvent(string Kind, string Name)
{
    /// <summary>The job log kind that carries a serialized <see cref="ProgressEvent"/>.</summary>
    public const string LogKind = "event";

    /// <summary>Blobs: <c>copy</c> (registry to registry), <c>push</c> (a build's layer) or <c>mount</c>; tests: their kind (command, file, …).</summary>
    public string? Activity { get; init; }

    /// <summary>Blobs: bytes done so far.</summary>
    public long? BytesDone { get; init; }

    /// <summary>Blobs: the blob's size in bytes.</summary>
    public long? BytesTotal { get; init; }

    /// <summary>Build steps: this step's number, from 1.</summary>
    public int? Number { get; init; }

    /// <summary>Build steps: how many steps the build has.</summary>
    public int? Count { get; init; }

    /// <summary>Finished things: seconds since they started.</summary>
    public double? ElapsedSeconds { get; init; }

    /// <summary>A failed test: the first line of what failed.</summary>
    public string? Detail { get; init; }

    /// <summary>True for the kinds that end what a started kind began (done, finished, passed, failed).</summary>
    [JsonIgnore]
    public bool IsEnd => Kind is ProgressKind.BlobDone or ProgressKind.BlobFailed or ProgressKind.StepFinished or ProgressKind.StepFailed
        or ProgressKind.TestPassed or ProgressKind.TestFailed;

    /// <summary>A blob transfer starts (<paramref name="total"/> bytes).</summary>
    public static ProgressEvent BlobStarted(string digest, string activity, long total) =>
        new(ProgressKind.BlobStarted, digest) { Activity = activity, BytesDone = 0, BytesTotal = total };

    /// <summary>A blob transfer moved on to <paramref name="done"/> of <paramref name="total"/> bytes.</summary>
    public static ProgressEvent BlobBytes(string digest, string activity, long done, long total) =>
        new(ProgressKind.BlobBytes, digest) { Activity = activity, BytesDone = done, BytesTotal = total };

    /// <summary>A blob transfer ended with every byte in the target.</summary>
    public static ProgressEvent BlobDone(string digest, string activity, long total, TimeSpan elapsed) =>
        new(ProgressKind.BlobDone, digest) { Activity = activity, BytesDone = total, BytesTotal = total, ElapsedSeconds = Seconds(elapsed) };

    /// <summary>A blob transfer stopped before its last byte (the copy failed or was cancelled).</summary>
    public static ProgressEvent BlobFailed(string digest, string activity, long done, long total, TimeSpan elapsed) =>
        new(ProgressKind.BlobFailed, digest) { Activity = activity, BytesDone = done, BytesTotal = total, ElapsedSeconds = Seconds(elapsed) };

    /// <summary>Build step <paramref name="number"/> of <paramref name="count"/> starts.</summary>
    public static ProgressEvent StepStarted(int number, int count, string instruction) =>
        new(ProgressKind.StepStarted, instruction) { Number = number, Count = count };

    /// <summary>Build step <paramref name="number"/> of <paramref name="count"/> ended, well or not.</summary>
    public static ProgressEvent StepEnded(int number, int count, string instruction, bool succeeded, TimeSpan elapsed) =>
        new(succeeded ? ProgressKind.StepFinished : ProgressKind.StepFailed, instruction) { Number = number, Count = count, ElapsedSeconds = Seconds(elapsed) };

    /// <summary>A validation test starts.</summary>
    public static ProgressEvent TestStarted(string kind, string name) => new(ProgressKind.TestStarted, name) { Activity = kind };

    /// <summary>A validation test ended; <paramref name="detail"/> says what failed.</summary>
    public static ProgressEvent TestEnded(string kind, string name, bool passed, TimeSpan elapsed, string? detail = null) =>
        new(passed ? ProgressKind.TestPassed : ProgressKind.TestFailed, name) { Activity = kind, ElapsedSeconds = Seconds(elapsed), Detail = passed ? null : detail };

    private static double Seconds(TimeSpan elapsed) => Math.Round(elapsed.TotalSeconds, 3);
}

/// <summary>The kinds of <see cref="ProgressEvent"/>, as they are written in a job's log.</summary>
public static class ProgressKind
{
    public const string BlobStarted = "blob-started";
    public const string BlobBytes = "blob-bytes";
    public const string BlobDone = "blob-done";
    public const string BlobFailed = "blob-failed";
    public const string StepStarted = "step-started";
    public const string StepFinished = "step-finished";
    public const string StepFailed = "step-failed";
    public const string TestStarted = "test-started";
    public const string TestPassed = "test-passed";
    public const string TestFailed = "test-failed";
}

/// <summary>The source-generated (AOT-clean) serializer of <see cref="ProgressEvent"/>: camelCase, nulls omitted.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProgressEvent))]
public sealed partial class ProgressJsonContext : JsonSerializerContext;
