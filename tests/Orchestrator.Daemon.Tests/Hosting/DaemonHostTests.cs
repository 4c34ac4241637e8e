using System.Net.Sockets;
using Orchestrator.Core.Errors;
using Orchestrator.Daemon.Hosting;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Hosting;

public sealed class DaemonHostTests
{
    [Fact]
    public async Task RunAsync_Cancelled_StopsCleanlyAndReturns0()
    {
        // Given a daemon run on a free port
        await using var daemon = new DaemonHarness();
        using var stop = new CancellationTokenSource();
        var options = new DaemonOptions(daemon.Workspace, daemon.Services, daemon.Jobs, daemon.LoggerFactory, "http://127.0.0.1:0")
        {
            GetEnvironmentVariable = name => daemon.Environment.GetValueOrDefault(name),
            ExecuteJob = daemon.Runner.RunAsync,
        };
        var run = DaemonHost.RunAsync(options, stop.Token);
        await WaitForLogAsync(daemon, "Daemon listening on http://127.0.0.1:");

        // When it is stopped
        await stop.CancelAsync();

        // Then it returns 0 and says so
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(daemon.Logs.Lines, l => l.Contains("Daemon stopped"));
    }

    [Fact]
    public async Task RunAsync_PortInUse_Returns1WithAClearLog()
    {
        // Given a port another listener holds
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        await using var daemon = new DaemonHarness();
        var options = new DaemonOptions(daemon.Workspace, daemon.Services, daemon.Jobs, daemon.LoggerFactory, $"http://127.0.0.1:{port}")
        {
            GetEnvironmentVariable = name => daemon.Environment.GetValueOrDefault(name),
        };

        // When the daemon tries to listen there
        var exitCode = await DaemonHost.RunAsync(options).WaitAsync(TimeSpan.FromSeconds(30));

        // Then it exits 1 naming the address
        Assert.Equal(1, exitCode);
        Assert.Contains(daemon.Logs.Lines, l => l.Contains("Cannot listen on") && l.Contains($":{port}"));
    }

    [Fact]
    public async Task RunAsync_SecondDaemonOnTheSameState_Returns1AndLeavesTheFirstRunning()
    {
        // Given a daemon running on a state file
        await using var daemon = new DaemonHarness();
        using var stop = new CancellationTokenSource();
        DaemonOptions Options() => new(daemon.Workspace, daemon.Services, daemon.Jobs, daemon.LoggerFactory, "http://127.0.0.1:0")
        {
            GetEnvironmentVariable = name => daemon.Environment.GetValueOrDefault(name),
            ExecuteJob = daemon.Runner.RunAsync,
        };
        var first = DaemonHost.RunAsync(Options(), stop.Token);
        await WaitForLogAsync(daemon, "Daemon listening on");

        // When a second daemon starts on the same state
        var second = await DaemonHost.RunAsync(Options()).WaitAsync(TimeSpan.FromSeconds(30));

        // Then it refuses (it would requeue the first one's running jobs), and the first still runs
        Assert.Equal(1, second);
        Assert.Contains(daemon.Logs.Lines, l => l.Contains("Another daemon is running on"));
        Assert.False(first.IsCompleted);
        await stop.CancelAsync();
        Assert.Equal(0, await first.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task RunAsync_StoreLockHeldElsewhere_Returns1WithoutTouchingTheQueueOrTheLockFile()
    {
        // Given a store whose daemon lock (PostgreSQL's advisory lock) another daemon holds, and a running job in the queue
        await using var daemon = new DaemonHarness();
        await daemon.Jobs.InitializeAsync();
        var job = await daemon.Jobs.EnqueueAsync(new Core.Jobs.JobRequest(Core.Jobs.JobKind.Build, "app"), "ci");
        await daemon.Jobs.ClaimNextAsync(j => j.Lane("staging", "production"), new HashSet<string>());
        var asked = 0;
        var options = new DaemonOptions(daemon.Workspace, daemon.Services, daemon.Jobs, daemon.LoggerFactory, "http://127.0.0.1:0")
        {
            GetEnvironmentVariable = name => daemon.Environment.GetValueOrDefault(name),
            LockStore = _ =>
            {
                asked++;
                return Task.FromResult<IAsyncDisposable?>(null);
            },
        };

        // When the daemon starts
        var exitCode = await DaemonHost.RunAsync(options).WaitAsync(TimeSpan.FromSeconds(30));

        // Then it asked the store, refused with the reason, left the other daemon's running job alone, and made no lock file
        Assert.Equal(1, exitCode);
        Assert.Equal(1, asked);
        Assert.Contains(daemon.Logs.Lines, l => l.Contains("Another daemon is running on this PostgreSQL state database"));
        Assert.Equal(Core.Jobs.JobState.Running, (await daemon.Jobs.GetAsync(job.Id))!.State);
        Assert.False(File.Exists(daemon.Workspace.Config.StatePath + ".daemon.lock"));
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://127.0.0.1:21")]
    public async Task RunAsync_UnusableUrls_ThrowsInputException(string urls)
    {
        await using var daemon = new DaemonHarness();
        var options = new DaemonOptions(daemon.Workspace, daemon.Services, daemon.Jobs, daemon.LoggerFactory, urls);
        var error = await Assert.ThrowsAsync<InputException>(() => DaemonHost.RunAsync(options));
        Assert.Contains(urls, error.Message);
    }

    [Fact]
    public async Task RunAsync_NonLoopbackAddress_WarnsButListens()
    {
        // Given the wildcard address
        await using var daemon = new DaemonHarness();
        using var stop = new CancellationTokenSource();
        var options = new DaemonOptions(daemon.Workspace, daemon.Services, daemon.Jobs, daemon.LoggerFactory, "http://0.0.0.0:0")
        {
            GetEnvironmentVariable = name => daemon.Environment.GetValueOrDefault(name),
        };

        // When the daemon runs
        var run = DaemonHost.RunAsync(options, stop.Token);
        await WaitForLogAsync(daemon, "Daemon listening on");
        await stop.CancelAsync();

        // Then it warned that the API is reachable from elsewhere
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(daemon.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("not loopback"));
    }

    private static async Task WaitForLogAsync(DaemonHarness daemon, string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!daemon.Logs.Lines.Any(l => l.Contains(text)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"never logged '{text}':\n{daemon.Logs.All}");
            await Task.Delay(50);
        }
    }
}
