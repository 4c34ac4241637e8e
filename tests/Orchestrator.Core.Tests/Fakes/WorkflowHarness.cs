using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Fakes;

/// <summary>
/// Composes <see cref="OrchestratorServices"/> from fakes and a workspace made in code, rooted in a
/// fresh temporary folder (deleted on dispose). Defaults: stages staging (127.0.0.1:5001) and
/// production (127.0.0.1:5002), a base <c>debian-bookworm</c> with variants full and slim (both
/// debootstrap), and a pipeline <c>hello</c> on debian-bookworm/slim tagged 1.0 and 1.0.0.
/// </summary>
internal sealed class WorkflowHarness : IDisposable
{
    public const string StagingHost = "127.0.0.1:5001";
    public const string ProductionHost = "127.0.0.1:5002";
    public const string Actor = "alice";
    public const string BaseRepository = "base/debian-bookworm";
    public const string PipelineRepository = "apps/hello";

    public static readonly DateTimeOffset Now = new(2025, 3, 14, 15, 9, 26, TimeSpan.Zero);

    public WorkflowHarness()
    {
        Root = Path.Combine(Path.GetTempPath(), $"orchestrator-workflow-tests-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(Root, "pipelines"));
        Registries = new FakeRegistryFactory();
        Engine = new FakeDockerEngine(Registries);
        Copier = new FakeImageCopier(Registries);
        Stages =
        [
            new StageDefinition("staging", new RegistryEndpoint(StagingHost, PlainHttp: true)),
            new StageDefinition("production", new RegistryEndpoint(ProductionHost, PlainHttp: true)),
        ];
        Bases = new Dictionary<string, BaseImageDefinition>(StringComparer.Ordinal)
        {
            ["debian-bookworm"] = new BaseImageDefinition(
                "debian-bookworm", Path.Combine(Root, "base-images", "debian-bookworm.yaml"), BaseRepository, "slim",
                new Dictionary<string, BaseVariantDefinition>(StringComparer.Ordinal)
                {
                    ["full"] = Variant("full"),
                    ["slim"] = Variant("slim") with { DebootstrapVariant = "minbase", Slim = true },
                }),
        };
        Pipelines = new Dictionary<string, PipelineDefinition>(StringComparer.Ordinal) { ["hello"] = Pipeline() };
    }

    public string Root { get; }

    public FakeRegistryFactory Registries { get; }

    public FakeDockerEngine Engine { get; }

    public FakeImageCopier Copier { get; }

    public FakeStateStore State { get; } = new();

    public FakeRootfsBuilder Rootfs { get; } = new();

    public RecordingReporter Reporter { get; } = new();

    public FakeTimeProvider Time { get; } = new(Now);

    public List<StageDefinition> Stages { get; set; }

    public Dictionary<string, BaseImageDefinition> Bases { get; }

    public Dictionary<string, PipelineDefinition> Pipelines { get; }

    public FakeRegistry Staging => Registries.For(StagingHost);

    public FakeRegistry Production => Registries.For(ProductionHost);

    public PipelineDefinition Hello
    {
        get => Pipelines["hello"];
        set => Pipelines["hello"] = value;
    }

    public OrchestratorConfig Config => new(
        Path.Combine(Root, "orchestrator.yaml"), Root, new EngineSettings(EngineSettings.DefaultEndpoint), Stages,
        Path.Combine(Root, "state.db"), Path.Combine(Root, "base-images"), Path.Combine(Root, "pipelines"), Path.Combine(Root, "work"));

    public OrchestratorServices Services => new(
        new Workspace(Config, Bases, Pipelines), Engine, Registries, Copier, State, Rootfs, Reporter, Time,
        new FixedActorProvider(Actor), NullLoggerFactory.Instance);

    public static BaseVariantDefinition Variant(string name) =>
        new(name, "bookworm", Mirror: null, SecurityMirror: null, ["main"], DebootstrapVariant: null, Slim: false, Include: [], From: null);

    /// <summary>The default pipeline: no packages, no files, no validation; change it with <c>with</c>.</summary>
    public PipelineDefinition Pipeline() => new(
        "hello", "1.0", Path.Combine(Root, "pipelines", "hello.yaml"), new BaseVariantRef("debian-bookworm", "slim"),
        PipelineRepository, AptPackages: [], Files: [], Env: [], User: null, WorkingDirectory: null, Entrypoint: null, Cmd: null,
        Labels: [], Tags: ["1.0", "1.0.0"], ValidationSpec.Empty);

    /// <summary>Writes a file under the pipeline's folder and returns its absolute path.</summary>
    public string WriteFile(string relativePath, string content, UnixFileMode? mode = null)
    {
        var path = Path.Combine(Root, "pipelines", relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        if (mode is not null && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode.Value);
        }

        return path;
    }

    /// <summary>Puts a base variant manifest in staging under its variant tag, as an earlier base build would have.</summary>
    public ImageReference SeedBase(string variant = "slim", string seed = "base")
    {
        var digest = Staging.AddManifest(BaseRepository, $"{seed}-{variant}", variant);
        return ImageReference.Create(StagingHost, BaseRepository, digest: digest);
    }

    /// <summary>Puts a pipeline image manifest in staging, as an earlier build would have; returns its digest.</summary>
    public Digest SeedImage(string seed = "hello-image", params string[] tags) => Staging.AddManifest(PipelineRepository, seed, tags);

    /// <summary>Records a passing (or failing) validation of <paramref name="digest"/> in staging.</summary>
    public ValidationRecord SeedValidation(Digest digest, bool passed = true) =>
        State.AddValidation("hello", ImageReference.Create(StagingHost, PipelineRepository, digest: digest), passed, Now.AddHours(-1));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
