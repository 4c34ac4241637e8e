using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Orchestrator.Core.Definitions;

namespace Orchestrator.Registry.Tests.Faults;

/// <summary>
/// A registry of our own: Debian's <c>docker-registry serve</c> (CNCF distribution 2.8, the software behind the
/// shared staging and production registries) on a free loopback port with its own data folder, so a test may
/// SIGKILL and restart it without touching the shared 5001/5002 ones. Disposing kills it and deletes its data.
/// </summary>
internal sealed class RegistryInstance : IAsyncDisposable
{
    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly string _folder;
    private readonly string _config;
    private Process? _process;

    private RegistryInstance(string name, int port)
    {
        Port = port;
        _folder = Directory.CreateTempSubdirectory($"orchestrator-faults-{name}-").FullName;
        _config = Path.Combine(_folder, "config.yml");
        File.WriteAllText(_config, $"""
            version: 0.1
            log:
              level: error
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {Path.Combine(_folder, "data")}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{port}
            """);
    }

    /// <summary>The loopback port it listens on (the same across restarts).</summary>
    public int Port { get; }

    /// <summary>The registry as an endpoint (plain HTTP on loopback).</summary>
    public RegistryEndpoint Endpoint => new($"127.0.0.1:{Port}", PlainHttp: true);

    /// <summary>How many times it was killed.</summary>
    public int Kills { get; private set; }

    /// <summary>Starts a registry named <paramref name="name"/> (used in its folder's name) and waits until it answers.</summary>
    public static async Task<RegistryInstance> StartAsync(string name)
    {
        var instance = new RegistryInstance(name, FreePort());
        await instance.RestartAsync();
        return instance;
    }

    /// <summary>SIGKILL, as when the machine under it dies: no upload is finished, nothing is flushed.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Kills++;
        }
    }

    /// <summary>Starts it again on the same port and data folder (after <see cref="Kill"/>), and waits until it answers.</summary>
    public async Task RestartAsync()
    {
        Kill();
        _process?.Dispose();
        var start = new ProcessStartInfo("docker-registry") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("serve");
        start.ArgumentList.Add(_config);
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start docker-registry: run ./scripts/setup, which installs it");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"docker-registry serve {_config} exited with {_process.ExitCode} at start");
            }

            try
            {
                using var response = await Probe.GetAsync(new Uri($"http://127.0.0.1:{Port}/v2/"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"docker-registry on 127.0.0.1:{Port} did not answer within 30 s");
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A folder left in /tmp must not hide the test's own result.
        }

        return ValueTask.CompletedTask;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
