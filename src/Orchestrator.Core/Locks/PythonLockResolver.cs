using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Locks;

/// <summary>
/// Resolves a pipeline's loose Python requirements (<c>requirements.in</c>) with pip's own resolver on the build base
/// (by digest, with the pinned build packages): a throwaway engine build runs <c>pip download</c> against the
/// pipeline's index or wheelhouse on the host network and prints the SHA-256 of every file pip fetched
/// (<see cref="PythonBuildContext.CreateLockDockerfile"/>). The image is removed afterwards.
/// </summary>
public sealed class PythonLockResolver(IWorkspaceAccessor workspace, IDockerEngine engine, IEngineCredentialSource engineCredentials, IJobReporter reporter)
{
    private OrchestratorConfig Config => workspace.Current.Config;

    /// <summary>The packages pip resolved on <paramref name="buildBase"/> (by digest), sorted by normalized name, each with its file's SHA-256.</summary>
    /// <exception cref="JobFailedException">Pip could not resolve (the engine's message says why), or printed nothing.</exception>
    public async Task<IReadOnlyList<LockedPythonPackage>> ResolveAsync(PipelineDefinition pipeline, ImageReference buildBase, CancellationToken cancellationToken = default)
    {
        var python = pipeline.Python!;
        reporter.Step($"resolving {python.RequirementsIn.Count} Python requirement(s) of {pipeline.Name} with pip on {buildBase.Digest!.ToShortString()}");
        var pullCredentials = await engineCredentials.GetAsync(Config.FirstStage.Registry, cancellationToken).ConfigureAwait(false);
        await engine.PullImageAsync(buildBase, pullCredentials, new ReporterProgress(reporter), cancellationToken).ConfigureAwait(false);

        var dockerfile = PythonBuildContext.CreateLockDockerfile(python, buildBase);
        var tag = $"orchestrator-python-lock:{pipeline.Name}-{Guid.NewGuid():N}";
        var output = new CapturedBuildOutput(new ReporterProgress(reporter));
        using (var context = new MemoryStream())
        {
            await PythonBuildContext.WriteLockContextAsync(context, python, dockerfile, cancellationToken).ConfigureAwait(false);
            context.Position = 0;
            try
            {
                await engine.BuildImageAsync(context, new ImageBuildRequest([tag], BuildArgs: new Dictionary<string, string> { ["LOCK_RUN"] = Guid.NewGuid().ToString("N") }), output, cancellationToken).ConfigureAwait(false);
            }
            catch (OrchestratorException e)
            {
                throw new JobFailedException(
                    $"pip could not resolve {Path.GetFileName(python.RequirementsFile)} of {pipeline.Name} on {python.BuildBase}: {e.Message}. " +
                    "Check that every requirement exists in the index or wheelhouse ('python.index' / 'python.find-links'), then lock again", e);
            }
            finally
            {
                await RemoveQuietlyAsync(tag).ConfigureAwait(false);
            }
        }

        var packages = Parse(output.Text);
        if (packages.Count == 0)
        {
            throw new JobFailedException($"pip resolved no files for {pipeline.Name}'s {Path.GetFileName(python.RequirementsFile)}; check that it names at least one requirement and lock again");
        }

        return packages;
    }

    /// <summary>
    /// The packages in the lock build's output: one <c>@@python-lock SHA256  FILE</c> line per file, FILE a wheel
    /// (<c>NAME-VERSION-…whl</c>) or an sdist (<c>NAME-VERSION.tar.gz</c> or <c>.zip</c>).
    /// </summary>
    internal static List<LockedPythonPackage> Parse(string output)
    {
        var result = new Dictionary<string, LockedPythonPackage>(StringComparer.Ordinal);
        foreach (var raw in output.ReplaceLineEndings("\n").Split('\n'))
        {
            // Anywhere in the line: the engine's stream may glue a terminal escape from pip's stderr in front of it.
            var at = raw.IndexOf(PythonBuildContext.LockMarker + " ", StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }

            var parts = raw[(at + PythonBuildContext.LockMarker.Length + 1)..].Split(' ', 2, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2 || parts[0].Length != 64 || NameAndVersion(parts[1]) is not { } file)
            {
                continue;
            }

            var name = PythonRequirement.Normalize(file.Name);
            result[name] = new LockedPythonPackage(name, file.Version, parts[0].ToLowerInvariant());
        }

        return [.. result.Values.OrderBy(p => p.Name, StringComparer.Ordinal)];
    }

    private static (string Name, string Version)? NameAndVersion(string fileName)
    {
        if (fileName.EndsWith(".whl", StringComparison.Ordinal))
        {
            var parts = fileName[..^4].Split('-');
            return parts.Length >= 5 ? (parts[0], parts[1]) : null;
        }

        var stem = fileName.EndsWith(".tar.gz", StringComparison.Ordinal) ? fileName[..^7]
            : fileName.EndsWith(".zip", StringComparison.Ordinal) ? fileName[..^4]
            : null;
        var dash = stem?.LastIndexOf('-') ?? -1;
        return stem is null || dash <= 0 ? null : (stem[..dash], stem[(dash + 1)..]);
    }

    private async Task RemoveQuietlyAsync(string tag)
    {
        try
        {
            await engine.RemoveImageAsync(tag, force: true, CancellationToken.None).ConfigureAwait(false);
        }
        catch (OrchestratorException)
        {
            // The build failed before tagging; nothing to remove.
        }
    }
}
