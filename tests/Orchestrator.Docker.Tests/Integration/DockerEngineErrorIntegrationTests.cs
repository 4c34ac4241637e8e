using System.Net;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;

namespace Orchestrator.Docker.Tests.Integration;

/// <summary>The real engine's errors through Docker.DotNet, as Orchestrator reports them; and the one raw call.</summary>
[Collection(DockerEngineCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DockerEngineErrorIntegrationTests(DockerEngineFixture fixture)
{
    private DockerEngineClient Client => fixture.Client;

    [Fact]
    public async Task TagImageAsync_NoSuchImage_ThrowsEngineException404WithTheEnginesMessage()
    {
        var missing = $"it/docker-{fixture.Unique}-absent:1";

        var ex = await Assert.ThrowsAsync<EngineException>(() => Client.TagImageAsync(missing, $"it/docker-{fixture.Unique}-other", "1"));

        Assert.Equal(HttpStatusCode.NotFound, ex.StatusCode);
        Assert.Contains($"tagging of {missing}", ex.Message);
        Assert.Contains("No such image", ex.Message);
        Assert.Contains("(HTTP 404)", ex.Message);
    }

    [Fact]
    public async Task BuildImageAsync_RunFails_MessageQuotesTheEnginesErrorAndTheStepsOutput()
    {
        // Given a Dockerfile whose RUN prints a line of its own, then fails
        using var context = TinyRootfs.CreateContext(new Dictionary<string, string>
        {
            ["Dockerfile"] = $"FROM {fixture.BaseRepository}:1\nRUN echo step-output-{fixture.Unique} && exit 3\n",
        });

        // When built
        var ex = await Assert.ThrowsAsync<EngineException>(() =>
            Client.BuildImageAsync(context, new ImageBuildRequest([$"it/docker-{fixture.Unique}-fails3:1"])));

        // Then the engine's error and the step's output line are both in the message
        Assert.Null(ex.StatusCode);
        Assert.Contains("non-zero code: 3", ex.Message);
        Assert.Contains($"{Environment.NewLine}  step-output-{fixture.Unique}", ex.Message);
    }

    [Fact]
    public async Task PruneBuildCacheAsync_FilterMatchingNothing_AnswersWithAnEmptyReport()
    {
        // Given a filter no record can match, records older than a century (the shared engine's cache is left alone)
        var filters = new Dictionary<string, string[]> { ["until"] = ["876000h"] };

        // When pruning through the raw call
        var result = await Client.PruneBuildCacheAsync(filters: filters);

        // Then the engine accepted the call and removed nothing
        Assert.Empty(result.CachesDeleted);
        Assert.Equal(0, result.SpaceReclaimed);
    }

    [Fact]
    public async Task PruneBuildCacheAsync_UnknownFilter_ThrowsEngineException400()
    {
        var ex = await Assert.ThrowsAsync<EngineException>(() =>
            Client.PruneBuildCacheAsync(filters: new Dictionary<string, string[]> { ["no-such-filter"] = ["x"] }));

        Assert.Equal(HttpStatusCode.BadRequest, ex.StatusCode);
        Assert.Contains("prune of the build cache", ex.Message);
    }
}
