using Orchestrator.Core.Errors;

namespace Orchestrator.Registry;

/// <summary>
/// Tuning of the registry client and the copy engine. Every property has a default that suits a
/// registry on the same network; <see cref="Validate"/> reports every out-of-range value at once.
/// </summary>
public sealed class RegistryClientOptions
{
    /// <summary>The defaults, shared; never mutate it.</summary>
    internal static RegistryClientOptions Default { get; } = new();

    /// <summary>
    /// Retries after a transient failure (Core's <see cref="Core.Errors.TransientFailure"/>: 408, 429, 500, 502,
    /// 503, 504, a refused or broken connection, an attempt timeout), per request, and per blob for streamed
    /// copies. 0 disables retries. Default 3; allowed 0 to 10.
    /// </summary>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>
    /// The base of the exponential backoff between retries (with jitter); a <c>Retry-After</c> header
    /// overrides it. Default 1 s; allowed 0 to 1 minute.
    /// </summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long one attempt may take until the response headers arrive: for an upload that includes sending its
    /// body (a chunk of up to <see cref="ChunkSize"/> bytes, or a whole blob up to <see cref="MonolithicUploadLimit"/>),
    /// so keep it well above the time that takes; response bodies (blob downloads) stream without a limit.
    /// Default 100 s; allowed 1 s to 1 hour.
    /// </summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>Bytes per <c>PATCH</c> of a chunked blob upload. Default 16 MiB; allowed 1 KiB to 1 GiB.</summary>
    public int ChunkSize { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Blobs up to this many bytes are uploaded in one streamed <c>PUT</c>; larger ones in chunks of
    /// <see cref="ChunkSize"/>. Default 128 MiB: most layers go in one request, as skopeo sends them (every chunk
    /// boundary waits a round trip for the registry's answer before the next byte moves; one request per blob saved
    /// the registries about 5 % of their CPU on a 256 MiB promotion, bench/README.md). The
    /// <see cref="AttemptTimeout"/> then needs at least 1.3 MB/s to the registry: lower this for slow links or a
    /// proxy that caps request bodies. Allowed 0 (always chunked) and up.
    /// </summary>
    public long MonolithicUploadLimit { get; set; } = 128L * 1024 * 1024;

    /// <summary>
    /// Blobs copied (or checked while planning) at the same time, per target registry: concurrent copies by one
    /// <see cref="ImageCopier"/> into the same registry share this bound. Default 4; allowed 1 to 32.
    /// </summary>
    public int MaxParallelBlobCopies { get; set; } = 4;

    /// <summary>
    /// Of the <see cref="MaxParallelBlobCopies"/>, how many may be large blobs (8 MiB and up) moving bytes at once, per
    /// target registry. A place is given back when a blob's last byte is sent, before the registry answers its commit.
    /// More streams share the same link and CPU without moving bytes faster, and make every large blob end at about the
    /// same time, so the registry's commits (distribution flushes each blob file to disk before answering) pile up at the
    /// end of the copy instead of overlapping the bytes still moving (after the last byte of an 85 MiB blob, the
    /// loopback distribution 2.8 of bench/ answered in 0.19–0.29 s, for 17 MiB in 0.10–0.16 s: bench/README.md). Small blobs are latency-bound and use the
    /// other places. Default 2; allowed 1 to 32.
    /// </summary>
    public int MaxParallelLargeBlobCopies { get; set; } = 2;

    /// <summary>
    /// Requests per second to one registry, summed over every client and copy of one factory (a token
    /// bucket with a burst of one second's worth). 0 sets no steady limit; a <c>429</c> still pauses
    /// every request to that registry for its <c>Retry-After</c>. Default 0; allowed 0 to 10000.
    /// </summary>
    public double RequestsPerSecond { get; set; }

    /// <summary>Checks every value.</summary>
    /// <exception cref="InputException">One or more values are out of range; the message lists each with its allowed range.</exception>
    public void Validate()
    {
        var errors = new List<string>();
        if (MaxRetryAttempts is < 0 or > 10)
        {
            errors.Add($"MaxRetryAttempts is {MaxRetryAttempts}: use 0 to 10");
        }

        if (RetryDelay < TimeSpan.Zero || RetryDelay > TimeSpan.FromMinutes(1))
        {
            errors.Add($"RetryDelay is {RetryDelay}: use 0 to 1 minute");
        }

        if (AttemptTimeout < TimeSpan.FromSeconds(1) || AttemptTimeout > TimeSpan.FromHours(1))
        {
            errors.Add($"AttemptTimeout is {AttemptTimeout}: use 1 second to 1 hour");
        }

        if (ChunkSize is < 1024 or > 1024 * 1024 * 1024)
        {
            errors.Add($"ChunkSize is {ChunkSize} bytes: use 1 KiB (1024) to 1 GiB");
        }

        if (MonolithicUploadLimit < 0)
        {
            errors.Add($"MonolithicUploadLimit is {MonolithicUploadLimit} bytes: use 0 or more");
        }

        if (MaxParallelBlobCopies is < 1 or > 32)
        {
            errors.Add($"MaxParallelBlobCopies is {MaxParallelBlobCopies}: use 1 to 32");
        }

        if (MaxParallelLargeBlobCopies is < 1 or > 32)
        {
            errors.Add($"MaxParallelLargeBlobCopies is {MaxParallelLargeBlobCopies}: use 1 to 32");
        }

        if (RequestsPerSecond is < 0 or > 10_000 || double.IsNaN(RequestsPerSecond))
        {
            errors.Add($"RequestsPerSecond is {RequestsPerSecond}: use 0 (no limit) to 10000");
        }

        if (errors.Count > 0)
        {
            throw new InputException("invalid registry client options: " + string.Join("; ", errors));
        }
    }
}
