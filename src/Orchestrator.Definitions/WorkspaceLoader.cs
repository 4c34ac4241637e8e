using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Locks;
using Orchestrator.Definitions.Yaml;

namespace Orchestrator.Definitions;

/// <summary>
/// Loads orchestrator.yaml, every <c>base-images/*.yaml</c> and every <c>pipelines/*.yaml</c> (not
/// <c>*.lock.yaml</c>), checks each against its schema and against each other, and returns the
/// <see cref="Workspace"/>. Nothing is built from a workspace with a single problem, and every problem
/// is reported at once, each at <c>file:line:column</c> (1-based, as editors show) with its fix.
/// </summary>
public sealed class WorkspaceLoader(ILogger? logger = null) : IWorkspaceLoader
{
    private readonly ILogger logger = logger ?? NullLogger.Instance;

    /// <summary>
    /// Accept apt packages written without a version even when the pipeline has no lock yet, so
    /// <c>orchestrator lock</c> can write the first lock of such a pipeline. Everything else refuses them.
    /// <value>The default is false.</value>
    /// </summary>
    public bool AllowUnpinnedWithoutLock { get; init; }

    /// <inheritdoc />
    /// <exception cref="DefinitionException">
    /// Any file is missing, malformed or inconsistent; <see cref="DefinitionException.Errors"/> holds every
    /// problem, sorted by file, line and column. A missing config file is reported at 1:1.
    /// </exception>
    public async Task<Workspace> LoadAsync(string configPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configPath);
        var diagnostics = new Diagnostics();
        var configFile = SourceFile.For(configPath, diagnostics);
        if (!File.Exists(configFile.FullPath))
        {
            configFile.ErrorAtStart($"the config file does not exist (looked for {configFile.FullPath})",
                "create orchestrator.yaml or pass --config FILE");
            throw new DefinitionException(diagnostics.Sorted());
        }

        var configRoot = await configFile.LoadAsync(cancellationToken).ConfigureAwait(false);
        var config = ConfigReader.Read(configFile, configRoot, out var folders);

        var bases = new Dictionary<string, BaseImageDefinition?>(StringComparer.Ordinal);
        foreach (var path in DefinitionFiles(configFile, folders.BaseImages, "base-images"))
        {
            var file = SourceFile.For(path, diagnostics);
            var root = await file.LoadAsync(cancellationToken).ConfigureAwait(false);
            bases[file.BaseName] = root is null ? null : BaseImageReader.Read(file, root);
        }

        var pipelines = new Dictionary<string, PipelineDefinition>(StringComparer.Ordinal);
        var names = new Dictionary<string, (SourceFile File, Located<string> Name)>(StringComparer.Ordinal);
        foreach (var path in DefinitionFiles(configFile, folders.Pipelines, "pipelines"))
        {
            var file = SourceFile.For(path, diagnostics);
            var root = await file.LoadAsync(cancellationToken).ConfigureAwait(false);
            if (root is null)
            {
                continue;
            }

            var lockPath = PipelineDefinition.LockPathFor(file.FullPath);
            var hasLock = File.Exists(lockPath);
            PipelineLock? pipelineLock = null;
            if (hasLock)
            {
                var lockFile = SourceFile.For(lockPath, diagnostics);
                var lockRoot = await lockFile.LoadAsync(cancellationToken).ConfigureAwait(false);
                pipelineLock = lockRoot is null ? null : LockFileReader.Read(lockFile, lockRoot);
            }

            var pipeline = PipelineReader.Read(file, root, bases, out var name, hasLock || AllowUnpinnedWithoutLock, pipelineLock);
            if (name is not { } n)
            {
                continue;
            }

            if (names.TryGetValue(n.Value, out var first))
            {
                file.Error(n.Node, $"pipeline name '{n.Value}' is already used by {first.File.DisplayPath}:{first.Name.Node.Start.Line}:{first.Name.Node.Start.Column}; names are unique across pipelines",
                    $"rename one of them ({first.File.DisplayPath} or {file.DisplayPath})");
                continue;
            }

            names[n.Value] = (file, n);
            if (pipeline is not null)
            {
                pipelines[pipeline.Name] = pipeline;
            }
        }

        if (diagnostics.Count > 0 || config is null)
        {
            var errors = diagnostics.Sorted();
            logger.LogWarning("Definitions under {Root} have {Count} problems", configFile.Directory, errors.Count);
            throw new DefinitionException(errors);
        }

        logger.LogDebug("Loaded {Bases} base images and {Pipelines} pipelines from {Root}", bases.Count, pipelines.Count, config.RootDirectory);
        return new Workspace(
            config,
            bases.ToDictionary(b => b.Key, b => b.Value!, StringComparer.Ordinal),
            pipelines);
    }

    /// <summary>
    /// The definition files in <paramref name="folder"/>, sorted. A folder the config names on purpose
    /// must exist; a default one that is missing is just empty, so a fresh workspace needs no empty folders.
    /// </summary>
    private IReadOnlyList<string> DefinitionFiles(SourceFile configFile, ConfiguredFolder folder, string key)
    {
        if (!Directory.Exists(folder.Path))
        {
            if (folder.Node is not null)
            {
                configFile.Error(folder.Node, $"paths.{key} '{folder.Path}' does not exist", $"create the folder, or point 'paths.{key}' at the right one");
            }
            else
            {
                logger.LogDebug("No {Folder} folder at {Path}; reading it as empty", key, folder.Path);
            }

            return [];
        }

        return Directory.EnumerateFiles(folder.Path, "*.yaml", SearchOption.TopDirectoryOnly)
            .Where(f => !f.EndsWith(".lock.yaml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
    }
}
