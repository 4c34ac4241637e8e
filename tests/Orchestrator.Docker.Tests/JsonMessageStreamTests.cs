using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;

namespace Orchestrator.Docker.Tests;

public sealed class JsonMessageStreamTests
{
    private const string Endpoint = "unix:///var/run/docker.sock";

    [Fact]
    public async Task ReadAsync_SeveralObjectsInOneBuffer_YieldsEachInOrder()
    {
        // Given three newline-separated messages delivered in a single read
        var text = "{\"stream\":\"Step 1/2 : FROM x\\n\"}\n{\"status\":\"Pushing\",\"id\":\"abc\",\"progressDetail\":{\"current\":5,\"total\":10}}\n{\"stream\":\"done\\n\"}\n";

        // When the stream is read
        var messages = await ReadAllAsync(ChunkedStream.FromText(text, 1 << 20));

        // Then every message arrives with its fields
        Assert.Equal(3, messages.Count);
        Assert.Equal("Step 1/2 : FROM x\n", messages[0].Stream);
        Assert.Equal("abc", messages[1].Id);
        Assert.Equal(5, messages[1].ProgressDetail?.Current);
        Assert.Equal(10, messages[1].ProgressDetail?.Total);
        Assert.Equal("done\n", messages[2].Stream);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public async Task ReadAsync_ObjectsSplitAcrossReads_ReassemblesThem(int chunkSize)
    {
        // Given messages delivered a few bytes at a time, so objects and strings are cut mid-token
        var text = "{\"status\":\"Downloading\",\"id\":\"layer1\",\"progressDetail\":{\"current\":1024,\"total\":4096}}\r\n{\"aux\":{\"ID\":\"sha256:" + new string('a', 64) + "\"}}\n";

        // When the stream is read
        var messages = await ReadAllAsync(ChunkedStream.FromText(text, chunkSize));

        // Then both are whole
        Assert.Equal(2, messages.Count);
        Assert.Equal(4096, messages[0].ProgressDetail?.Total);
        Assert.Equal("sha256:" + new string('a', 64), messages[1].GetAuxString("ID"));
    }

    [Fact]
    public async Task ReadAsync_NoSeparatorBetweenObjects_YieldsEachObject()
    {
        // Given objects written back to back with nothing between them
        var text = "{\"status\":\"one\"}{\"status\":\"two\"}{\"status\":\"three\"}";

        // When the stream is read in small pieces
        var messages = await ReadAllAsync(ChunkedStream.FromText(text, 5));

        // Then all three are found
        Assert.Equal(["one", "two", "three"], messages.Select(m => m.Status));
    }

    [Fact]
    public async Task ReadAsync_ErrorDetail_ThrowsEngineExceptionWithTheText()
    {
        // Given a build stream whose last message is an error (as the engine sends inside HTTP 200)
        var text = "{\"stream\":\"Step 2/2 : RUN exit 1\\n\"}\n{\"errorDetail\":{\"code\":1,\"message\":\"The command '/bin/sh -c exit 1' returned a non-zero code: 1\"},\"error\":\"The command '/bin/sh -c exit 1' returned a non-zero code: 1\"}\n";

        // When the stream is read
        var progress = new ListProgress();
        var ex = await Assert.ThrowsAsync<EngineException>(() => ReadAllAsync(ChunkedStream.FromText(text, 16), progress));

        // Then the error text, the operation and the endpoint are in the message; there is no HTTP status
        Assert.Contains("returned a non-zero code: 1", ex.Message);
        Assert.Contains("build of it/x:1", ex.Message);
        Assert.Contains(Endpoint, ex.Message);
        Assert.Null(ex.StatusCode);
        Assert.Single(progress.Items);
    }

    [Fact]
    public async Task ReadAsync_ErrorWithoutDetail_ThrowsEngineException()
    {
        // Given an older-style message with only "error"
        var text = "{\"error\":\"manifest unknown\"}";

        // When / Then
        var ex = await Assert.ThrowsAsync<EngineException>(() => ReadAllAsync(ChunkedStream.FromText(text, 4)));
        Assert.Contains("manifest unknown", ex.Message);
    }

    [Fact]
    public async Task ReadAsync_PushAux_ExposesTagDigestAndSize()
    {
        // Given the push stream's final aux message
        var digest = "sha256:" + new string('b', 64);
        var text = "{\"status\":\"1: digest: " + digest + " size: 528\"}\n{\"progressDetail\":{},\"aux\":{\"Tag\":\"1\",\"Digest\":\"" + digest + "\",\"Size\":528}}\n";

        // When the stream is read
        var messages = await ReadAllAsync(ChunkedStream.FromText(text, 9));

        // Then the aux members are readable, and a number member is not taken for a string
        Assert.Equal(digest, messages[1].GetAuxString("Digest"));
        Assert.Equal("1", messages[1].GetAuxString("Tag"));
        Assert.Null(messages[1].GetAuxString("Size"));
        Assert.Null(messages[0].GetAuxString("Digest"));
    }

    [Fact]
    public async Task ReadAsync_Progress_ReportsEveryMessage()
    {
        // Given two messages
        var text = "{\"id\":\"l1\",\"status\":\"Pushed\"}{\"stream\":\"line\"}";
        var progress = new ListProgress();

        // When read
        await ReadAllAsync(ChunkedStream.FromText(text, 64), progress);

        // Then both were reported with their fields
        Assert.Equal(new EngineProgress("l1", "Pushed", null, null, null), progress.Items[0]);
        Assert.Equal(new EngineProgress(null, null, "line", null, null), progress.Items[1]);
    }

    [Fact]
    public async Task ReadAsync_NotJson_ThrowsEngineException()
    {
        // Given a body that is not JSON
        var ex = await Assert.ThrowsAsync<EngineException>(() => ReadAllAsync(ChunkedStream.FromText("<html>proxy error</html>", 64)));

        // Then the message says it is not JSON
        Assert.Contains("not JSON", ex.Message);
    }

    [Fact]
    public async Task ReadAsync_Cancelled_StopsReading()
    {
        // Given a cancelled token
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        // When / Then reading stops with a cancellation
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ReadAllAsync(ChunkedStream.FromText("{\"status\":\"x\"}", 64), null, cts.Token));
    }

    private static async Task<List<JsonMessage>> ReadAllAsync(Stream stream, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var list = new List<JsonMessage>();
        await foreach (var message in JsonMessageStream.ReadAsync(stream, "build of it/x:1", Endpoint, progress, cancellationToken))
        {
            list.Add(message);
        }

        return list;
    }

    // Progress<T> posts to the thread pool; this one records synchronously so assertions see every report.
    private sealed class ListProgress : IProgress<EngineProgress>
    {
        public List<EngineProgress> Items { get; } = [];

        public void Report(EngineProgress value) => Items.Add(value);
    }
}
