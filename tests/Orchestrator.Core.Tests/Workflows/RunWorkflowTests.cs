using Orchestrator.Core.Definitions;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class RunWorkflowTests : IDisposable
{
    private const string QaHost = "127.0.0.1:5003";

    private readonly WorkflowHarness _harness = new() { AutoLock = true };

    public RunWorkflowTests()
    {
        _harness.Hello = _harness.Hello with
        {
            Validate = new ValidationSpec([new CommandTest("version", ["python3", "--version"], 0, "^Python 3", null, TimeSpan.FromSeconds(30))], [], null, null),
        };
    }

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task RunAsync_ValidationFails_ValidationFailedAndNothingPromoted()
    {
        // Given an image whose test fails
        _harness.Engine.Script = _ => new ContainerScript(1, Stderr: "python3: not found\n");

        // When the pipeline is run
        var error = await Assert.ThrowsAsync<ValidationFailedException>(() => _harness.Workflows.Runs.RunAsync("hello"));

        // Then it stops after validation: the failure is named, nothing was planned or copied, production is empty
        Assert.False(error.Result.Passed);
        Assert.Contains("command 'version'", error.Message, StringComparison.Ordinal);
        Assert.Contains("will not be promoted", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, error.ExitCode);
        Assert.Empty(_harness.Copier.Planned);
        Assert.Empty(_harness.State.Promotions);
        Assert.Empty(_harness.Production.Puts);
        Assert.False(Assert.Single(_harness.State.Validations).Passed);
    }

    [Fact]
    public async Task RunAsync_AllPass_BuildsBaseAndImageThenPromotesThroughEveryLaterStageInOrder()
    {
        // Given three stages, an empty staging and a passing test
        _harness.Stages = [_harness.Stages[0], new StageDefinition("qa", new RegistryEndpoint(QaHost, PlainHttp: true)), _harness.Stages[1]];
        _harness.Engine.Script = _ => new ContainerScript(0, "Python 3.11.2\n");

        // When the pipeline is run
        var result = await _harness.Workflows.Runs.RunAsync("hello");

        // Then the missing base was built, the image built and validated, and promoted staging → qa → production
        Assert.True(result.Base.Built);
        Assert.True(result.Validation.Passed);
        Assert.Equal([("staging", "qa"), ("qa", "production")], result.Promotions.Select(p => (p.FromStage, p.ToStage)));
        Assert.Equal([(WorkflowHarness.StagingHost, QaHost), (QaHost, WorkflowHarness.ProductionHost)],
            _harness.Copier.Copied.Select(p => (p.Request.Source.Host, p.Request.Target.Host)));
        Assert.All(_harness.Copier.Copied, p => Assert.Equal(result.Build.Digest, p.Request.Digest));
        Assert.Equal(["qa", "production"], _harness.State.Promotions.Select(p => p.ToStage));
        Assert.All(_harness.State.Promotions, p => Assert.Equal(result.Validation.ValidationId, p.ValidationId));
        Assert.Equal($"{WorkflowHarness.ProductionHost}/{WorkflowHarness.PipelineRepository}@{result.Build.Digest}", result.Final.ToString());
        Assert.Equal(result.Build.Digest, _harness.Production.Find(WorkflowHarness.PipelineRepository, "1.0")!.Digest);
    }

    [Fact]
    public async Task RunAsync_BaseAlreadyInStaging_NotRebuiltAndImageBuiltOnIt()
    {
        // Given the base in staging and a passing test
        var baseReference = _harness.SeedBase();
        _harness.Engine.Script = _ => new ContainerScript(0, "Python 3.11.2\n");

        // When the pipeline is run
        var result = await _harness.Workflows.Runs.RunAsync("hello");

        // Then the base was reused and the build pinned it
        Assert.False(result.Base.Built);
        Assert.Empty(_harness.Rootfs.Calls);
        Assert.Equal(baseReference.Digest, result.Build.BaseReference.Digest);
        Assert.Equal("production", Assert.Single(result.Promotions).ToStage);
    }
}
