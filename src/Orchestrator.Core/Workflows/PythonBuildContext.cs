using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// The Python half of a pipeline's build: a first stage (<c>wheels</c>) on the build base by digest that
/// installs the pinned build packages (python3, pip, setuptools, wheel, compilers), builds the requirements'
/// wheels in pip's hash-checking mode and the project's own wheel, hashes every wheel it built and installs
/// exactly those with <c>pip install --no-index --require-hashes --target</c>; the runtime stage then copies
/// only the installed tree (<see cref="PythonSpec.SitePackages"/>). No compiler, pip, wheel or cache reaches
/// the runtime image.
/// </summary>
/// <remarks>
/// The context carries the inputs under <c>python/</c>: <c>requirements.txt</c> (the parsed requirements, includes
/// flattened, one <see cref="PythonRequirement.ToRequirementLine"/> each), <c>project/…</c> and <c>wheelhouse/…</c>
/// (every file of those folders, sorted, without build outputs).
/// </remarks>
public static class PythonBuildContext
{
    /// <summary>The name of the build stage in the generated Dockerfile.</summary>
    public const string StageName = "wheels";

    /// <summary>
    /// <c>SOURCE_DATE_EPOCH</c> in the build stage (2000-01-01, as <see cref="BuildContext.FixedTimestamp"/>): wheel
    /// builds and byte-compiled files then carry no build time.
    /// </summary>
    public const long SourceDateEpoch = 946684800;

    private const string ContextFolder = "python";

    /// <summary>The context folder of a Python index pipeline's distributions, from the package cache.</summary>
    public const string IndexWheelsFolder = "python/index-wheels";

    // Build outputs in a project folder: they are made again in the build stage and must not leak a developer's.
    private static readonly string[] SkippedFolders = ["build", "dist", "__pycache__", ".git", ".venv", ".tox", ".eggs"];

    /// <summary>
    /// The build stage's instructions, ending with the installed tree at <see cref="PythonSpec.SitePackages"/>.
    /// </summary>
    /// <param name="python">The pipeline's python block.</param>
    /// <param name="buildBase">The build base, by digest.</param>
    /// <param name="sourceDateEpoch">The lock's source date for the apt step, or null without a lock.</param>
    /// <param name="lockedBuildPackages">The lock's build closure, installed from the context's <c>debs/build/</c> with no
    /// network (<see cref="BuildContext.DebInstall"/>); null for the mirror (<c>apt-get update</c>, a lock's throwaway build).</param>
    /// <exception cref="ArgumentException"><paramref name="buildBase"/> has no digest.</exception>
    public static string CreateBuildStage(PythonSpec python, ImageReference buildBase, long? sourceDateEpoch = null, IReadOnlyList<Locks.LockedPackage>? lockedBuildPackages = null)
    {
        ArgumentNullException.ThrowIfNull(python);
        if (buildBase.Digest is null)
        {
            throw new ArgumentException("the build base must be referenced by digest", nameof(buildBase));
        }

        // package cache: a build has no network, so an index's distributions come in the context (python/index-wheels/).
        var sources = python.Index is null ? PipSources(python) : " --no-index --find-links /build/src/index-wheels" + (python.FindLinks is null ? string.Empty : " --find-links /build/src/wheelhouse");
        var stage = new StringBuilder();
        stage.Append("FROM ").Append(buildBase.Name).Append('@').Append(buildBase.Digest).Append(" AS ").Append(StageName).Append('\n');
        stage.Append(lockedBuildPackages is null
            ? BuildContext.AptInstallRun(python.BuildPackages, sourceDateEpoch)
            : BuildContext.DebInstall(BuildContext.BuildDebsFolder, lockedBuildPackages, sourceDateEpoch));
        stage.Append("COPY ").Append(ContextFolder).Append(" /build/src\n");
        stage.Append("RUN set -eux; export SOURCE_DATE_EPOCH=").Append(SourceDateEpoch)
            .Append(" PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore; mkdir -p /build/wheels; ");
        if (python.Requirements.Count > 0)
        {
            // Hash-checking mode: every requirement (and every dependency pip finds) must be pinned and its
            // downloaded file must match a listed hash, or the build stops here.
            stage.Append("python3 -m pip wheel --require-hashes --no-build-isolation").Append(sources)
                .Append(" --wheel-dir /build/wheels -r /build/src/requirements.txt; ");
        }

        if (python.Project is not null)
        {
            stage.Append("python3 -m pip wheel --no-deps --no-build-isolation --no-index --wheel-dir /build/wheels /build/src/project; ");
        }

        // Every wheel, hashed now (the project's own wheel has no hash anyone could have written down before),
        // then exactly those installed: pip checks each file against its hash and that every dependency is among them.
        stage.Append("cd /build/wheels; for w in *.whl; do printf '%s --hash=sha256:%s\\n' \"/build/wheels/$w\" \"$(sha256sum \"$w\" | cut -d' ' -f1)\"; done > /build/install.txt; cat /build/install.txt; ")
            // --no-compile: marshal's output can vary between runs (reference-count flags), so byte-compiled files would
            // make every build's layer differ; the runtime image is read-only in validation and needs none.
            .Append("python3 -m pip install --no-index --require-hashes --no-compile --no-warn-script-location --target ").Append(PythonSpec.SitePackages)
            .Append(" -r /build/install.txt; ")
            // COPY --from keeps modification times: pinned to the source date, the copied tree does not carry the build's clock.
            .Append("find ").Append(PythonSpec.SitePackages).Append(" -exec touch -h -d @").Append(SourceDateEpoch).Append(" {} +\n");
        return stage.ToString();
    }

    /// <summary>
    /// The Dockerfile <c>orchestrator lock</c> builds (and throws away) to resolve loose requirements: the build base
    /// with the build packages (the same layer as a real build, so the engine reuses it), then
    /// <c>pip download</c> (pip's resolver, dependencies included) from the index or wheelhouse, printing
    /// <c>@@python-lock SHA256 FILE</c> per file fetched. <c>ARG LOCK_RUN</c> makes every lock run pip again.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="buildBase"/> has no digest.</exception>
    public static string CreateLockDockerfile(PythonSpec python, ImageReference buildBase)
    {
        ArgumentNullException.ThrowIfNull(python);
        if (buildBase.Digest is null)
        {
            throw new ArgumentException("the build base must be referenced by digest", nameof(buildBase));
        }

        return new StringBuilder("# generated by orchestrator lock\n")
            .Append("FROM ").Append(buildBase.Name).Append('@').Append(buildBase.Digest).Append('\n')
            .Append(BuildContext.AptInstallRun(python.BuildPackages, sourceDateEpoch: null))
            .Append("COPY ").Append(ContextFolder).Append(" /build/src\n")
            .Append("ARG LOCK_RUN\n")
            .Append("RUN set -eu; export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore; mkdir -p /lock; ")
            .Append("python3 -m pip download --no-build-isolation").Append(PipSources(python)).Append(" --dest /lock -r /build/src/requirements.in >&2; ")
            .Append("cd /lock; for f in *; do echo \"").Append(LockMarker).Append(" $(sha256sum \"$f\")\"; done\n")
            .ToString();
    }

    /// <summary>The prefix of each line the lock build prints per fetched file: <c>@@python-lock SHA256  FILE</c>.</summary>
    public const string LockMarker = "@@python-lock";

    /// <summary>Writes the lock build's context: its Dockerfile, <c>python/requirements.in</c> and the wheelhouse.</summary>
    internal static async Task WriteLockContextAsync(Stream output, PythonSpec python, string dockerfile, CancellationToken cancellationToken)
    {
        await using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        await BuildContext.WriteEntryAsync(writer, "Dockerfile", Encoding.UTF8.GetBytes(dockerfile), 0b110_100_100, cancellationToken).ConfigureAwait(false);
        await BuildContext.WriteEntryAsync(writer, $"{ContextFolder}/requirements.in", Encoding.UTF8.GetBytes(string.Concat(python.RequirementsIn.Select(r => r + "\n"))), 0b110_100_100, cancellationToken).ConfigureAwait(false);
        foreach (var (name, path) in ContextFiles(python, includeProject: false))
        {
            var content = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            await BuildContext.WriteEntryAsync(writer, name, content, ModeOf(path), cancellationToken).ConfigureAwait(false);
        }
    }

    // Where pip looks: the index (else no index at all) plus the wheelhouse copied into the context.
    private static string PipSources(PythonSpec python) =>
        (python.Index is { } index ? " --index-url " + BuildContext.ShellQuote(index) : " --no-index")
        + (python.FindLinks is null ? string.Empty : " --find-links /build/src/wheelhouse");

    /// <summary>The runtime stage's instructions that bring the installed tree in and put it on Python's path.</summary>
    public static string CreateRuntimeInstructions() =>
        $"COPY --from={StageName} {PythonSpec.SitePackages} {PythonSpec.SitePackages}\nENV PYTHONPATH={PythonSpec.SitePackages}\n";

    /// <summary>The requirements file the build stage reads: the parsed runtime requirements, one line each.</summary>
    public static string RequirementsText(PythonSpec python) =>
        string.Concat(python.Requirements.Select(r => r.ToRequirementLine() + "\n"));

    /// <summary>Writes the <c>python/</c> entries of the context: requirements, project and wheelhouse files.</summary>
    internal static async Task WriteEntriesAsync(TarWriter writer, PythonSpec python, CancellationToken cancellationToken)
    {
        await BuildContext.WriteEntryAsync(writer, $"{ContextFolder}/requirements.txt", Encoding.UTF8.GetBytes(RequirementsText(python)), 0b110_100_100, cancellationToken).ConfigureAwait(false);
        foreach (var (name, path) in ContextFiles(python))
        {
            var content = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            await BuildContext.WriteEntryAsync(writer, name, content, ModeOf(path), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The canonical bytes of <c>{"python": …}</c> as <see cref="WriteInputs"/> writes it, for fingerprints.</summary>
    /// <exception cref="IOException">A project or wheelhouse file cannot be read.</exception>
    public static byte[] CanonicalInputs(PythonSpec python)
    {
        using var document = new CanonicalDocument();
        WriteInputs(document, python);
        return document.ToArray();
    }

    /// <summary>
    /// Writes every input of the Python build that can change the image into <paramref name="document"/> as one
    /// <c>python</c> object: build base, build packages, requirements (runtime and dev), index, and each project and
    /// wheelhouse file's context name, mode and SHA-256. Used by the build cache key and the lock's inputs checksum.
    /// </summary>
    /// <exception cref="IOException">A project or wheelhouse file cannot be read.</exception>
    internal static void WriteInputs(CanonicalDocument document, PythonSpec python)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(python);
        document.StartObject("python");
        document.String("buildBase", python.BuildBase.ToString());
        document.List("buildPackages", [.. python.BuildPackages.Select(p => p.ToString())]);

        // Loose requirements are the input; their pins come from the lock, which the cache key covers by itself and
        // the lock's own checksum must not (it is computed before the pins exist).
        if (python.RequirementsIn.Count > 0)
        {
            document.List("requirementsIn", python.RequirementsIn);
        }
        else
        {
            document.List("requirements", [.. python.Requirements.Select(r => r.ToRequirementLine())]);
        }

        document.List("devRequirements", [.. python.DevRequirements.Select(r => r.ToRequirementLine())]);
        document.Nullable("index", python.Index);
        document.Files("files", "name", ContextFiles(python).Select(f => (f.Name, (int?)ModeOf(f.Path), f.Path)));
        document.EndObject();
    }

    /// <summary>Every project and wheelhouse file as (context entry name, absolute path), sorted by name.</summary>
    internal static List<(string Name, string Path)> ContextFiles(PythonSpec python, bool includeProject = true)
    {
        var files = new List<(string, string)>();
        if (includeProject && python.Project is { } project)
        {
            files.AddRange(FilesUnder(project, $"{ContextFolder}/project"));
        }

        if (python.FindLinks is { } wheelhouse)
        {
            files.AddRange(FilesUnder(wheelhouse, $"{ContextFolder}/wheelhouse"));
        }

        return files;
    }

    private static IEnumerable<(string Name, string Path)> FilesUnder(string folder, string prefix) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(path => (Relative: Path.GetRelativePath(folder, path).Replace('\\', '/'), Path: path))
            .Where(f => !f.Relative.Split('/').SkipLast(1).Any(d => SkippedFolders.Contains(d, StringComparer.Ordinal) || d.EndsWith(".egg-info", StringComparison.Ordinal)))
            .Where(f => !f.Relative.EndsWith(".pyc", StringComparison.Ordinal))
            .OrderBy(f => f.Relative, StringComparer.Ordinal)
            .Select(f => ($"{prefix}/{f.Relative}", f.Path));

    // Only whether a file is executable counts: umask and checkout differences in group/other bits must not change the key.
    private static int ModeOf(string path) =>
        OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) == 0 ? 0b110_100_100 : 0b111_101_101;
}
