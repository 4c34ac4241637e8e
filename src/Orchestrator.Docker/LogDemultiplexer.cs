using System.Buffers.Binary;
using System.Text;
using Orchestrator.Core.Ports;

namespace Orchestrator.Docker;

/// <summary>
/// Splits the multiplexed stream of <c>GET /containers/{id}/logs</c> (and attach) for a container without a
/// TTY: frames of an 8-byte header <c>[stream type, 0, 0, 0, size as big-endian uint32]</c> followed by
/// <c>size</c> bytes; type 0 (stdin) and 1 are stdout, 2 is stderr (Engine API, "Stream format").
/// </summary>
internal static class LogDemultiplexer
{
    /// <summary>How much of each stream is kept; the rest is counted and dropped so a chatty container cannot exhaust memory.</summary>
    public const int DefaultMaxBytesPerStream = 16 * 1024 * 1024;

    private const int HeaderSize = 8;

    /// <summary>Reads <paramref name="source"/> to its end and returns both streams decoded as UTF-8.</summary>
    /// <param name="source">The multiplexed body; may deliver frames split across reads at any byte.</param>
    /// <param name="maxBytesPerStream">Bytes kept per stream; beyond it a note says how many were dropped.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <exception cref="InvalidDataException">A header names an unknown stream type, or the stream ends inside a frame.</exception>
    public static async Task<ContainerLogs> DemultiplexAsync(Stream source, int maxBytesPerStream = DefaultMaxBytesPerStream, CancellationToken cancellationToken = default)
    {
        var stdout = new BoundedBuffer(maxBytesPerStream);
        var stderr = new BoundedBuffer(maxBytesPerStream);
        var header = new byte[HeaderSize];
        var buffer = new byte[81920];

        while (true)
        {
            var headerRead = await ReadAtLeastAsync(source, header, cancellationToken).ConfigureAwait(false);
            if (headerRead == 0)
            {
                break;
            }

            if (headerRead < HeaderSize)
            {
                throw new InvalidDataException($"the log stream ended inside a frame header ({headerRead} of {HeaderSize} bytes)");
            }

            var target = header[0] switch
            {
                0 or 1 => stdout,
                2 => stderr,
                _ => throw new InvalidDataException($"the log stream has a frame for unknown stream type {header[0]}; was the container created with a TTY?"),
            };

            var remaining = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            while (remaining > 0)
            {
                var want = (int)Math.Min(remaining, (uint)buffer.Length);
                var read = await source.ReadAsync(buffer.AsMemory(0, want), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new InvalidDataException($"the log stream ended inside a frame ({remaining} bytes missing)");
                }

                target.Append(buffer.AsSpan(0, read));
                remaining -= (uint)read;
            }
        }

        return new ContainerLogs(stdout.ToText(), stderr.ToText());
    }

    private static async Task<int> ReadAtLeastAsync(Stream source, byte[] destination, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < destination.Length)
        {
            var read = await source.ReadAsync(destination.AsMemory(total), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    private sealed class BoundedBuffer(int limit)
    {
        private readonly MemoryStream _bytes = new();
        private long _dropped;

        public void Append(ReadOnlySpan<byte> data)
        {
            var room = (int)Math.Max(0, limit - _bytes.Length);
            var keep = Math.Min(room, data.Length);
            _bytes.Write(data[..keep]);
            _dropped += data.Length - keep;
        }

        // Decoded once at the end so a multi-byte character split across frames stays whole.
        public string ToText()
        {
            var text = Encoding.UTF8.GetString(_bytes.GetBuffer(), 0, (int)_bytes.Length);
            return _dropped == 0 ? text : text + $"{Environment.NewLine}[… {_dropped} more bytes dropped]";
        }
    }
}
