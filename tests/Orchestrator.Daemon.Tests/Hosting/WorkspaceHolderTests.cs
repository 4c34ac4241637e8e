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

    [Fact]
    public async Task KnowsPipelineAsync_ManyUnknownNamesTogetherAndRightAfter_ReloadOnce()
    {
        // Given a holder whose reload is slow and a wide interval between reloads for unknown names
        var reloads = 0;
        var holder = new WorkspaceHolder(_harness.Workspace, async token =>
        {
            Interlocked.Increment(ref reloads);
            await Task.Delay(200, token);
            return _harness.Workspace;
        })
        { UnknownNameReloadInterval = TimeSpan.FromMinutes(5) };

        // When 30 requests naming unknown pipelines arrive together, and 10 more right after
        var together = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => holder.KnowsPipelineAsync($"nope-{i}", CancellationToken.None))));
        var after = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => holder.KnowsPipelineAsync($"later-{i}", CancellationToken.None)));

        // Then none is known, and one reload answered them all; a known name still needs none
        Assert.All(together, Assert.False);
        Assert.All(after, Assert.False);
        Assert.Equal(1, reloads);
        Assert.True(await holder.KnowsPipelineAsync("hello", CancellationToken.None));
        Assert.Equal(1, reloads);
    }

    [Fact]
    public async Task KnowsPipelineAsync_UnknownNameAfterTheInterval_ReloadsAndFindsAnAddedPipeline()
    {
        // Given a holder whose second reload finds a pipeline 'fresh', with no interval between reloads
        var reloads = 0;
        var withFresh = _harness.Workspace with
        {
            Pipelines = new Dictionary<string, PipelineDefinition>(_harness.Workspace.Pipelines)
            {
                ["fresh"] = DaemonHarness.Pipeline("fresh", Path.Combine(_harness.Root, "pipelines", "fresh.yaml"), []),
            },
        };
        var holder = new WorkspaceHolder(_harness.Workspace, _ => Task.FromResult(Interlocked.Increment(ref reloads) == 1 ? _harness.Workspace : withFresh))
        { UnknownNameReloadInterval = TimeSpan.Zero };

        // When 'fresh' is asked for before and after it appears
        var before = await holder.KnowsPipelineAsync("fresh", CancellationToken.None);
        var afterAdded = await holder.KnowsPipelineAsync("fresh", CancellationToken.None);

        // Then the first reload did not know it and the second did
        Assert.False(before);
        Assert.True(afterAdded);
        Assert.Equal(2, reloads);
    }
}
