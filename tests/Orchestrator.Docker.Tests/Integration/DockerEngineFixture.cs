using System.Diagnostics;
using System.Text.Json;
using Orchestrator.Core.Ports;

namespace Orchestrator.Docker.Tests.Integration;

/// <summary>
/// The engine tests run one at a time (two cores shared by several engineers) against images made once:
/// a base imported from <see cref="TinyRootfs"/> and an app built from it.
/// </summary>
[CollectionDefinition(Name)]
public sealed class DockerEngineCollection : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "Docker engine";
}

public sealed class DockerEngineFixture : IAsyncLifetime
{
    public const string HelloText = "hello from the build context\n";

    public string Unique { get; } = Guid.NewGuid().ToString("N")[..8];

    public DockerEngineClient Client { get; } = DockerEngineClient.Create(null);

    public string BaseRepository => $"it/docker-{Unique}-base";

    public string AppRepository => $"it/docker-{Unique}-app";

    public string BaseImageId { get; private set; } = string.Empty;

    public string AppImageId { get; private set; } = string.Empty;

    public List<EngineProgress> BuildProgress { get; } = [];

    public async Task InitializeAsync()
    {
        using var rootfs = await TinyRootfs.CreateTarAsync();
        BaseImageId = await Client.ImportImageAsync(rootfs, BaseRepository, "1", ["CMD [\"/bin/sh\"]"]);

        using var context = TinyRootfs.CreateContext(new Dictionary<string, string>
        {
            ["Dockerfile"] = $"""
                FROM {BaseRepository}:1
                COPY hello.txt /srv/hello.txt
                ENV GREETING=hi
                USER 1000:1000
                ENTRYPOINT ["/bin/sh", "-c"]
                CMD ["echo default"]
                LABEL org.example.from-dockerfile=yes
                """,
            ["hello.txt"] = HelloText,
        });
        AppImageId = await Client.BuildImageAsync(
            context,
            new ImageBuildRequest([$"{AppRepository}:1"], Labels: new Dictionary<string, string> { ["org.example.from-request"] = "also" }),
            new SyncProgress(BuildProgress));
    }

    public async Task DisposeAsync()
    {
        foreach (var image in new[] { AppImageId, BaseImageId })
        {
            if (image.Length > 0)
            {
                await Client.RemoveImageAsync(image, force: true);
            }
        }

        Client.Dispose();
    }

    /// <summary>Runs a command on the host (skopeo, as an independent witness) and returns its stdout.</summary>
    public static async Task<string> RunToolAsync(string tool, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(tool, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"{tool} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited {process.ExitCode}: {await stderr}");
        }

        return await stdout;
    }

    public static async Task<string> SkopeoDigestAsync(string reference)
    {
        var json = await RunToolAsync("skopeo", "inspect", "--tls-verify=false", $"docker://{reference}");
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("Digest").GetString()!;
    }
}

internal sealed class SyncProgress(List<EngineProgress> items) : IProgress<EngineProgress>
{
    public void Report(EngineProgress value)
    {
        lock (items)
        {
            items.Add(value);
        }
    }
}
