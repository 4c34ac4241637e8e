using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Registry.Tests.Tls;

/// <summary>
/// <c>openssl s_server</c> with the test PKI's registry certificate on a free loopback port: a TLS peer that is not .NET,
/// refusing handshakes the way OpenSSL-based servers do (alerts), for the failures .NET's own server cannot show.
/// </summary>
internal sealed class OpenSslServer : IAsyncDisposable
{
    private readonly Process _process;

    private OpenSslServer(Process process, string host)
    {
        _process = process;
        Host = host;
    }

    public string Host { get; }

    public static async Task<OpenSslServer> StartAsync(params string[] options)
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var start = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in (string[])["s_server", "-quiet", "-www", "-accept", $"127.0.0.1:{port}", "-cert", TestPki.File("registry.crt"), "-key", TestPki.File("registry.key"), "-CAfile", TestPki.File("ca.crt"), .. options])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("openssl did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return new OpenSslServer(process, $"127.0.0.1:{port}");
            }
            catch (SocketException) when (!process.HasExited)
            {
                await Task.Delay(50);
            }
        }

        process.Kill();
        process.Dispose();
        throw new InvalidOperationException($"openssl s_server did not listen on 127.0.0.1:{port}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
