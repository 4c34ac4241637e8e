using System.Text;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.References;
using Orchestrator.Registry;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// A fresh clone: an empty state store, while the real production registry (127.0.0.1:5002) already serves the
/// pipeline under its tags. <c>status</c> and <c>release</c> show what the registry serves, marked as not recorded here.
/// </summary>
[Trait("Category", "Integration")]
public sealed class UnrecordedStatusTests : IAsyncLifetime
{
    private static readonly RegistryEndpoint Production = new("127.0.0.1:5002", PlainHttp: true);

    private readonly string _repository = $"it11-cli/unrecorded-{Guid.NewGuid():N}";
    private readonly RegistryClientFactory _factory = new();
    private readonly CliWorkspace _workspace;
    private Digest? _served;

    public UnrecordedStatusTests()
    {
        _workspace = new CliWorkspace($"""
            name: app
            version: 1.0.0
            base: deb/slim
            repository: {_repository}
            tags: ["{"{"}version{"}"}", latest]
            """);
        // Both registries real: staging (5001) does not have the repository, production serves it.
        File.WriteAllText(_workspace.ConfigPath, """
            stages: [staging, production]
            registries:
              staging: { url: http://127.0.0.1:5001 }
              production: { url: http://127.0.0.1:5002 }
            state:
              path: state/state.db
            """);
    }

    public async Task InitializeAsync()
    {
        // An image pushed to production by someone else (another checkout, CI) under 1.0.0 and latest.
        var registry = _factory.Create(Production);
        var config = Encoding.UTF8.GetBytes("""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}""");
        var configDigest = Digest.Sha256Of(config);
        await registry.UploadBlobAsync(_repository, configDigest, config.Length, new MemoryStream(config));
        var manifest = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"{{MediaTypes.OciConfig}}","digest":"{{configDigest}}","size":{{config.Length}}},"layers":[]}""");
        _served = await registry.PutManifestAsync(_repository, "1.0.0", manifest, MediaTypes.OciManifest);
        await registry.PutManifestAsync(_repository, "latest", manifest, MediaTypes.OciManifest);
    }

    public async Task DisposeAsync()
    {
        if (_served is not null)
        {
            await _factory.Create(Production).DeleteManifestAsync(_repository, _served);
        }

        _factory.Dispose();
        _workspace.Dispose();
    }

    [Fact]
    public async Task Status_FreshStateWhileProductionServesTheTags_ShowsTheDigestNotRecordedHereAndWhereTheRecordsAre()
    {
        // Given no record at all in this checkout's state store (InitializeAsync pushed to production only)

        // When status is asked, as text and as JSON
        var (exitCode, stdout, stderr) = await _workspace.RunAsync("status");
        var (jsonExit, json, _) = await _workspace.RunAsync("status", "--json");

        // Then production's row shows the digest production serves, marked not recorded here, with the hint to the records
        Assert.Equal(0, exitCode);
        var row = Assert.Single(stdout.Split('\n'), l => l.Contains("production", StringComparison.Ordinal) && l.StartsWith("app", StringComparison.Ordinal));
        Assert.Contains(_served!.ToShortString(), row, StringComparison.Ordinal);
        Assert.Contains("1.0.0,latest", row, StringComparison.Ordinal);
        Assert.Contains("(not recorded here)", row, StringComparison.Ordinal);
        Assert.Contains("orchestrator status --server URL", stdout, StringComparison.Ordinal);
        Assert.True(stderr.Length == 0 || !stderr.Contains("unexpected", StringComparison.Ordinal), stderr);

        // And the JSON carries the same, with recorded: false, and staging (which serves nothing) stays empty
        Assert.Equal(0, jsonExit);
        var stages = JsonDocument.Parse(json).RootElement.GetProperty("pipelines")[0].GetProperty("stages").EnumerateArray().ToList();
        var production = Assert.Single(stages, s => s.GetProperty("stage").GetString() == "production");
        Assert.Equal(_served.ToString(), production.GetProperty("digest").GetString());
        Assert.False(production.GetProperty("recorded").GetBoolean());
        var staging = Assert.Single(stages, s => s.GetProperty("stage").GetString() == "staging");
        Assert.False(staging.TryGetProperty("digest", out _));
    }

    [Fact]
    public async Task Release_FreshStateWhileProductionServesTheTags_PrintsTheServedDigestMarkedNotRecorded()
    {
        // Given no record here, When the production release is asked for
        var (exitCode, stdout, stderr) = await _workspace.RunAsync("release", "app", "--stage", "production");

        // Then it is the digest production serves, pinned, with a comment that it is not recorded here
        Assert.True(exitCode == 0, stderr);
        Assert.Contains($"image: \"127.0.0.1:5002/{_repository}@{_served}\"", stdout, StringComparison.Ordinal);
        Assert.Contains("# not recorded here", stdout, StringComparison.Ordinal);
    }
}
