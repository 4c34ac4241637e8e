using System.Security.Cryptography;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;

namespace Orchestrator.Registry;

/// <summary>
/// A read-only pass-through that hashes and counts what flows through it and fails before handing
/// over the last byte when the content is not <c>size</c> bytes hashing to <c>digest</c>. Withholding
/// the final bytes matters: a receiver streaming an upload with a Content-Length never sees a
/// complete body, so it cannot commit bad content.
/// </summary>
internal sealed class VerifyingStream : Stream
{
    private readonly Stream _inner;
    private readonly Digest _digest;
    private readonly long _size;
    private readonly string _what;
    private readonly Action<long>? _onProgress;
    private readonly long _progressStep;
    private readonly IncrementalHash _hasher;
    private long _read;
    private long _lastReported;
    private bool _verified;

    /// <param name="inner">The source; not disposed by this stream unless <see cref="Stream.Dispose()"/> is called.</param>
    /// <param name="digest">The digest the content must hash to.</param>
    /// <param name="size">The exact number of bytes expected.</param>
    /// <param name="what">Where the content comes from, for messages (<c>blob sha256:… from 127.0.0.1:5001/app</c>).</param>
    /// <param name="onProgress">Called with the bytes read so far, about every <paramref name="progressStep"/> bytes and at the end.</param>
    /// <param name="progressStep">Bytes between progress calls.</param>
    public VerifyingStream(Stream inner, Digest digest, long size, string what, Action<long>? onProgress = null, long progressStep = 1024 * 1024)
    {
        _inner = inner;
        _digest = digest;
        _size = size;
        _what = what;
        _onProgress = onProgress;
        _progressStep = progressStep;
        _hasher = digest.CreateHasher();
    }

    /// <summary>Bytes read so far.</summary>
    public long BytesRead => _read;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _size;

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_verified || buffer.Length == 0)
        {
            return _verified ? 0 : VerifyIfEmpty();
        }

        var slice = buffer[..(int)Math.Min(buffer.Length, _size - _read)];
        int n;
        try
        {
            n = slice.Length == 0 ? 0 : _inner.Read(slice);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw SourceBroke(ex);
        }

        return Account(buffer[..n]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_verified || buffer.Length == 0)
        {
            return _verified ? 0 : VerifyIfEmpty();
        }

        var slice = buffer[..(int)Math.Min(buffer.Length, _size - _read)];
        int n;
        try
        {
            n = slice.Length == 0 ? 0 : await _inner.ReadAsync(slice, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            throw SourceBroke(ex);
        }

        return Account(buffer.Span[..n]);
    }

    // A read of the source failing inside an upload would surface as the target's connection failing (HttpClient
    // wraps it as "error while copying content"), sending the user to the wrong registry: name the source instead.
    // Transient, so the copier retries the blob whole.
    private UnavailableException SourceBroke(Exception ex) => new(
        $"the connection to the source broke while reading {_what}, after {_read} of {_size} bytes ({ex.Message}): check the source registry is healthy and retry the job",
        ex);

    private int VerifyIfEmpty()
    {
        if (_size == 0)
        {
            Verify();
        }

        return 0;
    }

    private int Account(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0)
        {
            if (_read < _size)
            {
                throw new DigestMismatchException(
                    $"{_what} ended after {_read} of {_size} bytes: the source served a truncated blob; retry, and if it persists check the source registry's storage");
            }

            Verify();
            return 0;
        }

        _hasher.AppendData(data);
        _read += data.Length;
        if (_read == _size)
        {
            Verify();
        }
        else if (_onProgress is not null && _read - _lastReported >= _progressStep)
        {
            _lastReported = _read;
            _onProgress(_read);
        }

        return data.Length;
    }

    private void Verify()
    {
        if (_verified)
        {
            return;
        }

        var actual = Digest.FromHash(_digest.Algorithm, _hasher.GetHashAndReset());
        if (actual != _digest)
        {
            throw new DigestMismatchException(
                $"{_what} hashes to {actual}, not {_digest}: the source holds corrupt content; nothing was committed to the target. Re-push the image to the source registry");
        }

        _verified = true;
        _onProgress?.Invoke(_read);
    }

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
            _hasher.Dispose();
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        _hasher.Dispose();
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// Reads exactly <c>length</c> bytes of an inner stream (a chunk of an upload) without disposing it.
/// Fails when the inner stream ends early, so a short source never yields a short upload.
/// </summary>
internal sealed class BoundedReadStream(Stream inner, long length, string what) : Stream
{
    private long _done;

    private long Remaining => length - _done;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _done;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (Remaining == 0 || buffer.Length == 0)
        {
            return 0;
        }

        var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, Remaining)]);
        return Account(n);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Remaining == 0 || buffer.Length == 0)
        {
            return 0;
        }

        var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, Remaining)], cancellationToken).ConfigureAwait(false);
        return Account(n);
    }

    private int Account(int n)
    {
        if (n == 0)
        {
            throw new DigestMismatchException(
                $"{what}: the content ended {Remaining} bytes short of the {length} announced: pass the blob's real size");
        }

        _done += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A response body that disposes its response with it, so a caller holding only the stream frees the connection.</summary>
internal sealed class ResponseStream(HttpResponseMessage response, Stream inner) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => response.Content.Headers.ContentLength ?? throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => inner.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(buffer, cancellationToken);

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
            response.Dispose();
        }

        base.Dispose(disposing);
    }
}
