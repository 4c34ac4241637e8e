using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// <c>orchestrator daemon</c> as a real child process on a free loopback port, with its token secrets in
/// its environment; it can be killed (SIGKILL) and started again over the same state.
/// </summary>
internal sealed class DaemonProcess : IAsyncDisposable
{
    public const string CiSecretEnv = "IT_ORCHESTRATOR_TOKEN_CI";
    public const string ReleaseSecretEnv = "IT_ORCHESTRATOR_TOKEN_RELEASE";
    public const string AdminSecretEnv = "IT_ORCHESTRATOR_TOKEN_ADMIN";

    private readonly string _configPath;
    private readonly StringBuilder _output = new();
    private Process? _process;

    /// <param name="configPath">The orchestrator.yaml it runs on.</param>
    /// <param name="port">A fixed loopback port (a test's assigned range); a free one by default.</param>
    public DaemonProcess(string configPath, int? port = null)
    {
        _configPath = configPath;
        Port = port ?? FreePort();
        Url = $"http://127.0.0.1:{Port}";
    }

    public int Port { get; }

    public string Url { get; }

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Extra environment for the daemon (e.g. <c>DOCKER_HOST</c> for another engine).</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>Secrets, made per run; the daemon reads them from its environment.</summary>
    public static string CiSecret { get; } = "ci-" + Guid.NewGuid().ToString("N");

    public static string ReleaseSecret { get; } = "release-" + Guid.NewGuid().ToString("N");

    public static string AdminSecret { get; } = "admin-" + Guid.NewGuid().ToString("N");

    /// <summary>What the daemon printed so far, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The daemon section a test workspace appends to its orchestrator.yaml.</summary>
    public static string DaemonSection(int concurrency = 2) => $"""

        daemon:
          concurrency: {concurrency}
          watch-interval-seconds: 3600
          tokens:
            - {"{"} name: ci, secret-env: {CiSecretEnv}, roles: [read, build, validate, "promote:staging"] {"}"}
            - {"{"} name: release, secret-env: {ReleaseSecretEnv}, roles: [read, "promote:production"] {"}"}
            - {"{"} name: admin, secret-env: {AdminSecretEnv}, roles: [read, build, validate, "promote:production"] {"}"}
        """;

    public async Task StartAsync()
    {
        var start = CliBinary.StartInfo(["daemon", "--config", _configPath, "--urls", Url]);
        start.Environment[CiSecretEnv] = CiSecret;
        start.Environment[ReleaseSecretEnv] = ReleaseSecret;
        start.Environment[AdminSecretEnv] = AdminSecret;
        start.Environment.Remove("ORCHESTRATOR_URL");
        foreach (var (name, value) in Environment)
        {
            start.Environment[name] = value;
        }
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start the daemon");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the daemon exited with {_process.ExitCode}:{System.Environment.NewLine}{Output}");
            }

            try
            {
                var health = await Http.GetAsync($"{Url}/healthz");
                if (health.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"the daemon did not become healthy within 60 s:{System.Environment.NewLine}{Output}");
    }

    /// <summary>SIGKILL: no shutdown hooks run, as when a machine dies.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? secret, object? body = null)
    {
        using var request = new HttpRequestMessage(method, Url + path);
        if (secret is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }

        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        return await Http.SendAsync(request);
    }

    public async Task<JsonElement> GetJobAsync(long id, string secret)
    {
        var response = await SendAsync(HttpMethod.Get, $"/api/jobs/{id}", secret);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    /// <summary>Polls until the job is final; returns it.</summary>
    public async Task<JsonElement> WaitForFinalAsync(long id, string secret, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var job = await GetJobAsync(id, secret);
            if (job.GetProperty("state").GetString() is "succeeded" or "failed" or "cancelled")
            {
                return job;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"job {id} did not finish within {timeout}:{System.Environment.NewLine}{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        Http.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
