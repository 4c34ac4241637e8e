using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Fakes;

/// <summary>
/// Wires the workflows (<see cref="WorkflowGraph"/>, the production wiring) over fakes and a workspace made in code, rooted in a
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

    /// <summary>The package cache builds take their .debs from: small files in the harness's folder.</summary>
    public FakePackageCache Packages => _packages ??= new FakePackageCache(Path.Combine(Root, "package-cache"));

    private FakePackageCache? _packages;

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
        Path.Combine(Root, "state.db"), Path.Combine(Root, "base-images"), Path.Combine(Root, "pipelines"), Path.Combine(Root, "work"))
    {
        Signing = Signing,
    };

    /// <summary>The config's <c>signing:</c> section; null (no signing) by default.</summary>
    public SigningSettings? Signing { get; set; }

    /// <summary>Environment variables the workflows see (the signing key's <c>key-env</c>); empty by default.</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>What the engine pulls with; by default the variables a registry names, read from <see cref="Environment"/>.</summary>
    public IEngineCredentialSource? EngineCredentials { get; set; }

    /// <summary>The definitions as they are now.</summary>
    public Workspace Workspace => new(Config, Bases, Pipelines);

    /// <summary>The workflows over the fakes and the definitions as they are now (a new set, on a new workspace, each time).</summary>
    public WorkflowSet Workflows => WorkflowsWith();

    /// <summary>As <see cref="Workflows"/>, with the ports given here in place of the harness's own.</summary>
    public WorkflowSet WorkflowsWith(IDockerEngine? engine = null, IStateStore? state = null, IRootfsBuilder? rootfs = null)
    {
        ApplyAutoLocks();
        var graph = new WorkflowGraph(engine ?? Engine, Registries, Copier, state ?? State, rootfs ?? Rootfs, Time, NullLoggerFactory.Instance)
        {
            Environment = name => Environment.GetValueOrDefault(name),
            EngineCredentials = EngineCredentials ?? new EnvironmentEngineCredentials(name => Environment.GetValueOrDefault(name)),
            PackageCaches = (_, _) => Packages,
        };
        return graph.Create(new WorkflowScope(new FixedWorkspace(Workspace), Reporter, new FixedActorProvider(Actor)));
    }

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

    /// <summary>
    /// Puts a real (small) base image in staging under its variant tag, as an earlier base build would have:
    /// one normalized layer holding a file derived from <paramref name="seed"/>, an OCI config and manifest.
    /// </summary>
    public ImageReference SeedBase(string variant = "slim", string seed = "base")
    {
        var scratch = Path.Combine(Root, "seed", Guid.NewGuid().ToString("N"));
        var tar = TestTars.Files(DateTimeOffset.FromUnixTimeSeconds(FakeRootfsBuilder.SourceDateEpoch), ("etc/seed", $"{seed}-{variant}\n"));
        // Task.Run: no test synchronization context for the continuations to wait on while this blocks.
        var layer = Task.Run(() => Orchestrator.Core.Images.LayerBlob.WriteAsync(new MemoryStream(tar), scratch, new Orchestrator.Core.Images.LayerNormalizationOptions { SourceDateEpoch = FakeRootfsBuilder.SourceDateEpoch, ScratchDirectory = scratch }))
            .GetAwaiter().GetResult();
        var created = DateTimeOffset.FromUnixTimeSeconds(FakeRootfsBuilder.SourceDateEpoch);
        var config = new Orchestrator.Core.Images.ImageConfig
        {
            Architecture = "amd64",
            Created = created,
            Cmd = ["bash"],
            DiffIds = [layer.DiffId],
            History = [new Orchestrator.Core.Images.ImageHistory(created, $"seeded base {seed}-{variant}", null, false)],
        };
        var image = Orchestrator.Core.Images.OciImage.Assemble(config, [layer]);
        var digest = Task.Run(() => Orchestrator.Core.Images.ImagePublisher.PublishAsync(Staging, BaseRepository, image, [variant], baseRepository: null)).GetAwaiter().GetResult();
        return ImageReference.Create(StagingHost, BaseRepository, digest: digest);
    }

    /// <summary>
    /// When true, <see cref="Workflows"/> gives every pipeline without a lock a fresh lock on
    /// the base variant's current digest in staging (its packages, source date <see cref="LockSourceDate"/>),
    /// since builds refuse a pipeline without one. The build, cache, run and SBOM tests turn it on; it is off
    /// by default because a lock adds the installed-set test to a validation.
    /// </summary>
    public bool AutoLock { get; set; }

    /// <summary>The source date of the locks <see cref="AutoLock"/> writes (2024-09-01T00:00:00Z).</summary>
    public const long LockSourceDate = 1725148800;

    /// <summary>A fresh lock for <paramref name="pipeline"/> on <paramref name="baseDigest"/>.</summary>
    /// <remarks>A Python pipeline's lock also names its build base at <paramref name="buildBaseDigest"/> with its build packages.</remarks>
    public static Orchestrator.Core.Locks.PipelineLock LockFor(PipelineDefinition pipeline, Digest baseDigest, Digest? buildBaseDigest = null)
    {
        var pipelineLock = new Orchestrator.Core.Locks.PipelineLock(
            Orchestrator.Core.Locks.PipelineLock.CurrentVersion, pipeline.Name, Orchestrator.Core.Locks.InputsChecksum.Compute(pipeline),
            new Orchestrator.Core.Locks.LockedBase(pipeline.Base.ToString(), ImageReference.Create(StagingHost, BaseRepository, pipeline.Base.Variant), baseDigest),
            LockSourceDate,
            pipeline.AptPackages.Select(p => new Orchestrator.Core.Locks.LockedPackage(p.Name, p.Version, "amd64", new string('a', 64), Direct: true)).ToList());
        return pipeline.Python is { } python && buildBaseDigest is not null
            ? pipelineLock with
            {
                BuildBase = new Orchestrator.Core.Locks.LockedBase(python.BuildBase.ToString(), ImageReference.Create(StagingHost, BaseRepository, python.BuildBase.Variant), buildBaseDigest),
                BuildPackages = [.. python.BuildPackages.Select(p => new Orchestrator.Core.Locks.LockedPackage(p.Name, p.Version, "amd64", new string('b', 64), Direct: true))],
            }
            : pipelineLock;
    }

    // The fake root filesystem builder is deterministic and base builds are reproducible, so the digest a
    // base build will push is known beforehand: build it in a throwaway harness with the same bases.
    private Digest? PredictBaseDigest(string variant)
    {
        if (!Bases["debian-bookworm"].Variants.TryGetValue(variant, out var variantDefinition) || variantDefinition.From is not null)
        {
            return null; // an upstream base is copied, not built: no lock unless the test seeds it
        }

        using var scratch = new WorkflowHarness();
        foreach (var (name, definition) in Bases)
        {
            scratch.Bases[name] = definition;
        }

        var bases = scratch.WorkflowsWith(rootfs: PredictionRootfs ?? scratch.Rootfs).Bases;
        return Task.Run(() => bases.BuildAsync($"debian-bookworm/{variant}")).GetAwaiter().GetResult().Digest;
    }

    /// <summary>The root filesystem builder base-digest predictions use, when a test swaps in its own.</summary>
    public IRootfsBuilder? PredictionRootfs { get; set; }

    private void ApplyAutoLocks()
    {
        if (!AutoLock)
        {
            return;
        }

        foreach (var (name, pipeline) in Pipelines.ToList())
        {
            if (pipeline.Lock is null)
            {
                if ((Staging.Find(BaseRepository, pipeline.Base.Variant)?.Digest ?? PredictBaseDigest(pipeline.Base.Variant)) is { } baseDigest)
                {
                    var buildBaseDigest = pipeline.Python is { } python
                        ? Staging.Find(BaseRepository, python.BuildBase.Variant)?.Digest ?? PredictBaseDigest(python.BuildBase.Variant)
                        : null;
                    Pipelines[name] = pipeline with { Lock = LockFor(pipeline, baseDigest, buildBaseDigest) };
                }
            }
        }
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
