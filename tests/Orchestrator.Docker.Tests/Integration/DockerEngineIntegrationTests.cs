using System.Diagnostics;
using System.Text;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Docker.Tests.Integration;

[Collection(DockerEngineCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DockerEngineIntegrationTests(DockerEngineFixture fixture)
{
    private const string StagingRegistry = "127.0.0.1:5001";

    private DockerEngineClient Client => fixture.Client;

    [Fact]
    public async Task GetVersionAsync_RealEngine_SpeaksApi141OrNewer()
    {
        // When asking the engine its version
        var version = await Client.GetVersionAsync();

        // Then it is a linux engine whose API covers v1.41
        Assert.Equal("linux", version.Os);
        Assert.True(Version.Parse(version.ApiVersion) >= new Version(1, 41), $"API {version.ApiVersion}");
        Assert.False(string.IsNullOrEmpty(version.Version));
    }

    [Fact]
    public async Task ImportImageAsync_TinyRootfs_CreatesTaggedImageWithChanges()
    {
        // Given the fixture imported the tiny rootfs with CMD ["/bin/sh"]
        // When inspecting it by name
        var image = await Client.InspectImageAsync($"{fixture.BaseRepository}:1");

        // Then the id is the one the import reported and the change was applied
        Assert.NotNull(image);
        Assert.Equal(fixture.BaseImageId, image.Id);
        Assert.True(Digest.TryParse(image.Id, out _, out _));
        Assert.Contains($"{fixture.BaseRepository}:1", image.RepoTags);
        Assert.Equal(["/bin/sh"], image.Config.Cmd);
        Assert.Equal("linux", image.Os);
        Assert.True(image.Size > 0);
    }

    [Fact]
    public async Task SaveImageAsync_BuiltApp_ExportsAConfigAndOneUncompressedTarPerDiffId()
    {
        // Given the app the fixture built on the imported base
        var folder = Directory.CreateTempSubdirectory("orchestrator-save-test-").FullName;
        try
        {
            // When it is exported and extracted
            await using (var file = File.Create(Path.Combine(folder, "save.tar")))
            {
                await Client.SaveImageAsync($"{fixture.AppRepository}:1", file);
            }

            Core.Images.SavedImage saved;
            await using (var file = File.OpenRead(Path.Combine(folder, "save.tar")))
            {
                saved = await Core.Images.SavedImage.ExtractAsync(file, Path.Combine(folder, "export"));
            }

            // Then there is one layer tar per diff id, each hashing to it, and the config carries the app's settings
            var diffIds = Core.Images.ImageConfig.ReadDiffIds(saved.Config);
            Assert.True(diffIds.Count >= 2, $"{diffIds.Count} diff ids: the base's layer and at least one of the build's");
            Assert.Equal(diffIds.Count, saved.LayerPaths.Count);
            for (var i = 0; i < diffIds.Count; i++)
            {
                await using var layer = File.OpenRead(saved.LayerPaths[i]);
                Assert.Equal(diffIds[i], await Digest.Sha256OfAsync(layer));
            }

            Assert.Equal("linux", saved.Config.GetProperty("os").GetString());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task SaveImageAsync_NoSuchImage_ThrowsEngineException()
    {
        // When exporting an image the engine does not have
        var error = await Assert.ThrowsAsync<EngineException>(() => Client.SaveImageAsync($"it/docker-{fixture.Unique}-missing:1", Stream.Null));

        // Then the error names the export
        Assert.Contains("export of image", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BuildImageAsync_Dockerfile_AppliesCopyEnvUserEntrypointAndLabels()
    {
        // Given the fixture built the app image (COPY, ENV, USER, ENTRYPOINT, LABEL, plus a request label)
        // When inspecting it
        var image = await Client.InspectImageAsync($"{fixture.AppRepository}:1");

        // Then inspect shows every instruction, and the build reported progress
        Assert.NotNull(image);
        Assert.Equal(fixture.AppImageId, image.Id);
        Assert.Contains("GREETING=hi", image.Config.Env);
        Assert.Equal("1000:1000", image.Config.User);
        Assert.Equal(["/bin/sh", "-c"], image.Config.Entrypoint);
        Assert.Equal("yes", image.Config.Labels["org.example.from-dockerfile"]);
        Assert.Equal("also", image.Config.Labels["org.example.from-request"]);
        Assert.Contains(fixture.BuildProgress, p => p.Stream?.Contains("COPY hello.txt", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task RunContainer_PrintsToBothStreamsAndExits3_LogsAreDemultiplexedAndExitCodeIs3()
    {
        // Given a locked-down container (no network, no capabilities, read-only root, tmpfs /tmp)
        var spec = new ContainerSpec(
            fixture.AppImageId,
            Cmd: ["echo to-stdout; echo to-stderr >&2; echo $GREETING > /tmp/x && echo tmp-ok; echo more-out; exit 3"],
            ReadonlyRootfs: true,
            Tmpfs: new Dictionary<string, string> { ["/tmp"] = "rw,size=1m" },
            Labels: new Dictionary<string, string> { ["org.example.test"] = fixture.Unique });

        // When it runs to the end
        var (exitCode, logs) = await RunAsync(spec);

        // Then
        Assert.Equal(3, exitCode);
        Assert.Equal("to-stdout\ntmp-ok\nmore-out\n", logs.Stdout);
        Assert.Equal("to-stderr\n", logs.Stderr);
    }

    [Fact]
    public async Task CreateContainerAsync_EmptyEntrypoint_ClearsTheImageEntrypoint()
    {
        // Given the app image's entrypoint is ["/bin/sh","-c"]; were it kept, Cmd would become "sh -c /bin/sh -c …"
        // and print nothing
        var cleared = new ContainerSpec(fixture.AppImageId, Entrypoint: [], Cmd: ["/bin/sh", "-c", "echo no-entrypoint"]);
        var kept = new ContainerSpec(fixture.AppImageId, Cmd: ["echo kept-entrypoint"]);

        // When both run
        var (clearedExit, clearedLogs) = await RunAsync(cleared);
        var (keptExit, keptLogs) = await RunAsync(kept);

        // Then the empty list ran Cmd directly, and null kept the image's entrypoint
        Assert.Equal(0, clearedExit);
        Assert.Equal("no-entrypoint\n", clearedLogs.Stdout);
        Assert.Equal(0, keptExit);
        Assert.Equal("kept-entrypoint\n", keptLogs.Stdout);
    }

    [Fact]
    public async Task StatContainerPathAsync_CreatedContainer_StatsFilesDirectoriesLinksAndMissingPaths()
    {
        // Given a container that was created but never started
        var id = await Client.CreateContainerAsync(new ContainerSpec(fixture.AppImageId));
        try
        {
            // When stat-ing a file, a directory, a symlink and a missing path
            var file = await Client.StatContainerPathAsync(id, "/srv/hello.txt");
            var directory = await Client.StatContainerPathAsync(id, "/srv");
            var link = await Client.StatContainerPathAsync(id, "/bin/ash");
            var missing = await Client.StatContainerPathAsync(id, "/no/such/path");

            // Then
            Assert.NotNull(file);
            Assert.Equal("hello.txt", file.Name);
            Assert.Equal(Encoding.UTF8.GetByteCount(DockerEngineFixture.HelloText), file.Size);
            Assert.False(file.IsDirectory);
            Assert.NotNull(directory);
            Assert.True(directory.IsDirectory);
            Assert.NotNull(link);
            Assert.True(link.IsSymlink);
            // The engine resolves the link inside the container and reports the absolute target.
            Assert.Equal("/bin/sh", link.LinkTarget);
            Assert.Null(missing);
        }
        finally
        {
            await Client.RemoveContainerAsync(id);
        }
    }

    [Fact]
    public async Task StatContainerPathAsync_NoSuchContainer_ThrowsEngineException()
    {
        var ex = await Assert.ThrowsAsync<EngineException>(() => Client.StatContainerPathAsync($"it-missing-{fixture.Unique}", "/"));

        Assert.Equal(System.Net.HttpStatusCode.NotFound, ex.StatusCode);
        Assert.Contains("No such container", ex.Message);
    }

    [Fact]
    public async Task PushImageAsync_ToStaging_ReturnsTheDigestTheRegistryServes_AndPullByDigestRestoresIt()
    {
        // Given the app image tagged into a unique staging repository
        var repository = $"{StagingRegistry}/it/docker-{Guid.NewGuid().ToString("N")[..8]}";
        await Client.TagImageAsync(fixture.AppImageId, repository, "1");
        Digest? pushed = null;
        try
        {
            // When pushed
            var progress = new List<EngineProgress>();
            pushed = await Client.PushImageAsync(repository, "1", progress: new SyncProgress(progress));

            // Then the digest is what an independent client sees in the registry
            Assert.Equal(pushed.ToString(), await DockerEngineFixture.SkopeoDigestAsync($"{repository}:1"));
            Assert.NotEmpty(progress);

            // When the local copies are gone and the image is pulled back by digest
            await Client.RemoveImageAsync($"{repository}:1");
            var byDigest = ImageReference.Parse($"{repository}@{pushed}");
            await Client.PullImageAsync(byDigest);

            // Then the engine has that exact image again
            var image = await Client.InspectImageAsync(byDigest.ToString());
            Assert.NotNull(image);
            Assert.Equal(fixture.AppImageId, image.Id);
            Assert.Contains(byDigest.ToString(), image.RepoDigests);
        }
        finally
        {
            await Client.RemoveImageAsync($"{repository}:1");
            if (pushed is not null)
            {
                await Client.RemoveImageAsync($"{repository}@{pushed}");
                using var http = new HttpClient();
                var path = repository[(StagingRegistry.Length + 1)..];
                using var response = await http.DeleteAsync($"http://{StagingRegistry}/v2/{path}/manifests/{pushed}");
            }
        }
    }

    [Fact]
    public async Task PullImageAsync_UnknownTag_ThrowsEngineExceptionNamingIt()
    {
        var reference = ImageReference.Parse($"{StagingRegistry}/it/docker-missing-{fixture.Unique}:nope");

        var ex = await Assert.ThrowsAnyAsync<EngineException>(() => Client.PullImageAsync(reference));

        Assert.Contains($"it/docker-missing-{fixture.Unique}", ex.Message);
    }

    [Fact]
    public async Task BuildImageAsync_RunExits1_ThrowsEngineExceptionNamingTheFailure()
    {
        // Given a Dockerfile whose RUN fails
        using var context = TinyRootfs.CreateContext(new Dictionary<string, string>
        {
            ["Dockerfile"] = $"FROM {fixture.BaseRepository}:1\nRUN echo failing-step && exit 1\n",
        });

        // When built
        var ex = await Assert.ThrowsAsync<EngineException>(() =>
            Client.BuildImageAsync(context, new ImageBuildRequest([$"it/docker-{fixture.Unique}-fails:1"])));

        // Then the error came from inside the 200 stream and names the failing command
        Assert.Null(ex.StatusCode);
        Assert.Contains("echo failing-step && exit 1", ex.Message);
        Assert.Contains("non-zero code: 1", ex.Message);
    }

    [Fact]
    public async Task BuildImageAsync_Cancelled_StopsPromptly()
    {
        // Given a build whose RUN would take a minute
        using var context = TinyRootfs.CreateContext(new Dictionary<string, string>
        {
            ["Dockerfile"] = $"FROM {fixture.BaseRepository}:1\nRUN sleep 60\n",
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var watch = Stopwatch.StartNew();

        // When the token fires mid-build
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Client.BuildImageAsync(context, new ImageBuildRequest([$"it/docker-{fixture.Unique}-slow:1"]), cancellationToken: cts.Token));

        // Then the call returned long before the RUN would have finished
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        await Client.RemoveImageAsync($"it/docker-{fixture.Unique}-slow:1", force: true);
    }

    [Fact]
    public async Task KillContainerAsync_Running_StopsItAndWaitCanBeCancelled()
    {
        // Given a running container that would sleep for a minute
        var id = await Client.CreateContainerAsync(new ContainerSpec(fixture.AppImageId, Cmd: ["exec sleep 60"]));
        try
        {
            await Client.StartContainerAsync(id);

            // When waiting with a short deadline
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1)))
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client.WaitContainerAsync(id, cts.Token));
            }

            // And when it is killed (twice: the second time it is no longer running)
            await Client.KillContainerAsync(id);
            var exitCode = await Client.WaitContainerAsync(id);
            await Client.KillContainerAsync(id);

            // Then it died of SIGKILL
            Assert.Equal(137, exitCode);
        }
        finally
        {
            await Client.RemoveContainerAsync(id);
        }
    }

    [Fact]
    public async Task InspectAndRemove_MissingImage_NullAndNoError()
    {
        var name = $"it/docker-{fixture.Unique}-never:1";

        Assert.Null(await Client.InspectImageAsync(name));
        await Client.RemoveImageAsync(name);
        await Client.RemoveContainerAsync($"it-never-{fixture.Unique}");
    }

    [Fact]
    public async Task CreateContainerAsync_MissingImage_ThrowsEngineExceptionWithEngineMessage()
    {
        var ex = await Assert.ThrowsAsync<EngineException>(() => Client.CreateContainerAsync(new ContainerSpec($"it/docker-{fixture.Unique}-never:1")));

        Assert.Equal(System.Net.HttpStatusCode.NotFound, ex.StatusCode);
        Assert.Contains("No such image", ex.Message);
    }

    private async Task<(long ExitCode, ContainerLogs Logs)> RunAsync(ContainerSpec spec)
    {
        var id = await Client.CreateContainerAsync(spec);
        try
        {
            await Client.StartContainerAsync(id);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var exitCode = await Client.WaitContainerAsync(id, cts.Token);
            var logs = await Client.GetContainerLogsAsync(id);
            return (exitCode, logs);
        }
        finally
        {
            await Client.RemoveContainerAsync(id);
        }
    }
}
