using System.Buffers.Binary;
using System.Text;
using Docker.DotNet;

namespace Orchestrator.Docker.Tests;

// The frame parsing is Docker.DotNet's MultiplexedStream now; these tests pin what Orchestrator relies on through it:
// stdout and stderr apart, frames split anywhere, UTF-8 across frames, broken frames refused, the per-stream bound.
public sealed class ContainerLogCollectorTests
{
    [Fact]
    public async Task ReadAsync_InterleavedFrames_SplitsStdoutAndStderr()
    {
        // Given stdout and stderr frames interleaved, including a stdin-typed frame (counted as stdout)
        var data = Frames((1, "out 1\n"), (2, "err 1\n"), (1, "out 2\n"), (0, "in\n"), (2, "err 2\n"));

        // When demultiplexed
        var logs = await ContainerLogCollector.ReadAsync(Multiplexed(new MemoryStream(data)));

        // Then each stream holds its own text in order
        Assert.Equal("out 1\nout 2\nin\n", logs.Stdout);
        Assert.Equal("err 1\nerr 2\n", logs.Stderr);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(9)]
    public async Task ReadAsync_FramesSplitAcrossReads_Reassembles(int chunkSize)
    {
        // Given frames, one with a multi-byte character, delivered a few bytes at a time (headers cut too)
        var data = Frames((1, "héllo "), (1, "wörld"), (2, "oops ✗"));

        // When demultiplexed
        var logs = await ContainerLogCollector.ReadAsync(Multiplexed(new ChunkedStream(data, chunkSize)));

        // Then the text is whole
        Assert.Equal("héllo wörld", logs.Stdout);
        Assert.Equal("oops ✗", logs.Stderr);
    }

    [Fact]
    public async Task ReadAsync_MultiByteCharacterSplitAcrossFrames_DecodesIt()
    {
        // Given "✓" (3 bytes) cut between two frames, as the engine may do
        var check = Encoding.UTF8.GetBytes("✓");
        var data = Concat(Frame(1, check[..1]), Frame(1, check[1..]));

        // When demultiplexed
        var logs = await ContainerLogCollector.ReadAsync(Multiplexed(new MemoryStream(data)));

        // Then the character survives
        Assert.Equal("✓", logs.Stdout);
    }

    [Fact]
    public async Task ReadAsync_EmptyFrames_AreSkipped()
    {
        // Given empty frames around a real one, and no frames at all
        var data = Frames((1, ""), (2, "e"), (2, ""), (1, ""));

        // When demultiplexed
        var logs = await ContainerLogCollector.ReadAsync(Multiplexed(new MemoryStream(data)));
        var none = await ContainerLogCollector.ReadAsync(Multiplexed(new MemoryStream([])));

        // Then only the real payload remains
        Assert.Equal(string.Empty, logs.Stdout);
        Assert.Equal("e", logs.Stderr);
        Assert.Equal(string.Empty, none.Stdout);
        Assert.Equal(string.Empty, none.Stderr);
    }

    [Fact]
    public async Task ReadAsync_StreamEndsInsideFrame_Throws()
    {
        // Given a header announcing 10 bytes followed by 3
        var data = Frames((1, "0123456789"))[..(8 + 3)];

        // When / Then
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ContainerLogCollector.ReadAsync(Multiplexed(new MemoryStream(data))));
        Assert.Contains("ended inside a frame", ex.Message);
    }

    [Fact]
    public async Task ReadAsync_UnknownStreamType_ThrowsNamingTty()
    {
        // Given raw TTY output, whose first byte is not a stream type
        var data = Encoding.ASCII.GetBytes("hello world, no frames here");

        // When / Then
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ContainerLogCollector.ReadAsync(Multiplexed(new MemoryStream(data))));
        Assert.Contains("TTY", ex.Message);
    }

    [Fact]
    public async Task ReadAsync_OverLimit_KeepsTheLimitAndSaysHowMuchWasDropped()
    {
        // Given 10 bytes of stdout and a limit of 4
        var data = Frames((1, "0123"), (1, "456789"));

        // When demultiplexed
        var logs = await ContainerLogCollector.ReadAsync(Multiplexed(new MemoryStream(data)), maxBytesPerStream: 4);

        // Then the first 4 are kept and the drop is stated
        Assert.StartsWith("0123", logs.Stdout);
        Assert.Contains("6 more bytes dropped", logs.Stdout);
    }

    private static MultiplexedStream Multiplexed(Stream body) => new(body, multiplexed: true);

    private static byte[] Frames(params (byte Type, string Text)[] frames) =>
        Concat(frames.Select(f => Frame(f.Type, Encoding.UTF8.GetBytes(f.Text))).ToArray());

    private static byte[] Frame(byte type, byte[] payload)
    {
        var frame = new byte[8 + payload.Length];
        frame[0] = type;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), (uint)payload.Length);
        payload.CopyTo(frame, 8);
        return frame;
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
