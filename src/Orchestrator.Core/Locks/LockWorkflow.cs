using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Locks;

/// <summary>
/// Resolves a pipeline's full apt closure on its base's current digest (in a throwaway container on
/// the host network, since the engine has no bridge), checks locks for drift, and lists what is outdated.
/// The lock's source date is the newest <c>Date:</c> of the Release files apt used: it is what the
/// mirror looked like when the closure was resolved, and it is stable for as long as the mirror is.
/// </summary>
/// <remarks>Over 400 lines because resolution is one transaction of steps that share the pipeline and base: apt on the
/// base (or a distroless base's slim sibling), the Python build closure, and filling the package cache; the apt scripts
/// and the outdated report live here beside it. Splitting the distroless resolution out is the next cut.</remarks>
public sealed partial class LockWorkflow(
    IWorkspaceAccessor workspace,
    IDockerEngine engine,
    IEngineCredentialSource engineCredentials,
    IJobReporter reporter,
    TimeProvider time,
    BaseImageWorkflow bases,
    PythonLockResolver pythonResolver,
    ILogger<LockWorkflow> logger,
    IPackageCache? packageCache = null)
{
    /// <summary>Labels every container this workflow creates, so leftovers can be found and removed.</summary>
    public const string ContainerLabel = "io.orchestrator.lock";

    /// <summary>How long one apt run (update plus resolution) may take before it is killed.</summary>
    public static readonly TimeSpan AptTimeout = TimeSpan.FromMinutes(10);

    // apt drops to the _apt user for downloads; with every capability dropped it cannot, so it stays
    // root (it only reads index files from the mirror here). Sections are split on '@@ ' marker lines.
    internal const string ResolveScript = """
        set -e
        export DEBIAN_FRONTEND=noninteractive
        o='-o APT::Sandbox::User=root'
        apt-get $o update -qq >&2
        echo '@@ release-dates'
        cat /var/lib/apt/lists/*Release 2>/dev/null | grep '^Date:' || true
        echo '@@ base-packages'
        dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n'
        echo '@@ simulate'
        [ $# -eq 0 ] && exit 0
        apt-get $o install -s --no-install-recommends "$@"
        echo '@@ show'
        apt-cache show --no-all-versions $(apt-get $o install -s --no-install-recommends "$@" | awk '/^Inst /{v=$3; if (v ~ /^\[/) v=$4; sub(/^\(/, "", v); print $2 "=" v}') "$@"
        """;

    /// <summary>
    /// <see cref="ResolveScript"/> for a distroless base, run on its slim sibling: <c>$1</c> is the distroless base's
    /// records (<see cref="DpkgStatusDirectory.ResolutionStatus"/>), to which the sibling's records of
    /// <see cref="DistrolessBase.NeverShipped"/> are added without their relationships and at version <c>999:0</c> (so no
    /// <c>Breaks</c> or versioned dependency ever makes apt upgrade one, which would pull util-linux and systemd's libraries
    /// into the closure); apt resolves against that status
    /// (<c>Dir::State::status</c>), so the closure is what the distroless base lacks.
    /// </summary>
    internal static readonly string DistrolessResolveScript = $$"""
        set -e
        export DEBIAN_FRONTEND=noninteractive
        printf '%s\n' "$1" > /tmp/distroless-status; shift
        for p in {{string.Join(' ', DistrolessBase.NeverShipped)}}; do
            dpkg-query -s "$p" 2>/dev/null | grep -v -E '^(Depends|Pre-Depends|Recommends|Suggests|Breaks|Conflicts|Enhances):' | sed 's/^Version: .*/Version: 999:0/' && echo || true
        done >> /tmp/distroless-status
        o='-o APT::Sandbox::User=root -o Dir::State::status=/tmp/distroless-status'
        apt-get $o update -qq >&2
        echo '@@ release-dates'
        cat /var/lib/apt/lists/*Release 2>/dev/null | grep '^Date:' || true
        echo '@@ simulate'
        [ $# -eq 0 ] && exit 0
        apt-get $o install -s --no-install-recommends "$@"
        echo '@@ show'
        apt-cache show --no-all-versions $(apt-get $o install -s --no-install-recommends "$@" | awk '/^Inst /{v=$3; if (v ~ /^\[/) v=$4; sub(/^\(/, "", v); print $2 "=" v}') "$@"
        """;

    internal const string PolicyScript = """
        set -e
        apt-get -o APT::Sandbox::User=root update -qq >&2
        apt-cache policy "$@"
        """;

    private readonly ILogger<LockWorkflow> _logger = logger;

    private OrchestratorConfig Config => workspace.Current.Config;

    /// <summary>The digest-pinned reference the pipeline's base variant has in the first stage now.</summary>
    /// <exception cref="JobFailedException">The base was never built.</exception>
    public Task<ImageReference> CurrentBaseAsync(PipelineDefinition pipeline, CancellationToken cancellationToken = default) =>
        CurrentBaseAsync(pipeline, pipeline.Base, cancellationToken);

    /// <summary>Compares the pipeline's lock with its definition, files and the base's current digest.</summary>
    public async Task<LockStatus> CheckAsync(string pipelineName, CancellationToken cancellationToken = default)
    {
        var pipeline = workspace.Current.GetPipeline(pipelineName);
        var current = await CurrentBaseAsync(pipeline, cancellationToken).ConfigureAwait(false);
        var buildBase = pipeline.Python is { } python ? await CurrentBaseAsync(pipeline, python.BuildBase, cancellationToken).ConfigureAwait(false) : null;
        return LockStatus.Check(pipeline.Lock, pipeline, current.Digest!, buildBase?.Digest);
    }

    /// <summary>
    /// Resolves the full closure that installing the pipeline's apt packages brings on its base's
    /// current digest: <c>apt-get install -s</c> for the closure, <c>apt-cache show</c> for each
    /// <c>.deb</c>'s SHA-256. Writes nothing; the caller writes the returned lock.
    /// </summary>
    /// <exception cref="InputException">No such pipeline.</exception>
    /// <exception cref="JobFailedException">The base is missing, the mirror no longer serves a pinned version, or apt failed.</exception>
    public async Task<PipelineLock> ResolveAsync(string pipelineName, CancellationToken cancellationToken = default)
    {
        var pipeline = workspace.Current.GetPipeline(pipelineName);
        var baseReference = await CurrentBaseAsync(pipeline, cancellationToken).ConfigureAwait(false);
        var (baseImage, baseVariant) = workspace.Current.GetBaseVariant(pipeline.Base.ToString());
        List<LockedPackage> packages;
        IReadOnlyList<InstalledPackage> basePackages;
        long sourceDate;
        var aptReference = baseReference; // where apt runs for this base: itself, or a distroless base's slim sibling
        if (baseVariant.Distroless)
        {
            // distroless: no apt there; resolve on the slim sibling with the distroless base's status.d as what is installed.
            var sibling = DistrolessBase.SlimSiblingOf(baseImage, baseVariant);
            var siblingReference = await CurrentBaseAsync(pipeline, sibling, cancellationToken).ConfigureAwait(false);
            aptReference = siblingReference;
            var records = await bases.ReadStatusRecordsAsync(baseReference, cancellationToken).ConfigureAwait(false);
            if (records.Count == 0)
            {
                throw new JobFailedException($"{baseReference} has no {DistrolessBase.StatusDirectory} records; rebuild it with 'orchestrator base build {pipeline.Base}', then lock again");
            }

            basePackages = DpkgStatusDirectory.ParseInstalled(records.Values);
            (packages, _, sourceDate) = await ResolveAptAsync(
                pipeline, sibling, siblingReference, pipeline.AptPackages, pipeline.UnpinnedPackages, cancellationToken, DpkgStatusDirectory.ResolutionStatus(records.Values), basePackages).ConfigureAwait(false);
        }
        else
        {
            (packages, basePackages, sourceDate) = await ResolveAptAsync(pipeline, pipeline.Base, baseReference, pipeline.AptPackages, pipeline.UnpinnedPackages, cancellationToken).ConfigureAwait(false);
        }

        var result = new PipelineLock(
            PipelineLock.CurrentVersion,
            pipeline.Name,
            InputsChecksum.Compute(pipeline),
            LockedBaseOf(pipeline.Base, baseReference.Digest!) with { Packages = basePackages },
            sourceDate,
            packages);

        if (pipeline.Python is { } python)
        {
            // python: the build stage's closure (interpreter, pip, compilers) on the build base, so a rebuild
            // compiles with the same bytes; then loose requirements.in, resolved by pip there.
            var buildBase = await CurrentBaseAsync(pipeline, python.BuildBase, cancellationToken).ConfigureAwait(false);
            var (buildPackages, _, _) = await ResolveAptAsync(pipeline, python.BuildBase, buildBase, python.BuildPackages, [], cancellationToken).ConfigureAwait(false);
            result = result with { BuildBase = LockedBaseOf(python.BuildBase, buildBase.Digest!), BuildPackages = buildPackages };
            if (python.RequirementsIn.Count > 0)
            {
                result = result with { PythonPackages = await pythonResolver.ResolveAsync(pipeline, buildBase, cancellationToken).ConfigureAwait(false) };
            }
        }

        // package cache: every locked .deb fetched once now and verified against the hash just locked, so the build
        // that follows (on any pipeline sharing them) needs no mirror.
        if (packageCache is not null)
        {
            await packageCache.GetDebsAsync(result.Packages, aptReference, reporter, cancellationToken).ConfigureAwait(false);
            if (result.BuildBase is { } lockedBuildBase && result.BuildPackages.Count > 0)
            {
                await packageCache.GetDebsAsync(result.BuildPackages, lockedBuildBase.Reference.WithDigest(lockedBuildBase.Digest), reporter, cancellationToken).ConfigureAwait(false);
            }
        }

        LogResolved(pipeline.Name, packages.Count, baseReference.Digest!);
        return result;
    }

    /// <summary>The digest-pinned reference <paramref name="baseVariant"/> (a pipeline's base or build base) has in the first stage now.</summary>
    /// <exception cref="JobFailedException">The base was never built.</exception>
    public async Task<ImageReference> CurrentBaseAsync(PipelineDefinition pipeline, BaseVariantRef baseVariant, CancellationToken cancellationToken = default)
    {
        var (image, variant) = workspace.Current.GetBaseVariant(baseVariant.ToString());
        return await bases.ResolveAsync(image, variant, cancellationToken).ConfigureAwait(false)
            ?? throw new JobFailedException(
                $"base {baseVariant} of {pipeline.Name} is not in {Config.FirstStage.Name} ({bases.TagReference(image, variant)}): " +
                $"build it with 'orchestrator base build {baseVariant}', then lock again");
    }

    private LockedBase LockedBaseOf(BaseVariantRef baseVariant, Digest digest)
    {
        var (image, variant) = workspace.Current.GetBaseVariant(baseVariant.ToString());
        return new LockedBase(baseVariant.ToString(), bases.TagReference(image, variant), digest);
    }

    /// <summary>
    /// The full closure that installing <paramref name="wanted"/> brings on <paramref name="image"/>:
    /// <c>apt-get install -s</c> for the closure, <c>apt-cache show</c> for each <c>.deb</c>'s SHA-256; with the
    /// base's installed set and the mirror's source date.
    /// </summary>
    private async Task<(List<LockedPackage> Packages, IReadOnlyList<InstalledPackage> BasePackages, long SourceDate)> ResolveAptAsync(
        PipelineDefinition pipeline, BaseVariantRef baseVariant, ImageReference image, IReadOnlyList<AptPackage> wanted, IReadOnlyList<string> unpinned, CancellationToken cancellationToken,
        string? distrolessStatus = null, IReadOnlyList<InstalledPackage>? distrolessPackages = null)
    {
        var arguments = wanted
            .Select(p => unpinned.Contains(p.Name, StringComparer.Ordinal) || p.Version.Length == 0 ? p.Name : p.ToString())
            .ToList();

        reporter.Step($"resolving {arguments.Count} apt package(s) of {pipeline.Name} on {baseVariant} {image.Digest!.ToShortString()}" + (distrolessStatus is null ? string.Empty : " for its distroless base"));
        var (exitCode, logs) = distrolessStatus is null
            ? await RunAptAsync(image, ResolveScript, arguments, cancellationToken).ConfigureAwait(false)
            : await RunAptAsync(image, DistrolessResolveScript, [distrolessStatus, .. arguments], cancellationToken).ConfigureAwait(false);
        var sections = Sections(logs.Stdout);
        if (exitCode != 0)
        {
            throw Failure(pipeline, image, exitCode, logs);
        }

        var installs = AptOutput.ParseSimulation(sections.GetValueOrDefault("simulate", string.Empty));
        var hashes = AptOutput.ParseShow(sections.GetValueOrDefault("show", string.Empty));
        var basePackages = distrolessPackages ?? AptOutput.ParseDpkgQuery(sections.GetValueOrDefault("base-packages", string.Empty));
        var direct = wanted.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

        var closure = installs.Select(i => (i.Name, i.Version, i.Architecture)).ToList();
        // A named package the base already has at the wanted version gets no Inst line; the lock still pins it.
        foreach (var name in direct.Where(n => closure.All(c => c.Name != n)))
        {
            var installed = basePackages.FirstOrDefault(b => b.Name == name)
                ?? throw new JobFailedException($"apt did not plan to install {name} and the base does not have it; rerun 'orchestrator lock {pipeline.Name}'");
            closure.Add((installed.Name, installed.Version, installed.Architecture));
        }

        var packages = new List<LockedPackage>();
        foreach (var (name, version, architecture) in closure)
        {
            if (!hashes.TryGetValue((name, version, architecture), out var sha256))
            {
                throw new JobFailedException(
                    $"the mirror's index has no SHA256 for {name} {version} {architecture} (apt-cache show printed none); check the base's apt sources, then rerun 'orchestrator lock {pipeline.Name}'");
            }

            packages.Add(new LockedPackage(name, version, architecture, sha256, direct.Contains(name)));
        }

        var sourceDate = AptOutput.ParseNewestReleaseDate(sections.GetValueOrDefault("release-dates", string.Empty))
            ?? throw new JobFailedException("apt's Release files carry no Date: line, so the lock has no source date; check the base's apt sources");
        return ([.. packages.OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Architecture, StringComparer.Ordinal)], basePackages, sourceDate);
    }

    /// <summary>
    /// For every pipeline with a lock: whether its base moved since, and which locked packages have a
    /// newer candidate in the mirror now (security updates first). Pipelines without a lock are skipped.
    /// </summary>
    public async Task<IReadOnlyList<OutdatedReport>> OutdatedAsync(CancellationToken cancellationToken = default)
    {
        var locked = workspace.Current.Pipelines.Values.Where(p => p.Lock is not null).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        var reports = new List<OutdatedReport>();
        // One container per base variant, asking about every package any of its pipelines locks.
        foreach (var group in locked.GroupBy(p => p.Base.ToString()))
        {
            var current = await CurrentBaseAsync(group.First(), cancellationToken).ConfigureAwait(false);
            var names = group.SelectMany(p => p.Lock!.Packages.Select(l => l.Name)).Distinct().Order(StringComparer.Ordinal).ToList();
            var policies = new Dictionary<string, PolicyEntry>(StringComparer.Ordinal);
            if (names.Count > 0)
            {
                reporter.Step($"asking the mirror about {names.Count} package(s) on {group.Key}");
                var (exitCode, logs) = await RunAptAsync(current, PolicyScript, names, cancellationToken).ConfigureAwait(false);
                if (exitCode != 0)
                {
                    throw new JobFailedException($"apt-cache policy failed on {current} (exit {exitCode}): {Tail(logs.Stderr)}; check that the mirror is reachable and retry");
                }

                foreach (var entry in AptOutput.ParsePolicy(logs.Stdout))
                {
                    policies.TryAdd(entry.Name, entry);
                }
            }

            foreach (var pipeline in group)
            {
                var pipelineLock = pipeline.Lock!;
                var updates = pipelineLock.Packages
                    .Select(p => (Package: p, Policy: policies.GetValueOrDefault(p.Name)))
                    .Where(x => x.Policy?.Candidate is { } candidate && DebianVersion.Compare(candidate, x.Package.Version) > 0)
                    .Select(x => new OutdatedPackage(x.Package.Name, x.Package.Version, x.Policy!.Candidate!, x.Policy.CandidateFromSecurity, x.Package.Direct))
                    .OrderByDescending(u => u.Security)
                    .ThenBy(u => u.Name, StringComparer.Ordinal)
                    .ToList();
                reports.Add(new OutdatedReport(pipeline.Name, pipeline.Base.ToString(), pipelineLock.Base.Digest, current.Digest!, updates));
            }
        }

        return reports;
    }

    private async Task<(long ExitCode, ContainerLogs Logs)> RunAptAsync(ImageReference image, string script, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var stage = Config.FirstStage;
        var pullCredentials = await engineCredentials.GetAsync(stage.Registry, cancellationToken).ConfigureAwait(false);
        await engine.PullImageAsync(image, pullCredentials, new ReporterProgress(reporter), cancellationToken).ConfigureAwait(false);
        var spec = new ContainerSpec(
            image.ToString(),
            Entrypoint: ["/bin/sh", "-c", script],
            Cmd: ["sh", .. arguments],
            User: "0",
            NetworkMode: "host",
            Labels: new Dictionary<string, string> { [ContainerLabel] = image.Digest!.ToString() });
        var id = await engine.CreateContainerAsync(spec, cancellationToken).ConfigureAwait(false);
        try
        {
            await engine.StartContainerAsync(id, cancellationToken).ConfigureAwait(false);
            using var deadline = new CancellationTokenSource(AptTimeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            long exitCode;
            try
            {
                exitCode = await engine.WaitContainerAsync(id, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await engine.KillContainerAsync(id, CancellationToken.None).ConfigureAwait(false);
                throw new JobFailedException($"apt took longer than {AptTimeout.TotalMinutes:0} minutes on {image} and was stopped; check that the mirror is reachable and retry");
            }

            return (exitCode, await engine.GetContainerLogsAsync(id, cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            await engine.RemoveContainerAsync(id, force: true, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static JobFailedException Failure(PipelineDefinition pipeline, ImageReference baseReference, long exitCode, ContainerLogs logs)
    {
        var output = logs.Stdout + "\n" + logs.Stderr;
        var missing = AptOutput.ParseMissingVersions(output);
        if (missing.Count > 0)
        {
            var what = string.Join(", ", missing.Select(m => $"{m.Package} {m.Version}"));
            return new JobFailedException(
                $"the mirror no longer serves {what} (apt: version not found). Two ways out: " +
                $"change or remove the pin in {Path.GetFileName(pipeline.SourceFile)}, then 'orchestrator lock {pipeline.Name}' to lock what the mirror serves now, " +
                $"or give base {pipeline.Base} a 'snapshot:' mirror (snapshot.debian.org) that still serves it");
        }

        var unknown = AptOutput.ParseUnknownPackages(output);
        if (unknown.Count > 0)
        {
            return new JobFailedException(
                $"the mirror has no package named {string.Join(", ", unknown)} for base {pipeline.Base}: fix the name in {Path.GetFileName(pipeline.SourceFile)} ('apt-cache search WORD' finds it)");
        }

        return new JobFailedException($"apt failed resolving {pipeline.Name} on {baseReference} (exit {exitCode}): {Tail(logs.Stderr)}; check that the mirror is reachable and retry");
    }

    private static Dictionary<string, string> Sections(string stdout)
    {
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        string? current = null;
        var text = new System.Text.StringBuilder();
        foreach (var line in stdout.ReplaceLineEndings("\n").Split('\n'))
        {
            if (line.StartsWith("@@ ", StringComparison.Ordinal))
            {
                if (current is not null)
                {
                    sections[current] = text.ToString();
                }

                current = line[3..].Trim();
                text.Clear();
                continue;
            }

            text.Append(line).Append('\n');
        }

        if (current is not null)
        {
            sections[current] = text.ToString();
        }

        return sections;
    }

    private static string Tail(string text)
    {
        var lines = text.Trim().Split('\n').TakeLast(5);
        return string.Join(" | ", lines.Select(l => l.Trim()));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Locked {Pipeline}: {Count} package(s) on base {Digest}")]
    private partial void LogResolved(string pipeline, int count, Digest digest);
}

/// <summary>What <c>orchestrator outdated</c> reports for one locked pipeline.</summary>
/// <param name="Pipeline">The pipeline.</param>
/// <param name="Base"><c>NAME/VARIANT</c>.</param>
/// <param name="LockedBaseDigest">The base digest the lock names.</param>
/// <param name="CurrentBaseDigest">The base's digest in the first stage now.</param>
/// <param name="Packages">Locked packages with a newer candidate, security updates first.</param>
public sealed record OutdatedReport(string Pipeline, string Base, Digest LockedBaseDigest, Digest CurrentBaseDigest, IReadOnlyList<OutdatedPackage> Packages)
{
    public bool BaseOutdated => LockedBaseDigest != CurrentBaseDigest;

    public bool IsOutdated => BaseOutdated || Packages.Count > 0;
}

/// <summary>A locked package with a newer candidate in the mirror.</summary>
public sealed record OutdatedPackage(string Name, string Locked, string Candidate, bool Security, bool Direct);
