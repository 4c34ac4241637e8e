using Orchestrator.Core.Errors;

namespace Orchestrator.Registry.Tests;

public sealed class StreamsTests
{
    /// <summary>A stream that hands out at most <paramref name="slice"/> bytes a read, like a socket.</summary>
    private sealed class SlicedStream(byte[] content, int slice) : MemoryStream(content)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, slice)], cancellationToken);
    }

    private static byte[] Content(int length) => Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();

    [Fact]
    public async Task BoundedReadStream_CopyToAsync_CopiesExactlyItsLengthAndLeavesTheRest()
    {
        // Given a 3 MiB source of which a chunk is the first 2 MiB + 5 bytes
        var content = Content((3 * 1024 * 1024) + 11);
        var length = (2 * 1024 * 1024) + 5;
        var inner = new SlicedStream(content, slice: 300_000);
        var chunk = new BoundedReadStream(inner, length, "blob x");
        var target = new MemoryStream();

        // When an upload copies the chunk (as StreamContent does)
        await chunk.CopyToAsync(target);

        // Then exactly the chunk's bytes arrive, and the inner stream stands right after them (the next chunk's start)
        Assert.Equal(content.AsSpan(0, length).ToArray(), target.ToArray());
        Assert.Equal(length, inner.Position);
    }

    [Fact]
    public async Task BoundedReadStream_CopyToAsync_SourceShort_ThrowsNamingTheShortfall()
    {
        // Given a source 10 bytes shorter than the chunk announced
        var chunk = new BoundedReadStream(new MemoryStream(Content(100)), 110, "blob x");

        // When an upload copies it
        var ex = await Assert.ThrowsAsync<DigestMismatchException>(() => chunk.CopyToAsync(Stream.Null));

        // Then the upload fails instead of sending a short body, and says by how much
        Assert.Contains("10 bytes short of the 110", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyingStream_ThroughBoundedCopy_CorruptBlob_WithholdsTheLastBytes()
    {
        // Given a blob whose last byte differs from what its digest says, copied with the upload's copy loop
        var expected = Content((1024 * 1024) + 3);
        var served = expected.ToArray();
        served[^1] ^= 0xFF;
        var verifying = new VerifyingStream(new SlicedStream(served, slice: 65_536), Core.References.Digest.Sha256Of(expected), expected.Length, "blob x");
        var target = new MemoryStream();

        // When the copy runs to the end
        var ex = await Assert.ThrowsAsync<DigestMismatchException>(() => new BoundedReadStream(verifying, expected.Length, "blob x").CopyToAsync(target));

        // Then it fails naming the digest, and the target never received a complete body
        Assert.Contains("hashes to", ex.Message, StringComparison.Ordinal);
        Assert.True(target.Length < expected.Length);
    }
}
