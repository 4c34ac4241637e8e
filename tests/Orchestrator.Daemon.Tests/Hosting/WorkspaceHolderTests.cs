using Orchestrator.Core.Definitions;
using Orchestrator.Daemon.Hosting;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Hosting;

public sealed class WorkspaceHolderTests : IAsyncDisposable
{
    private readonly DaemonHarness _harness = new();

    public ValueTask DisposeAsync() => _harness.DisposeAsync();

    [Fact]
    public async Task MatchAsync_ManyJobsWhileTheContentIsUnknown_ShareOneReload()
    {
        // Given a holder that has not hashed its files yet and a slow reload
        var reloads = 0;
        var holder = new WorkspaceHolder(_harness.Workspace, async token =>
        {
            Interlocked.Increment(ref reloads);
            await Task.Delay(200, token);
            return _harness.Workspace;
        });
        var onDisk = (await DefinitionHashes.OfFilesAsync(_harness.Workspace.Pipelines["hello"].SourceFile))!;

        // When 30 jobs naming the content on disk arrive together
        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => Task.Run(() => holder.MatchAsync("hello", onDisk, CancellationToken.None))));

        // Then every one matches, after a single reload instead of one each
        Assert.All(answers, Assert.Null);
        Assert.Equal(1, reloads);
    }

    [Fact]
    public async Task MatchAsync_ContentNoReloadCanMatch_SaysWhichFileDiffers()
    {
        // Given a holder over files on disk
        var reloads = 0;
        var holder = new WorkspaceHolder(_harness.Workspace, _ =>
        {
            Interlocked.Increment(ref reloads);
            return Task.FromResult(_harness.Workspace);
        });
        var onDisk = (await DefinitionHashes.OfFilesAsync(_harness.Workspace.Pipelines["hello"].SourceFile))!;

        // When a job names a lock the checkout does not have
        var answer = await holder.MatchAsync("hello", onDisk with { Lock = DaemonHarness.DigestOf('d') }, CancellationToken.None);

        // Then the lock is named as the difference, after a bounded number of reloads
        Assert.Equal("the lock", answer);
        Assert.InRange(reloads, 1, 3);
    }
}
