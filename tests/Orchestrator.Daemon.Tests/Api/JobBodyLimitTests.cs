using System.Net;
using System.Text;
using Orchestrator.Daemon.Hosting;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Api;

/// <summary>Issue 11, item 4: job bodies are capped before they are buffered, and unknown properties are refused by name.</summary>
public sealed class JobBodyLimitTests : IAsyncLifetime
{
    private readonly DaemonHarness _daemon = new();

    public Task InitializeAsync()
    {
        _daemon.Runner.Block = true;
        return _daemon.StartAsync();
    }

    public Task DisposeAsync() => _daemon.DisposeAsync().AsTask();

    [Fact]
    public async Task Post_UnknownProperties_Returns400NamingEachOfThem()
    {
        // Given a job body with a misspelt flag and an extra field
        using var content = new StringContent("{\"kind\":\"build\",\"pipeline\":\"hello\",\"dry_run\":true,\"priority\":9}", Encoding.UTF8, "application/json");

        // When it is submitted
        var response = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.AdminSecret, content);

        // Then it is 400 naming both unknown properties, and nothing is queued
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (await DaemonHarness.JsonAsync(response)).GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("'dry_run'", message);
        Assert.Contains("'priority'", message);
        Assert.Contains("dryRun", message);
        Assert.Empty(await _daemon.Jobs.ListAsync(new()));
    }

    [Theory]
    [InlineData("[1,2]", "not an object")]
    [InlineData("\"build\"", "not an object")]
    public async Task Post_BodyNotAnObject_Returns400(string body, string expected)
    {
        // Given a JSON body that is not an object
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        // When it is submitted
        var response = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.AdminSecret, content);

        // Then it is 400 saying so
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Post_DeclaredLengthOverTheCap_Returns413WithoutWaitingForTheBody()
    {
        // Given a raw request that declares a 10 MB body and sends only 1 KiB of it, then stalls
        using var socket = await ConnectAsync();
        await SendAsync(socket, Headers("Content-Length: 10485760") + new string(' ', 1024));

        // When the daemon answers (the rest of the body never comes)
        var answer = await ReadHeadAsync(socket);

        // Then the answer is 413 naming the cap, given on the declared length alone, and nothing is queued
        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
        Assert.Contains($"{RequestBodyLimitMiddleware.JobBodyLimit} bytes", answer);
        Assert.Empty(await _daemon.Jobs.ListAsync(new()));
    }

    [Fact]
    public async Task Post_ChunkedBodyOverTheCap_Returns413AfterReadingOnlyPastTheCap()
    {
        // Given a chunked request (no declared length) that sends 64 KiB in 1 KiB chunks and then stalls
        using var socket = await ConnectAsync();
        var chunks = new StringBuilder(Headers("Transfer-Encoding: chunked"));
        for (var i = 0; i < 64; i++)
        {
            chunks.Append("400\r\n").Append(' ', 1024).Append("\r\n");
        }

        await SendAsync(socket, chunks.ToString());

        // When the daemon answers (no last chunk ever comes)
        var answer = await ReadHeadAsync(socket);

        // Then it is 413: the read stopped at the cap instead of buffering to the end of the body
        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
        Assert.Empty(await _daemon.Jobs.ListAsync(new()));
    }

    [Fact]
    public async Task Post_BodyJustUnderTheCap_IsRead()
    {
        // Given a valid job padded with whitespace to just under the cap
        var json = "{\"kind\":\"build\",\"pipeline\":\"hello\"}";
        using var content = new StringContent(json + new string(' ', (int)RequestBodyLimitMiddleware.JobBodyLimit - json.Length - 1), Encoding.UTF8, "application/json");

        // When it is submitted
        var response = await _daemon.SendAsync(HttpMethod.Post, "/api/jobs", DaemonHarness.AdminSecret, content);

        // Then the cap did not cut it: it is accepted
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private string Headers(string lengthHeader) =>
        $"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {DaemonHarness.AdminSecret}\r\nContent-Type: application/json\r\n{lengthHeader}\r\n\r\n";

    private async Task<System.Net.Sockets.TcpClient> ConnectAsync()
    {
        var address = new Uri(_daemon.App.Urls.First());
        var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(address.Host, address.Port);
        return client;
    }

    private static async Task SendAsync(System.Net.Sockets.TcpClient socket, string text) =>
        await socket.GetStream().WriteAsync(Encoding.ASCII.GetBytes(text));

    /// <summary>Reads what the daemon answered within 10 s (status line, headers and as much body as came).</summary>
    private static async Task<string> ReadHeadAsync(System.Net.Sockets.TcpClient socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[8192];
        var answer = new StringBuilder();
        while (!answer.ToString().Contains("\"status\"", StringComparison.Ordinal))
        {
            var read = await socket.GetStream().ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            answer.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        return answer.ToString();
    }
}
