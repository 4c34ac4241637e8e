using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Orchestrator.Registry.Tests.Tls;

/// <summary>
/// A TLS endpoint on a port the OS gives, serving a certificate of the test PKI (<see cref="TestPki"/>), optionally
/// requiring a client certificate, and answering every request with the registry's <c>GET /v2/</c> answer (200 "{}").
/// Enough of a registry for the handshake and a ping; it counts handshakes so tests can see nothing was retried.
/// </summary>
internal sealed class TlsTestServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly X509Certificate2 _certificate;
    private readonly bool _requireClientCertificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _handshakes;

    public TlsTestServer(string certificateName, bool requireClientCertificate = false, string address = "127.0.0.1")
    {
        _certificate = TestPki.Pair(certificateName);
        _requireClientCertificate = requireClientCertificate;
        _listener = new TcpListener(IPAddress.Parse(address), 0);
        _listener.Start();
        Host = $"{address}:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _loop = Task.Run(AcceptAsync);
    }

    /// <summary>address:port, as a registry host.</summary>
    public string Host { get; }

    /// <summary>How many connections reached the TLS handshake.</summary>
    public int Handshakes => Volatile.Read(ref _handshakes);

    /// <summary>The subject of the last client certificate presented, or null.</summary>
    public string? ClientSubject { get; private set; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _certificate.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        Interlocked.Increment(ref _handshakes);
        try
        {
            await using var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _certificate,
                ClientCertificateRequired = _requireClientCertificate,
                // The test checks only that a certificate of the test CA arrived; refusing none is the server's job here.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    ClientSubject = certificate?.Subject;
                    return !_requireClientCertificate || certificate is not null;
                },
            }, _stop.Token);

            var buffer = new byte[8192];
            var request = new StringBuilder();
            while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await tls.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                request.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            var answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDocker-Distribution-API-Version: registry/2.0\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
            await tls.WriteAsync(Encoding.ASCII.GetBytes(answer), _stop.Token);
            await tls.FlushAsync(_stop.Token);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException or ObjectDisposedException)
        {
            // A client that refused our certificate hangs up mid-handshake: that is what the tests provoke.
        }
    }
}

/// <summary>The test certificates scripts/setup-pki made, copied to &lt;repo&gt;/.orchestrator/pki.</summary>
internal static class TestPki
{
    public static string Folder { get; } = Find();

    public static string File(string name) => Path.Combine(Folder, name);

    /// <summary>NAME.crt with NAME.key.</summary>
    public static X509Certificate2 Pair(string name) =>
        X509Certificate2.CreateFromPemFile(File(name + ".crt"), File(name + ".key"));

    private static string Find()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !System.IO.File.Exists(Path.Combine(folder.FullName, "Orchestrator.sln")))
        {
            folder = folder.Parent;
        }

        var state = Environment.GetEnvironmentVariable("ORCHESTRATOR_STATE_DIR") is { Length: > 0 } given
            ? given
            : Path.Combine(folder?.FullName ?? throw new InvalidOperationException("no Orchestrator.sln above " + AppContext.BaseDirectory), ".orchestrator");
        var pki = Path.Combine(state, "pki");
        return System.IO.File.Exists(Path.Combine(pki, "ca.crt"))
            ? pki
            : throw new InvalidOperationException($"no test certificates in {pki}: run scripts/setup-pki");
    }
}
