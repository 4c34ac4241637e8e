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

    /// <summary>
    /// Which definitions the caller needs: problems elsewhere become <see cref="Workspace.Warnings"/>.
    /// <value>The default is <see cref="WorkspaceScope.Everything"/>: every problem is an error.</value>
    /// </summary>
    public WorkspaceScope Scope { get; init; } = WorkspaceScope.Everything;

    /// <inheritdoc />
    /// <exception cref="InputException">The config file does not exist; the message names the path tried.</exception>
    /// <exception cref="DefinitionException">
    /// The config, or a definition in <see cref="Scope"/>, is malformed or inconsistent;
    /// <see cref="DefinitionException.Errors"/> holds every such problem, sorted by file, line and column.
    /// </exception>
    public async Task<Workspace> LoadAsync(string configPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configPath);
        var diagnostics = new Diagnostics();
        var configFile = SourceFile.For(configPath, diagnostics);
        if (!File.Exists(configFile.FullPath))
        {
            // No position: there is no file to point into.
            throw new InputException(
                $"no such file: {configFile.FullPath} (the config was looked for there); create it (see README, 'Definitions'), run from the folder that has orchestrator.yaml, or point at one with --config FILE or $ORCHESTRATOR_CONFIG");
        }

        var configRoot = await configFile.LoadAsync(cancellationToken).ConfigureAwait(false);
        var config = ConfigReader.Read(configFile, configRoot, out var folders);

        // Each base and pipeline collects its problems apart, so those the caller does not need can become warnings.
        var bases = new Dictionary<string, BaseImageDefinition?>(StringComparer.Ordinal);
        var baseProblems = new Dictionary<string, Diagnostics>(StringComparer.Ordinal);
        foreach (var path in DefinitionFiles(configFile, folders.BaseImages, "base-images"))
        {
            var file = SourceFile.For(path, baseProblems[Path.GetFileNameWithoutExtension(path)] = new Diagnostics());
            var root = await file.LoadAsync(cancellationToken).ConfigureAwait(false);
            bases[file.BaseName] = root is null ? null : BaseImageReader.Read(file, root);
        }

        var pipelines = new Dictionary<string, PipelineDefinition>(StringComparer.Ordinal);
        var pipelineProblems = new Dictionary<string, Diagnostics>(StringComparer.Ordinal);
        var basesUsed = new HashSet<string>(Scope.Bases, StringComparer.Ordinal);
        // Each pipeline file and its lock are read on their own (own diagnostics, read-only bases), so they are
        // read in parallel. A pipeline the command does not need is read for its warnings only: its lock (a few
        // hundred packages, most of a warm promotion's start) is not parsed, and it is left out of the workspace.
        var reads = new List<(bool Needed, string Name, Task<PipelineDefinition?> Read)>();
        foreach (var path in DefinitionFiles(configFile, folders.Pipelines, "pipelines"))
        {
            var file = SourceFile.For(path, pipelineProblems[Path.GetFileNameWithoutExtension(path)] = new Diagnostics());
            var needed = Scope.NeedsPipeline(file.BaseName);
            var lookup = needed ? new RecordingLookup(bases, basesUsed) : (IReadOnlyDictionary<string, BaseImageDefinition?>)bases;
            reads.Add((needed, file.BaseName, Task.Run(() => ReadPipelineAsync(file, lookup, readLock: needed, cancellationToken), cancellationToken)));
        }

        // Added in file order, as when they were read one by one.
        await Task.WhenAll(reads.Select(r => r.Read)).ConfigureAwait(false);
        var unloaded = new List<string>();
        foreach (var (needed, name, read) in reads)
        {
            if (!needed)
            {
                unloaded.Add(name);
            }
            else if (await read.ConfigureAwait(false) is { } pipeline)
            {
                pipelines[pipeline.Name] = pipeline;
            }
        }

        var warnings = new List<DefinitionError>();
        foreach (var (name, problems) in baseProblems)
        {
            if (Scope.IsEverything || basesUsed.Contains(name))
            {
                diagnostics.AddRange(problems);
            }
            else
            {
                warnings.AddRange(problems.Sorted());
            }
        }

        foreach (var (name, problems) in pipelineProblems)
        {
            if (Scope.NeedsPipeline(name))
            {
                diagnostics.AddRange(problems);
            }
            else
            {
                warnings.AddRange(problems.Sorted());
            }
        }

        if (diagnostics.Count > 0 || config is null)
        {
            var errors = diagnostics.Sorted();
            logger.LogWarning("Definitions under {Root} have {Count} problems", configFile.Directory, errors.Count);
            throw new DefinitionException(errors);
        }

        if (warnings.Count > 0)
        {
            logger.LogWarning("Definitions under {Root} have {Count} problems in definitions this command does not need", configFile.Directory, warnings.Count);
        }

        logger.LogDebug("Loaded {Bases} base images and {Pipelines} pipelines from {Root}", bases.Count, pipelines.Count, config.RootDirectory);
        return new Workspace(
            config,
            bases.Where(b => b.Value is not null).ToDictionary(b => b.Key, b => b.Value!, StringComparer.Ordinal),
            pipelines)
        {
            Warnings = warnings.OrderBy(w => w.File, StringComparer.Ordinal).ThenBy(w => w.Line).ThenBy(w => w.Column).ToList(),
            UnloadedPipelines = unloaded,
        };
    }

    /// <summary>
    /// One pipeline file with its lock. Its <c>name:</c> must be its file name (pipelines/NAME.yaml): one
    /// name per pipeline everywhere (the CLI argument, the lock, records), and no two files can claim one.
    /// </summary>
    /// <param name="file">The pipeline file; its problems go to its own diagnostics.</param>
    /// <param name="bases">The bases it may use (recording which, when it is needed).</param>
    /// <param name="readLock">False for a pipeline read only for its warnings: a lock file next to it still lets its
    /// packages go without versions, but the lock itself is not parsed (its problems are not reported).</param>
    /// <param name="cancellationToken">Cancels the reading.</param>
    private async Task<PipelineDefinition?> ReadPipelineAsync(SourceFile file, IReadOnlyDictionary<string, BaseImageDefinition?> bases, bool readLock, CancellationToken cancellationToken)
    {
        var root = await file.LoadAsync(cancellationToken).ConfigureAwait(false);
        if (root is null)
        {
            return null;
        }

        var lockPath = PipelineDefinition.LockPathFor(file.FullPath);
        var hasLock = File.Exists(lockPath);
        PipelineLock? pipelineLock = null;
        if (hasLock && readLock)
        {
            var lockFile = SourceFile.For(lockPath, file.Diagnostics);
            var lockRoot = await lockFile.LoadAsync(cancellationToken).ConfigureAwait(false);
            pipelineLock = lockRoot is null ? null : LockFileReader.Read(lockFile, lockRoot);
        }

        var pipeline = PipelineReader.Read(file, root, bases, out var name, hasLock || AllowUnpinnedWithoutLock, pipelineLock);
        if (name is { } n && n.Value != file.BaseName && n.Value.Length <= DefinitionLimits.MaxNameChars && DefinitionRules.Name().IsMatch(n.Value))
        {
            file.Error(n.Node, $"pipeline name '{n.Value}' differs from its file name '{Path.GetFileName(file.FullPath)}'; a pipeline is named by its file",
                $"rename the file to {n.Value}.yaml (and its lock to {n.Value}.lock.yaml), or write 'name: {file.BaseName}'");
            return null;
        }

        return pipeline;
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

/// <summary>
/// The bases, recording every name looked up: the bases a needed pipeline uses are needed too. Pipelines are read in
/// parallel, so the record is taken under a lock.
/// </summary>
internal sealed class RecordingLookup(IReadOnlyDictionary<string, BaseImageDefinition?> inner, ISet<string> used) : IReadOnlyDictionary<string, BaseImageDefinition?>
{
    public BaseImageDefinition? this[string key] => Record(key, inner[key]);

    public IEnumerable<string> Keys => inner.Keys;

    public IEnumerable<BaseImageDefinition?> Values => inner.Values;

    public int Count => inner.Count;

    public bool ContainsKey(string key) => Record(key, inner.ContainsKey(key));

    public bool TryGetValue(string key, out BaseImageDefinition? value) => Record(key, inner.TryGetValue(key, out value));

    public IEnumerator<KeyValuePair<string, BaseImageDefinition?>> GetEnumerator() => inner.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    private T Record<T>(string key, T result)
    {
        lock (used)
        {
            used.Add(key);
        }

        return result;
    }
}
