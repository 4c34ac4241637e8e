using Orchestrator.Core.Definitions;
using Orchestrator.Definitions.Yaml;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Definitions;

/// <summary>
/// Reads a pipeline's <c>python:</c> block into a <see cref="PythonSpec"/>: paths inside the pipeline's folder,
/// requirements files read strictly (<see cref="RequirementsReader"/>), the build base resolved like <c>base:</c>.
/// </summary>
internal static class PythonReader
{
    private static readonly string[] Keys = ["project", "requirements", "dev-requirements", "index", "find-links", "build-base", "build-packages"];

    private const string BuildPackagesExample =
        "{ python3: \"3.11.2-1+b1\", python3-pip: \"23.0.1+dfsg-1\", python3-setuptools: \"66.1.1-1+deb12u2\", python3-wheel: \"0.38.4-2\", python3-dev: \"3.11.2-1+b1\", gcc: \"4:12.2.0-3\" }";

    /// <summary>The block, or null when the pipeline has none or it has errors (reported to <paramref name="file"/>).</summary>
    /// <param name="file">The pipeline definition.</param>
    /// <param name="pipeline">The pipeline's top-level mapping.</param>
    /// <param name="runtimeBase">The pipeline's <c>base:</c>, or null when it could not be read.</param>
    /// <param name="bases">Every base file's definition (null for a broken one).</param>
    /// <param name="readApt">Reads a mapping of apt packages to exact versions, as <c>packages.apt</c> is read.</param>
    /// <param name="pipelineLock">The pipeline's lock, whose Python packages pin loose requirements, or null.</param>
    public static PythonSpec? Read(
        SourceFile file, MappingReader pipeline, BaseVariantRef? runtimeBase, IReadOnlyDictionary<string, BaseImageDefinition?> bases,
        Func<IReadOnlyList<(YamlScalarNode Key, Located<string>? Value)>?, List<AptPackage>> readApt, Core.Locks.PipelineLock? pipelineLock)
    {
        var before = file.Diagnostics.Count;
        var python = pipeline.Mapping("python", Keys, what: "'python'");
        if (python is null)
        {
            return null;
        }

        var project = PathInside(file, python.String("project", example: "app/"), "project", folder: true);
        if (project is not null && !File.Exists(Path.Combine(project, "pyproject.toml")))
        {
            file.Error(python.Raw("project")!, $"project folder '{python.String("project")!.Value.Value}' has no pyproject.toml",
                "add a pyproject.toml with a [build-system] (setuptools) and a [project] table, or point 'project' at the folder that has one");
        }

        var requirementsFile = PathInside(file, python.String("requirements", example: "requirements.txt"), "requirements", folder: false);
        // requirements.in: loose, resolved by 'orchestrator lock' into the lock, whose pins (with hashes) are then the requirements.
        var loose = requirementsFile?.EndsWith(".in", StringComparison.Ordinal) == true;
        var requirementsIn = requirementsFile is not null && loose ? RequirementsReader.ReadLoose(requirementsFile, file.Directory, file.Diagnostics) : [];
        var requirements = requirementsFile is null ? []
            : loose ? Locked(pipelineLock, requirementsFile)
            : RequirementsReader.Read(requirementsFile, file.Directory, file.Diagnostics);
        var devFile = PathInside(file, python.String("dev-requirements", example: "requirements-dev.txt"), "dev-requirements", folder: false);
        var dev = devFile is null ? [] : RequirementsReader.Read(devFile, file.Directory, file.Diagnostics);
        // A dev file usually includes the runtime one ('-r requirements.txt'): the same pin twice is the runtime's, a
        // different pin of a runtime package would leave validation tools and the image disagreeing.
        foreach (var both in dev.Where(d => requirements.Any(r => r.NormalizedName == d.NormalizedName && r.ToRequirementLine() != d.ToRequirementLine())))
        {
            file.Error(python.Raw("dev-requirements")!, $"'{both.Name}' ({both.Location}) is pinned differently as a dev requirement than as a runtime requirement",
                "pin it once, in the runtime requirements, and include them in the dev file with '-r requirements.txt'");
        }

        dev = [.. dev.Where(d => requirements.All(r => r.NormalizedName != d.NormalizedName))];

        var index = python.String("index", example: "https://pypi.example/simple");
        if (index is { } i && !(Uri.TryCreate(i.Value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            file.Error(i.Node, $"index '{i.Value}' is not an http(s) URL", "write the simple index's URL, e.g. 'index: http://127.0.0.1:8080/simple'");
        }

        var findLinks = PathInside(file, python.String("find-links", example: "wheels/"), "find-links", folder: true);
        if ((requirements.Count > 0 || requirementsIn.Count > 0) && index is null && python.Raw("find-links") is null)
        {
            file.Error(python.Raw("requirements")!, "the runtime requirements have nowhere to come from: neither 'index' nor 'find-links' is set",
                "add 'find-links: wheels/' (a wheelhouse folder next to the pipeline) or 'index: URL' (a simple index) under 'python'");
        }

        if (project is null && requirements.Count == 0 && requirementsIn.Count == 0 && python.Raw("project") is null && python.Raw("requirements") is null)
        {
            file.Error(pipeline.Raw("python")!, "'python' names neither a project nor requirements, so there is nothing to build",
                "add 'project: app/' (a folder with pyproject.toml) and/or 'requirements: requirements.txt'");
        }

        var buildBaseText = python.String("build-base", example: "debian-bookworm/full");
        var buildBase = buildBaseText is null ? DefaultBuildBase(runtimeBase, bases) : PipelineReader.ResolveBase(file, buildBaseText, bases);
        if (python.Raw("build-packages") is null)
        {
            file.Error(pipeline.Raw("python")!, "'python' has no 'build-packages': the wheels are built with python3, pip, setuptools, wheel and a compiler installed at exact versions",
                $"add 'build-packages: {BuildPackagesExample}' under 'python' (versions from 'apt-cache policy NAME' on the build base)");
        }

        var buildPackages = readApt(python.StringMap("build-packages", example: BuildPackagesExample));
        foreach (var needed in new[] { "python3-pip", "python3-setuptools", "python3-wheel" }.Where(n => python.Raw("build-packages") is not null && buildPackages.All(p => p.Name != n)))
        {
            file.Error(python.Raw("build-packages")!, $"'build-packages' lacks {needed}, which building wheels without network access (--no-build-isolation) needs",
                $"add '{needed}: \"VERSION\"' ('apt-cache policy {needed}' on the build base)");
        }

        if (file.Diagnostics.Count != before || buildBase is null)
        {
            return null;
        }

        return new PythonSpec(project, requirementsFile, requirements, devFile, dev, index?.Value, findLinks, buildBase, buildPackages)
        {
            RequirementsIn = requirementsIn,
        };
    }

    /// <summary>The lock's Python packages as pinned, hashed requirements (none without a lock).</summary>
    private static List<PythonRequirement> Locked(Core.Locks.PipelineLock? pipelineLock, string requirementsFile) =>
        [.. (pipelineLock?.PythonPackages ?? []).Select(p => new PythonRequirement(
            p.Name, p.Version, [p.Sha256], null, $"the lock (resolved from {Path.GetFileName(requirementsFile)})"))];

    /// <summary>The runtime base's <c>full</c> variant when it has one, else the runtime base itself.</summary>
    private static BaseVariantRef? DefaultBuildBase(BaseVariantRef? runtimeBase, IReadOnlyDictionary<string, BaseImageDefinition?> bases) =>
        runtimeBase is null
            ? null
            : bases.GetValueOrDefault(runtimeBase.BaseName)?.Variants.ContainsKey("full") == true ? runtimeBase with { Variant = "full" } : runtimeBase;

    /// <summary>
    /// The absolute path of a file or folder named relative to the pipeline's folder, when it exists there and
    /// does not leave it (also through symlinks): a definition must not reach files elsewhere on the build machine.
    /// </summary>
    private static string? PathInside(SourceFile file, Located<string>? text, string key, bool folder)
    {
        if (text is not { } given)
        {
            return null;
        }

        var root = file.Directory;
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(given.Value, root));
        var kind = folder ? "folder" : "file";
        if (Path.IsPathRooted(given.Value) || !PipelineFiles.IsInside(full, root))
        {
            file.Error(given.Node, $"{key} '{given.Value}' is not inside the pipeline's folder ({root})",
                $"put the {kind} next to the pipeline definition and name it relative to it, without '..'");
            return null;
        }

        if (folder ? !Directory.Exists(full) : !File.Exists(full))
        {
            file.Error(given.Node, $"{key} '{given.Value}' is not an existing {kind} (looked for {full})", $"create the {kind}, or fix the path (it is relative to the pipeline's folder)");
            return null;
        }

        if (!PipelineFiles.IsInside(RealPath.Resolve(full), RealPath.Resolve(root)))
        {
            file.Error(given.Node, $"{key} '{given.Value}' resolves to {RealPath.Resolve(full)}, outside the pipeline's folder",
                $"copy the {kind} itself into the pipeline's folder instead of linking to it");
            return null;
        }

        return full;
    }
}
