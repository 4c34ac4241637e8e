using System.Diagnostics;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// A second Docker Engine for the tests that stop one: <c>dockerd</c> started here on its own socket, data root,
/// exec root and pid file under a fresh folder in /tmp (a unix socket path must stay short), with no bridge and
/// no iptables rules, as the shared engine runs. It can be stopped (SIGTERM, as <c>systemctl stop</c> does) and
/// started again over the same data; the shared engine on /var/run/docker.sock is never touched.
/// </summary>
internal sealed class SecondEngine : IAsyncDisposable
{
    private Process? _process;

    private SecondEngine(string root) => Root = root;

    public string Root { get; }

    /// <summary>The engine's endpoint, for <c>DOCKER_HOST</c> and <c>docker -H</c>.</summary>
    public string Host => $"unix://{Path.Combine(Root, "docker.sock")}";

    public static async Task<SecondEngine> StartAsync()
    {
        var engine = new SecondEngine(Directory.CreateTempSubdirectory("kills-dockerd-").FullName);
        await engine.StartAgainAsync();
        return engine;
    }

    /// <summary>Starts dockerd over this engine's folders and waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo("dockerd") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            "--host", Host, "--data-root", Path.Combine(Root, "data"), "--exec-root", Path.Combine(Root, "exec"),
            "--pidfile", Path.Combine(Root, "docker.pid"), "--bridge=none", "--iptables=false", "--ip-masq=false", "--ip6tables=false",
        })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start dockerd");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the second dockerd exited with {_process.ExitCode}; is dockerd (Debian docker.io) installed and the test run as root?");
            }

            if ((await DockerAsync("version", "--format", "{{.Server.Version}}")).ExitCode == 0)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"the second dockerd on {Host} did not answer within 60 s");
    }

    /// <summary>Stops dockerd with SIGTERM, as a service manager does, and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill!.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>The docker CLI against this engine.</summary>
    public Task<ProcessWitness.Result> DockerAsync(params string[] arguments) => ProcessWitness.RunAsync("docker", ["-H", Host, .. arguments]);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();

        // dockerd leaves its network namespace mounted under the exec root even after a clean stop.
        var mounts = (await File.ReadAllLinesAsync("/proc/self/mounts"))
            .Select(line => line.Split(' ')[1])
            .Where(mountPoint => mountPoint.StartsWith(Root + "/", StringComparison.Ordinal))
            .OrderByDescending(mountPoint => mountPoint.Length);
        foreach (var mountPoint in mounts)
        {
            await ProcessWitness.RunAsync("umount", "-l", mountPoint);
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Something still mounted: harmless in /tmp.
        }
        catch (UnauthorizedAccessException)
        {
            // Likewise.
        }
    }
}
