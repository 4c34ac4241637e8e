using System.Text;
using Docker.DotNet;
using Orchestrator.Core.Ports;

namespace Orchestrator.Docker;

/// <summary>
/// Reads a container's output to its end from Docker.DotNet's <see cref="MultiplexedStream"/> (which undoes the
/// Engine API's 8-byte frame headers, "Stream format") and keeps at most a bound per stream, so a chatty container
/// cannot exhaust memory. Stdin-typed frames count as stdout, as the docker CLI prints them.
/// </summary>
internal static class ContainerLogCollector
{
    /// <summary>How much of each stream is kept; the rest is counted and dropped.</summary>
    public const int DefaultMaxBytesPerStream = 16 * 1024 * 1024;

    /// <summary>Reads <paramref name="output"/> to its end and returns both streams decoded as UTF-8.</summary>
    /// <param name="output">The demultiplexing stream of <c>GET /containers/{id}/logs</c>.</param>
    /// <param name="maxBytesPerStream">Bytes kept per stream; beyond it a final note says how many were dropped.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <exception cref="InvalidDataException">The frames are broken: an unknown stream type (output of a TTY read as frames), or the end inside a frame.</exception>
    public static async Task<ContainerLogs> ReadAsync(MultiplexedStream output, int maxBytesPerStream = DefaultMaxBytesPerStream, CancellationToken cancellationToken = default)
    {
        var stdout = new BoundedBuffer(maxBytesPerStream);
        var stderr = new BoundedBuffer(maxBytesPerStream);
        var buffer = new byte[81920];
        while (true)
        {
            MultiplexedStream.ReadResult read;
            try
            {
                read = await output.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false);
            }
            catch (EndOfStreamException ex)
            {
                throw new InvalidDataException($"the log stream ended inside a frame ({ex.Message})", ex);
            }
            catch (IOException ex) when (ex.GetType() == typeof(IOException) && ex.InnerException is null)
            {
                // MultiplexedStream throws a bare IOException for a header it cannot read; transport failures
                // come as subclasses (HttpIOException) or with an inner SocketException and are left to the caller.
                throw new InvalidDataException($"the log stream is not multiplexed ({ex.Message}); was the container created with a TTY?", ex);
            }

            if (read.EOF)
            {
                break;
            }

            (read.Target == MultiplexedStream.TargetStream.StandardError ? stderr : stdout).Append(buffer.AsSpan(0, read.Count));
        }

        return new ContainerLogs(stdout.ToText(), stderr.ToText());
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
