using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Images;

/// <summary>
/// A forward-only read stream over a blob's bytes that tells <see cref="IProgress{T}"/> how many have been read, for
/// a push's progress. It never seeks, so an upload that retries from the start opens the blob again; reads count once.
/// </summary>
internal sealed class ProgressReadStream(Stream inner, Descriptor blob, IProgress<CopyProgress> progress) : Stream
{
    private long _read;

    /// <summary><paramref name="stream"/> itself when there is no <paramref name="progress"/>, else a counting wrapper that owns it.</summary>
    public static Stream Wrap(Stream stream, Descriptor blob, IProgress<CopyProgress>? progress) =>
        progress is null ? stream : new ProgressReadStream(stream, blob, progress);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Counted(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Counted(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private int Counted(int n)
    {
        if (n > 0)
        {
            _read += n;
            progress.Report(new CopyProgress(blob.Digest, Math.Min(_read, blob.Size), blob.Size));
        }

        return n;
    }
}
