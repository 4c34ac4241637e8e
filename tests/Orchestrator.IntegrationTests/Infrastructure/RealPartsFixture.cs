namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// One workspace and one slim base for the whole collection: the base is built for real (debootstrap,
/// import, push) once, since every pipeline test builds on it. Everything is cleaned up at the end.
/// </summary>
public sealed class RealPartsFixture : IAsyncLifetime
{
    private readonly List<string> _repositories = [];

    internal TestWorkspace Workspace { get; } = new();

    /// <summary>What <c>orchestrator base build it-bookworm/slim --json</c> returned.</summary>
    internal CliRunner.Result BaseBuild { get; private set; } = null!;

    /// <summary>The base's digest-pinned reference in staging.</summary>
    public string BaseReference { get; private set; } = string.Empty;

    private readonly SemaphoreSlim _fullBase = new(1, 1);
    private string? _fullBaseReference;

    /// <summary>
    /// The full variant's digest-pinned reference in staging (the Python build base), built on first use and then
    /// shared by the collection: only the tests that need it pay its debootstrap.
    /// </summary>
    public async Task<string> FullBaseAsync()
    {
        await _fullBase.WaitAsync();
        try
        {
            if (_fullBaseReference is null)
            {
                var build = await CliRunner.RunAsync(Workspace.ConfigPath, "base", "build", "it-bookworm/full", "--json");
                Assert.True(build.ExitCode == 0, $"the full base build failed: {build}");
                _fullBaseReference = build.Json.GetProperty("reference").GetString()!;
            }

            return _fullBaseReference;
        }
        finally
        {
            _fullBase.Release();
        }
    }

    /// <summary>Registers a repository to delete from both registries at the end.</summary>
    public void Track(string repository)
    {
        lock (_repositories)
        {
            _repositories.Add(repository);
        }
    }

    public async Task InitializeAsync()
    {
        Track(Workspace.BaseRepository);
        BaseBuild = await CliRunner.RunAsync(Workspace.ConfigPath, "base", "build", "it-bookworm/slim", "--json");
        Assert.True(BaseBuild.ExitCode == 0, $"the base build failed: {BaseBuild}");
        BaseReference = BaseBuild.Json.GetProperty("reference").GetString()!;
    }

    public async Task DisposeAsync()
    {
        foreach (var repository in _repositories.Distinct())
        {
            await Janitor.DeleteRepositoryAsync(TestWorkspace.Staging, repository);
            await Janitor.DeleteRepositoryAsync(TestWorkspace.Production, repository);
        }

        await Janitor.RemoveLocalImagesAsync(Workspace.Prefix);
        Workspace.Dispose();
        _fullBase.Dispose();
    }
}

/// <summary>The tests that share the real engine, registries and the fixture's base run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class RealPartsCollection : ICollectionFixture<RealPartsFixture>
{
    public const string Name = "real parts";
}
