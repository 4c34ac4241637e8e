using System.Formats.Tar;
using System.Text;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class PipelineBuildWorkflowTests : IDisposable
{
    private const string Target = WorkflowHarness.StagingHost + "/" + WorkflowHarness.PipelineRepository;

    private readonly WorkflowHarness _harness = new() { AutoLock = true };

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task BuildAsync_BaseMissingInStaging_JobFailedTellingToBuildTheBase()
    {
        // Given staging without the base variant
        // When the pipeline is built
        var error = await Assert.ThrowsAsync<JobFailedException>(() => Build());

        // Then it fails before the engine is touched, naming the command that fixes it
        Assert.Contains("base debian-bookworm/slim is not in staging", error.Message, StringComparison.Ordinal);
        Assert.Contains("orchestrator base build debian-bookworm/slim", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Engine.Calls);
        Assert.Empty(_harness.Rootfs.Calls);
        Assert.Empty(_harness.State.Builds);
    }

    [Fact]
    public async Task BuildAsync_BaseMissingAndBuildMissingBase_BuildsTheBaseThenThePipelineOnIt()
    {
        // Given staging without the base variant
        // When the pipeline is built with buildMissingBase
        var result = await Build(buildMissingBase: true);

        // Then the base was debootstrapped, imported and pushed first, and the pipeline built on its digest
        Assert.Equal([("debian-bookworm", "slim")], _harness.Rootfs.Calls.Select(c => (c.Image, c.Variant)));
        var baseDigest = _harness.Staging.Find(WorkflowHarness.BaseRepository, "slim")!.Digest;
        Assert.Equal(baseDigest, result.BaseReference.Digest);
        Assert.Equal(["base", "pipeline"], _harness.State.Builds.Select(b => b.Kind));
        Assert.True(_harness.Engine.Calls.IndexOf("Import 127.0.0.1:5001/base/debian-bookworm:slim") < _harness.Engine.Calls.FindIndex(c => c.StartsWith("Build ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task BuildAsync_BaseInStaging_PullsTheBaseByDigestBeforeBuilding()
    {
        // Given the base variant in staging
        var baseReference = _harness.SeedBase();

        // When the pipeline is built
        await Build();

        // Then the base was pulled from staging by digest (no tag), before the build
        var pull = _harness.Engine.Pulls[0];
        Assert.Equal(baseReference.Digest, pull.Digest);
        Assert.Null(pull.Tag);
        Assert.Equal(WorkflowHarness.StagingHost, pull.Registry);
        Assert.True(_harness.Engine.Calls.IndexOf($"Pull {pull}") < _harness.Engine.Calls.FindIndex(c => c.StartsWith("Build ", StringComparison.Ordinal)));
        Assert.Empty(_harness.Rootfs.Calls);
    }

    [Fact]
    public async Task BuildAsync_EngineReportsSteps_ReportsEachStepStartedAndFinishedAndThePushedLayers()
    {
        // Given the base variant in staging (the fake engine's build says "Step 1/1 : FROM base")
        _harness.SeedBase();

        // When the pipeline is built
        await Build();

        // Then the step was reported as started and finished (with its elapsed time), and the new layer as pushed
        var steps = _harness.Reporter.Events.Where(e => e.Kind.StartsWith("step-", StringComparison.Ordinal)).ToList();
        Assert.Equal([ProgressKind.StepStarted, ProgressKind.StepFinished], steps.Select(e => e.Kind));
        Assert.All(steps, e => Assert.Equal(("FROM base", 1, 1), (e.Name, e.Number, e.Count)));
        Assert.NotNull(steps[1].ElapsedSeconds);
        var pushed = _harness.Reporter.Events.Where(e => e.Activity == "push").ToList();
        Assert.Contains(pushed, e => e.Kind == ProgressKind.BlobDone && e.BytesDone == e.BytesTotal);
        Assert.DoesNotContain(pushed, e => e.Kind == ProgressKind.BlobFailed);
    }

    [Fact]
    public async Task BuildAsync_Rebuild_RemovesTheEngineImageTheEarlierBuildLeftAndKeepsTheNewOne()
    {
        // Given a first build, whose engine image carries the pipeline's local build tag
        _harness.SeedBase();
        await Build();
        var first = (await _harness.Engine.InspectImageAsync("orchestrator-build/hello:latest"))!.Id;
        Assert.DoesNotContain(_harness.Engine.Calls, c => c.StartsWith("RemoveImage ", StringComparison.Ordinal));

        // When it is built again without the cache (a new engine image takes the tag)
        await Build(noCache: true);

        // Then the image the tag left is removed, after the new build, and the new one stays
        var second = (await _harness.Engine.InspectImageAsync("orchestrator-build/hello:latest"))!.Id;
        Assert.NotEqual(first, second);
        var removal = _harness.Engine.Calls.IndexOf($"RemoveImage {first}");
        Assert.True(removal > _harness.Engine.Calls.FindLastIndex(c => c.StartsWith("Build ", StringComparison.Ordinal)), string.Join(", ", _harness.Engine.Calls));
        Assert.DoesNotContain($"RemoveImage {second}", _harness.Engine.Calls);
    }

    [Fact]
    public async Task BuildAsync_Tags_BuildRequestNamesEveryTagInStaging()
    {
        // Given a pipeline with three tags
        _harness.SeedBase();
        _harness.Hello = _harness.Hello with { Tags = ["1.0", "1.0.0", "latest-build"] };

        // When built
        await Build(noCache: true);

        // Then the engine's build gets only a local name (the registry gets the normalized image), on the host network, with no network (packages come from the package cache), honouring no-cache
        var request = Assert.Single(_harness.Engine.Builds).Request;
        Assert.Equal(["orchestrator-build/hello:latest"], request.Tags);
        Assert.Equal("none", request.NetworkMode);
        Assert.Equal("Dockerfile", request.Dockerfile);
        Assert.True(request.NoCache);
    }

    [Fact]
    public async Task BuildAsync_Labels_OciKeysAndUserLabels()
    {
        // Given a pipeline with its own labels
        var baseReference = _harness.SeedBase();
        _harness.Hello = _harness.Hello with { Labels = [new("team", "core"), new("org.example.tier", "1")] };

        // When built
        await Build();

        // Then the image carries the OCI keys (source relative to the workspace) and the user labels
        var labels = Assert.Single(_harness.Engine.Builds).Request.Labels;
        Assert.NotNull(labels);
        Assert.Equal("hello", labels[PipelineBuildWorkflow.Labels.Title]);
        Assert.Equal("1.0", labels[PipelineBuildWorkflow.Labels.Version]);
        Assert.Equal("pipelines/hello.yaml", labels[PipelineBuildWorkflow.Labels.Source]);
        Assert.Equal("127.0.0.1:5001/base/debian-bookworm:slim", labels[PipelineBuildWorkflow.Labels.BaseName]);
        Assert.Equal(baseReference.Digest!.ToString(), labels[PipelineBuildWorkflow.Labels.BaseDigest]);
        Assert.Equal("hello", labels[PipelineBuildWorkflow.Labels.Pipeline]);
        Assert.Equal("core", labels["team"]);
        Assert.Equal("1", labels["org.example.tier"]);
    }

    [Fact]
    public async Task BuildAsync_UserLabelClaimsAnOciKey_OrchestratorValueWins()
    {
        // Given a pipeline label that tries to set the base digest
        _harness.SeedBase();
        _harness.Hello = _harness.Hello with { Labels = [new(PipelineBuildWorkflow.Labels.BaseDigest, "sha256:forged")] };

        // When built
        await Build();

        // Then the provenance label still names the real base
        var labels = Assert.Single(_harness.Engine.Builds).Request.Labels!;
        Assert.NotEqual("sha256:forged", labels[PipelineBuildWorkflow.Labels.BaseDigest]);
    }

    [Fact]
    public async Task BuildAsync_Context_DockerfileFromBaseDigestAndFilesAndTheTarIsDeletedAfterwards()
    {
        // Given a pipeline with a package and a file
        var baseReference = _harness.SeedBase();
        var file = _harness.WriteFile("app/main.py", "print('hi')\n");
        _harness.Hello = _harness.Hello with { AptPackages = [new AptPackage("python3", "3.11.2-1+b1")], Files = [new FileCopy(file, "/app/main.py", 420)] };

        // When built
        await Build();

        // Then the engine got the generated Dockerfile and the file, and no context is left in the work directory
        var context = await ReadTarAsync(Assert.Single(_harness.Engine.Builds).Context);
        Assert.Equal(["Dockerfile", "debs/runtime/python3_3.11.2-1+b1_amd64.deb", "files/0"], context.Keys);
        Assert.Equal("deb python3 3.11.2-1+b1", context["debs/runtime/python3_3.11.2-1+b1_amd64.deb"]);
        Assert.Equal(BuildContext.CreateDockerfile(_harness.Hello, baseReference), context["Dockerfile"]);
        Assert.Contains($"FROM 127.0.0.1:5001/base/debian-bookworm@{baseReference.Digest}", context["Dockerfile"], StringComparison.Ordinal);
        Assert.Equal("print('hi')\n", context["files/0"]);
        Assert.Empty(Directory.GetFiles(_harness.Config.WorkDirectory, "context-*"));
    }

    [Fact]
    public async Task BuildAsync_EveryTag_PushedAndRecordCarriesTheBaseDigest()
    {
        // Given the base and a pipeline with two tags
        var baseReference = _harness.SeedBase();

        // When built
        var result = await Build();

        // Then the manifest was put by digest and under each tag, not pushed by the engine, and the record says what it was built on
        Assert.Empty(_harness.Engine.Pushes);
        var puts = _harness.Staging.Puts.Where(p => p.Repository == WorkflowHarness.PipelineRepository).ToList();
        var digest = result.Digest;
        Assert.Equal([digest.ToString(), "1.0", "1.0.0"], puts.Take(3).Select(p => p.Reference));
        Assert.All(puts.Take(3), p => Assert.Equal(MediaTypes.OciManifest, p.MediaType));
        Assert.Equal(digest, _harness.Staging.Find(WorkflowHarness.PipelineRepository, "1.0")!.Digest);
        Assert.Equal(digest, _harness.Staging.Find(WorkflowHarness.PipelineRepository, "1.0.0")!.Digest);
        var record = Assert.Single(_harness.State.Builds);
        Assert.Equal("pipeline", record.Kind);
        Assert.Equal("hello", record.Subject);
        Assert.Equal("staging", record.Stage);
        Assert.Equal(baseReference.Digest, record.BaseDigest);
        Assert.Equal($"{Target}@{digest}", record.Reference.ToString());
        Assert.Equal(["1.0", "1.0.0"], record.Tags);
        Assert.Equal("1.0", record.Version);
        Assert.Equal(WorkflowHarness.Actor, record.Actor);
        Assert.Equal(WorkflowHarness.Now, record.At);
        Assert.Equal(record.Id, result.BuildId);
        Assert.Equal(baseReference.Digest, result.BaseReference.Digest);
    }

    [Fact]
    public async Task BuildAsync_NoLock_RefusedNamingTheLockCommandBeforeTheEngine()
    {
        // Given the base and a pipeline that was never locked
        _harness.AutoLock = false;
        _harness.SeedBase();

        // When built
        var error = await Assert.ThrowsAsync<JobFailedException>(() => Build());

        // Then the build is refused with the fix, and neither the engine nor the state saw anything
        Assert.Contains("pipeline hello has no lock (hello.lock.yaml)", error.Message, StringComparison.Ordinal);
        Assert.Contains("orchestrator lock hello", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Engine.Calls);
        Assert.Empty(_harness.State.Builds);
    }

    [Fact]
    public async Task BuildAsync_SameInputsTwiceWithoutCache_SameDigestDespiteTheEngineClock()
    {
        // Given a pipeline copying a file; the fake engine stamps 2040 on every file and its config
        _harness.SeedBase();
        var file = _harness.WriteFile("hello/greeting.txt", "hello\n");
        _harness.Hello = _harness.Hello with { Files = [new Definitions.FileCopy(file, "/greeting.txt", 420)] };

        // When built twice without any cache
        var first = await Build(noCache: true);
        var second = await Build(noCache: true);

        // Then both builds pushed one digest, whose new layer is clamped to the lock's source date and whose config is dated it
        Assert.Equal(2, _harness.Engine.Builds.Count);
        Assert.Equal(first.Digest, second.Digest);
        var (config, layers) = Orchestrator.Core.Images.OciImage.ReadManifest(_harness.Staging.Find(WorkflowHarness.PipelineRepository, first.Digest.ToString())!.Content.Span);
        var top = TestTars.Read(TestTars.Gunzip(_harness.Staging.Blobs[(WorkflowHarness.PipelineRepository, layers[^1].Digest)]));
        Assert.All(top, e => Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(WorkflowHarness.LockSourceDate), e.Entry.ModificationTime));
        var json = System.Text.Json.JsonDocument.Parse(_harness.Staging.Blobs[(WorkflowHarness.PipelineRepository, config.Digest)]).RootElement;
        Assert.Equal("2024-09-01T00:00:00Z", json.GetProperty("created").GetString());
        Assert.False(json.TryGetProperty("container", out _));

        // And the base's layer is reused as the base has it: mounted from the base repository, not uploaded again
        Assert.Contains(_harness.Staging.Mounts, m => m.From == WorkflowHarness.BaseRepository && m.Digest == layers[0].Digest);
    }

    [Fact]
    public async Task BuildAsync_ExportFailsMidway_TheEnginesErrorAndNothingPushedOrRecorded()
    {
        // Given an engine whose export stream breaks halfway through
        _harness.SeedBase();
        _harness.Engine.SaveFailsMidway = new EngineException("fake: the export of the image broke off");

        // When built
        var error = await Assert.ThrowsAsync<EngineException>(() => Build());

        // Then the engine's error is what the build reports (not the half tar's), and nothing reached staging or the state
        Assert.Contains("export of the image broke off", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_harness.Staging.Puts, p => p.Repository == WorkflowHarness.PipelineRepository);
        Assert.Empty(_harness.State.Builds);
    }

    [Fact]
    public async Task BuildAsync_ExportTruncated_JobFailedNamingTheExportAndNothingPushed()
    {
        // Given an engine whose export ends halfway, as if it were whole
        _harness.SeedBase();
        _harness.Engine.SaveTruncated = true;

        // When built
        var error = await Assert.ThrowsAsync<JobFailedException>(() => Build());

        // Then the build fails saying the export is unreadable and what to do, and nothing reached staging or the state
        Assert.Contains("export of", error.Message, StringComparison.Ordinal);
        Assert.Contains("is not a readable image", error.Message, StringComparison.Ordinal);
        Assert.Contains("docker rmi", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_harness.Staging.Puts, p => p.Repository == WorkflowHarness.PipelineRepository);
        Assert.Empty(_harness.State.Builds);
    }

    [Fact]
    public async Task BuildAsync_Built_ReportsTheSizeThePushedManifestLists()
    {
        // Given the base and a pipeline
        _harness.SeedBase();

        // When built
        var result = await Build();

        // Then the result's size is what staging's manifest of the digest lists, layer by layer, and the step says its total
        var staged = ImageSizes.Parse(_harness.Staging.Find(WorkflowHarness.PipelineRepository, result.Digest.ToString())!.Content.Span, "staged");
        Assert.NotNull(result.Size);
        Assert.Equal(staged.Layers, result.Size.Layers);
        Assert.Equal(staged.ConfigBytes, result.Size.ConfigBytes);
        Assert.Contains(_harness.Reporter.Steps, s => s.StartsWith($"image size {ImageSize.Format(staged.TotalBytes)} compressed in 2 layer(s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BuildAsync_ContentDiffers_AnotherDigest()
    {
        // Given one build
        _harness.SeedBase();
        var first = await Build(noCache: true);

        // When the engine's result has one more file
        _harness.Engine.ExtraLayerFiles.Add(("var/lib/surprise", "differs"));
        var second = await Build(noCache: true);

        // Then the digest differs
        Assert.NotEqual(first.Digest, second.Digest);
    }

    [Fact]
    public async Task BuildAsync_UnknownPipeline_InputException()
    {
        // Given no such pipeline
        // When built
        var error = await Assert.ThrowsAsync<InputException>(() => _harness.Workflows.Builds.BuildAsync("nope"));

        // Then the known ones are listed, and nothing ran
        Assert.Contains("known pipelines: hello", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Engine.Calls);
    }

    [Fact]
    public async Task BuildAsync_FreshLock_InstallsExactlyTheLockedClosure()
    {
        // Given a pipeline naming one package, whose fresh lock holds it and a dependency
        var baseReference = _harness.SeedBase();
        _harness.Hello = _harness.Hello with { AptPackages = [new AptPackage("hello", "2.10-3")] };
        _harness.Hello = _harness.Hello with { Lock = LockFor(_harness.Hello, baseReference.Digest!) };

        // When it is built
        await Build();

        // Then the Dockerfile installs every locked package at its locked version, and nothing else
        var dockerfile = (await ReadTarAsync(Assert.Single(_harness.Engine.Builds).Context))["Dockerfile"];
        var install = Assert.Single(dockerfile.Split('\n'), l => l.StartsWith("RUN ", StringComparison.Ordinal));
        Assert.Contains("'./hello_2.10-3_amd64.deb'", install, StringComparison.Ordinal);
        Assert.Contains("'./libc6_2.36-9+deb12u13_amd64.deb'", install, StringComparison.Ordinal);
        Assert.Equal(2, install.Split(' ').Count(w => w.Contains(".deb'", StringComparison.Ordinal)));

        // And from the package cache, with no mirror: the .debs of the lock come in the context, fetched on the base
        Assert.DoesNotContain("apt-get update", dockerfile, StringComparison.Ordinal);
        Assert.Contains("--no-download", install, StringComparison.Ordinal);
        Assert.Contains("COPY debs/runtime/ /var/cache/apt/archives/\n", dockerfile, StringComparison.Ordinal);
        Assert.Equal(["hello", "libc6"], _harness.Packages.Requested.Select(r => r.Package.Name));
        Assert.All(_harness.Packages.Requested, r => Assert.Equal(baseReference.Digest, r.ResolveOn.Digest));
    }

    [Fact]
    public async Task BuildAsync_PackagesFromTheCache_StagingLayerAndItsWhiteoutsNeverReachTheImage()
    {
        // Given a locked pipeline whose engine build copies the .debs in a layer of their own and deletes them in the next
        var baseReference = _harness.SeedBase();
        _harness.Hello = _harness.Hello with { AptPackages = [new AptPackage("hello", "2.10-3")] };
        _harness.Hello = _harness.Hello with { Lock = LockFor(_harness.Hello, baseReference.Digest!) };

        // When it is built and pushed
        var result = await Build();

        // Then the pushed image has one layer over the base, with what the install wrote and no .deb nor whiteout of one
        var manifest = _harness.Staging.Find("apps/hello", result.Reference.Digest!.ToString())!;
        var (configDescriptor, layers) = Orchestrator.Core.Images.OciImage.ReadManifest(manifest.Content.Span);
        var baseManifest = _harness.Staging.Find(baseReference.Repository, baseReference.Digest!.ToString())!;
        var (_, baseLayers) = Orchestrator.Core.Images.OciImage.ReadManifest(baseManifest.Content.Span);
        Assert.Equal(baseLayers.Count + 1, layers.Count);
        var names = TestTars.Read(TestTars.Gunzip(_harness.Staging.Blobs[("apps/hello", layers[^1].Digest)])).Select(e => e.Name).ToList();
        Assert.Contains("var/lib/dpkg/status", names);
        Assert.DoesNotContain(names, n => n.EndsWith(".deb", StringComparison.Ordinal));

        // And the config's history does not mention the staging copy
        var config = System.Text.Encoding.UTF8.GetString(_harness.Staging.Blobs[("apps/hello", configDescriptor.Digest)]);
        Assert.DoesNotContain("debs/runtime", config, StringComparison.Ordinal);
        Assert.Contains("fake build", config, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BuildAsync_LockOnAnotherBase_RefusedWithTheFixBeforeAnyEngineCall()
    {
        // Given a lock resolved on a base digest that is no longer the current one
        var baseReference = _harness.SeedBase();
        var older = Digest.Sha256Of("an older base"u8);
        _harness.Hello = _harness.Hello with { Lock = LockFor(_harness.Hello, older) };

        // When it is built
        var error = await Assert.ThrowsAsync<JobFailedException>(() => Build());

        // Then it is refused, naming the fix, and the engine never built anything
        Assert.Contains("orchestrator lock hello", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Engine.Builds);
        Assert.NotEqual(older, baseReference.Digest);
    }

    private static Core.Locks.PipelineLock LockFor(PipelineDefinition pipeline, Digest baseDigest) => new(
        Core.Locks.PipelineLock.CurrentVersion,
        pipeline.Name,
        Core.Locks.InputsChecksum.Compute(pipeline),
        new Core.Locks.LockedBase($"{pipeline.Base}", ImageReference.Parse($"{WorkflowHarness.StagingHost}/{WorkflowHarness.BaseRepository}:{pipeline.Base.Variant}"), baseDigest),
        1_700_000_000,
        [
            new Core.Locks.LockedPackage("hello", "2.10-3", "amd64", new string('a', 64), Direct: true),
            new Core.Locks.LockedPackage("libc6", "2.36-9+deb12u13", "amd64", new string('b', 64), Direct: false),
        ]);

    private PipelineDefinition PythonHello(IReadOnlyList<string> requirementsIn)
    {
        _harness.WriteFile("app/pyproject.toml", "[project]\nname = \"hello\"\nversion = \"1.0\"\n");
        var python = new PythonSpec(
            Path.Combine(_harness.Root, "pipelines", "app"), Path.Combine(_harness.Root, "pipelines", "requirements.in"), [], null, [], "http://127.0.0.1:9/simple", null,
            new BaseVariantRef("debian-bookworm", "full"), [new AptPackage("python3-pip", "23.0.1+dfsg-1")]) { RequirementsIn = requirementsIn };
        return _harness.Hello with { Python = python };
    }

    [Fact]
    public async Task BuildAsync_PythonPipeline_PullsBothBasesByDigestAndBuildsTheWheelsStageOnFull()
    {
        // Given both variants in staging and a Python pipeline on slim building on full
        var slim = _harness.SeedBase("slim");
        var full = _harness.SeedBase("full");
        _harness.Hello = PythonHello([]);

        // When it is built
        var result = await Build();

        // Then both bases were pulled by digest before anything else, and the Dockerfile builds on full, runs on slim
        Assert.Equal([slim.Digest, full.Digest], _harness.Engine.Pulls.Take(2).Select(p => p.Digest));
        var dockerfile = (await ReadTarAsync(Assert.Single(_harness.Engine.Builds).Context))["Dockerfile"];
        Assert.Contains($"FROM {full.Name}@{full.Digest} AS wheels\n", dockerfile, StringComparison.Ordinal);
        Assert.Contains($"FROM {slim.Name}@{slim.Digest}\n", dockerfile, StringComparison.Ordinal);
        Assert.Equal(slim.Digest, result.BaseReference.Digest);
    }

    [Fact]
    public async Task BuildAsync_LooseRequirementsWithoutLock_JobFailedNamingTheLockCommand()
    {
        // Given a Python pipeline whose requirements.in no lock has pinned yet
        _harness.SeedBase("slim");
        _harness.SeedBase("full");
        _harness.Hello = PythonHello(["greet>=1.0"]);

        // When it is built
        var error = await Assert.ThrowsAsync<JobFailedException>(() => Build());

        // Then nothing was built, and the message names the fix
        Assert.Contains("run 'orchestrator lock hello'", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.Engine.Builds);
    }

    private Task<BuildResult> Build(bool buildMissingBase = false, bool noCache = false) =>
        _harness.Workflows.Builds.BuildAsync("hello", buildMissingBase, noCache);

    private static async Task<Dictionary<string, string>> ReadTarAsync(byte[] tar)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var reader = new TarReader(new MemoryStream(tar));
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            using var content = new MemoryStream();
            // An empty file (a Python pipeline's empty requirements.txt) has no data stream.
            if (entry.DataStream is { } data)
            {
                await data.CopyToAsync(content);
            }

            entries[entry.Name] = Encoding.UTF8.GetString(content.ToArray());
        }

        return entries;
    }
}
