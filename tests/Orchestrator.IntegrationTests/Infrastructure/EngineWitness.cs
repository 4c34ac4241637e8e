using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// A pass-through in front of the real Docker Engine, on its own unix socket, that records the request line
/// (<c>POST /v1.43/build?…</c>) of every HTTP request sent through it: an independent witness of what a command
/// asked the engine to do. Point a workspace's <c>engine.endpoint</c> at <see cref="Endpoint"/>. Request lines are
/// found by their shape in the client's byte stream, so a body that happens to contain one would add a line;
/// nothing is ever missed.
/// </summary>
internal sealed partial class EngineWitness : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly string _upstream;
    private readonly string _path;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _requests = [];
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;

    public EngineWitness(string upstreamSocket = "/var/run/docker.sock")
    {
        _upstream = upstreamSocket;
        // Short: a unix socket path has at most 107 bytes.
        _path = Path.Combine("/tmp", $"engine-witness-{Guid.NewGuid().ToString("N")[..8]}.sock");
        _listener.Bind(new UnixDomainSocketEndPoint(_path));
        _listener.Listen(16);
        _accepting = AcceptAsync();
    }

    /// <summary>The endpoint to configure, <c>unix:///tmp/engine-witness-….sock</c>.</summary>
    public string Endpoint => "unix://" + _path;

    /// <summary>Every request line seen so far, in order.</summary>
    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Forgets what was recorded, to witness the next command alone.</summary>
    public void Clear()
    {
        lock (_requests)
        {
            _requests.Clear();
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_connections)
            {
                _connections.Add(RelayAsync(client));
            }
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using var upstream = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using (client)
        {
            try
            {
                await upstream.ConnectAsync(new UnixDomainSocketEndPoint(_upstream), _stop.Token);
                await using var clientStream = new NetworkStream(client, ownsSocket: false);
                await using var upstreamStream = new NetworkStream(upstream, ownsSocket: false);
                var toEngine = PumpAsync(clientStream, upstreamStream, record: true);
                var toClient = PumpAsync(upstreamStream, clientStream, record: false);
                await Task.WhenAny(toEngine, toClient);
            }
            catch (Exception exception) when (exception is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A closed connection ends the relay; what was recorded stays.
            }
        }
    }

    private async Task PumpAsync(Stream from, Stream to, bool record)
    {
        var buffer = new byte[64 * 1024];
        // The tail of the previous read, so a request line split across two reads is still found.
        var carry = string.Empty;
        int read;
        while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            if (record)
            {
                var text = carry + Encoding.Latin1.GetString(buffer, 0, read);
                var matches = RequestLine().Matches(text);
                lock (_requests)
                {
                    _requests.AddRange(matches.Where(m => m.Index + m.Length > carry.Length).Select(m => m.Groups[1].Value));
                }

                carry = text.Length > 4096 ? text[^4096..] : text;
            }

            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }

        // The client finished sending: pass the end on so the engine answers and closes.
        if (record && to is NetworkStream network)
        {
            network.Socket.Shutdown(SocketShutdown.Send);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections);
        _stop.Dispose();
        File.Delete(_path);
    }

    [GeneratedRegex(@"(?:^|\n)((?:GET|HEAD|POST|PUT|DELETE) /[^ \r\n]* HTTP/1\.[01])\r\n", RegexOptions.CultureInvariant)]
    private static partial Regex RequestLine();
}
