using Orchestrator.Core.Errors;
using Orchestrator.Core.Locks;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Packages;

/// <summary>
/// <see cref="IPackageCache"/> over a <see cref="PackageStore"/> in the workspace's state folder: missing <c>.deb</c>s
/// are located by apt in a throwaway container of the base (host network, as <c>orchestrator lock</c> does) and
/// downloaded on the host, at most <see cref="MaxConcurrentDownloads"/> at once, each hashed while it streams.
/// </summary>
public sealed class PackageCache(
    IWorkspaceAccessor workspace, IDockerEngine engine, IEngineCredentialSource engineCredentials, IPackageDownloader downloader, TimeProvider time) : IPackageCache
{
    /// <summary>Downloads at once. <value>The default is 4.</value></summary>
    public const int MaxConcurrentDownloads = 4;

    /// <summary>Labels the containers that locate packages, so leftovers can be found.</summary>
    public const string ContainerLabel = "io.orchestrator.package-cache";

    // apt-get download --print-uris prints exactly the packages named, installed or not, with no dependency solving.
    internal const string PrintUrisScript = """
        set -e
        o='-o APT::Sandbox::User=root'
        apt-get $o update -qq >&2
        apt-get $o download --print-uris "$@"
        """;

    /// <summary>The store this cache reads and fills.</summary>
    public PackageStore Store => new(PackageStore.FolderFor(workspace.Current.Config), time);

    /// <inheritdoc />
    public async Task<IReadOnlyList<CachedPackage>> GetDebsAsync(
        IReadOnlyList<LockedPackage> packages, ImageReference resolveOn, IJobReporter? reporter = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(packages);
        var store = Store;
        var found = new Dictionary<LockedPackage, string>();
        var missing = new List<LockedPackage>();
        foreach (var package in packages.Distinct())
        {
            if (await store.TryGetVerifiedAsync(package.Sha256, Describe(package), cancellationToken).ConfigureAwait(false) is { } path)
            {
                found[package] = path;
            }
            else
            {
                missing.Add(package);
            }
        }

        if (missing.Count > 0)
        {
            reporter?.Step($"package cache: fetching {missing.Count} of {packages.Count} .deb(s) ({packages.Count - missing.Count} cached)");
            var uris = await LocateAsync(missing, resolveOn, cancellationToken).ConfigureAwait(false);
            var fetched = new System.Collections.Concurrent.ConcurrentDictionary<LockedPackage, string>();
            await Parallel.ForEachAsync(
                missing,
                new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentDownloads, CancellationToken = cancellationToken },
                async (package, token) =>
                {
                    var uri = uris[package];
                    await using var content = await downloader.OpenAsync(uri, token).ConfigureAwait(false);
                    var entry = new PackageCacheEntry(package.Sha256, package.Name, package.Version, package.Architecture, "deb", CachedPackage.DebFileNameOf(package));
                    fetched[package] = await store.AddAsync(content, entry, uri.ToString(), token).ConfigureAwait(false);
                }).ConfigureAwait(false);
            foreach (var (package, path) in fetched)
            {
                found[package] = path;
            }
        }
        else
        {
            reporter?.Step($"package cache: all {packages.Count} .deb(s) cached");
        }

        return [.. packages.Select(p => new CachedPackage(p, found[p]))];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<CachedDistribution>> GetDistributionsAsync(
        IReadOnlyList<WantedDistribution> distributions, string index, IJobReporter? reporter = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(distributions);
        var store = Store;
        var result = new List<CachedDistribution>();
        var fetching = 0;
        foreach (var wanted in distributions)
        {
            CachedDistribution? cached = null;
            foreach (var sha256 in wanted.Sha256)
            {
                if (await store.TryGetVerifiedAsync(sha256, $"{wanted.Name} {wanted.Version}", cancellationToken).ConfigureAwait(false) is { } path)
                {
                    var name = store.List().FirstOrDefault(e => e.Sha256 == sha256.ToLowerInvariant())?.FileName ?? sha256;
                    cached = new CachedDistribution(wanted, name, sha256.ToLowerInvariant(), path);
                    break;
                }
            }

            if (cached is null)
            {
                fetching++;
                cached = await FetchDistributionAsync(store, wanted, index, cancellationToken).ConfigureAwait(false);
            }

            result.Add(cached);
        }

        reporter?.Step($"package cache: {distributions.Count} Python distribution(s), {fetching} fetched from {index}");
        return result;
    }

    // The index's file with a locked hash: a link whose #sha256= fragment names one, else (PEP 503 makes the fragment
    // optional) each hashless link of that name and version, downloaded and kept only if its bytes hash to a locked hash.
    private async Task<CachedDistribution> FetchDistributionAsync(PackageStore store, WantedDistribution wanted, string index, CancellationToken cancellationToken)
    {
        var page = SimpleIndexPage.ProjectUri(index, wanted.Name);
        var links = SimpleIndexPage.Parse(await downloader.GetStringAsync(page, cancellationToken).ConfigureAwait(false), page);
        // File names compared PEP 503-normalized with '-' as '_': 'greet-1.0.0-py3-none-any.whl' starts with 'greet_1_0_0_'.
        var prefix = SimpleIndexPage.Normalize($"{wanted.Name}-{wanted.Version}").Replace('-', '_') + "_";
        var candidates = links.Where(l => l.Sha256 is { } h && wanted.Sha256.Contains(h, StringComparer.OrdinalIgnoreCase))
            .Concat(links.Where(l => l.Sha256 is null && SimpleIndexPage.Normalize(l.FileName).Replace('-', '_').StartsWith(prefix, StringComparison.Ordinal)))
            .ToList();
        foreach (var link in candidates)
        {
            foreach (var sha256 in link.Sha256 is { } listed ? [listed] : wanted.Sha256)
            {
                try
                {
                    await using var content = await downloader.OpenAsync(link.Uri, cancellationToken).ConfigureAwait(false);
                    var entry = new PackageCacheEntry(sha256, wanted.Name, wanted.Version, "python", "python", link.FileName);
                    var path = await store.AddAsync(content, entry, link.Uri.ToString(), cancellationToken).ConfigureAwait(false);
                    return new CachedDistribution(wanted, link.FileName, sha256.ToLowerInvariant(), path);
                }
                catch (PackageIntegrityException) when (link.Sha256 is null)
                {
                    // a hashless link whose bytes are not this locked hash: another hash, or another file of that version
                }
            }
        }

        throw new JobFailedException(
            $"the Python index {page} serves no file of {wanted.Name} {wanted.Version} with a locked hash ({string.Join(", ", wanted.Sha256.Select(h => "sha256:" + h))}): " +
            "check that the index still serves it, or lock again");
    }

    // Asks apt, in a container of the base on the host network, where the mirror serves each missing package.
    private async Task<Dictionary<LockedPackage, Uri>> LocateAsync(IReadOnlyList<LockedPackage> missing, ImageReference image, CancellationToken cancellationToken)
    {
        var credentials = await engineCredentials.GetAsync(workspace.Current.Config.FirstStage.Registry, cancellationToken).ConfigureAwait(false);
        await engine.PullImageAsync(image, credentials, null, cancellationToken).ConfigureAwait(false);
        var spec = new ContainerSpec(
            image.ToString(),
            Entrypoint: ["/bin/sh", "-c", PrintUrisScript],
            Cmd: ["sh", .. missing.Select(p => $"{p.Name}:{p.Architecture}={p.Version}")],
            User: "0",
            NetworkMode: "host",
            Labels: new Dictionary<string, string> { [ContainerLabel] = image.Digest?.ToString() ?? image.ToString() });
        var id = await engine.CreateContainerAsync(spec, cancellationToken).ConfigureAwait(false);
        ContainerLogs logs;
        long exitCode;
        try
        {
            await engine.StartContainerAsync(id, cancellationToken).ConfigureAwait(false);
            exitCode = await engine.WaitContainerAsync(id, cancellationToken).ConfigureAwait(false);
            logs = await engine.GetContainerLogsAsync(id, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await engine.RemoveContainerAsync(id, force: true, CancellationToken.None).ConfigureAwait(false);
        }

        if (exitCode != 0)
        {
            var tail = string.Join(" | ", logs.Stderr.Trim().Split('\n').TakeLast(5).Select(l => l.Trim()));
            throw new JobFailedException(
                $"apt could not locate {missing.Count} locked package(s) on {image} to fill the package cache (exit {exitCode}): {tail}; " +
                "check that the mirror is reachable and still serves the locked versions ('orchestrator lock NAME' re-resolves)");
        }

        var entries = AptUris.Parse(logs.Stdout);
        var uris = new Dictionary<LockedPackage, Uri>();
        foreach (var package in missing)
        {
            var entry = entries.FirstOrDefault(e => e.Name == package.Name && e.Architecture == package.Architecture)
                ?? throw new JobFailedException(
                    $"apt printed no download for {Describe(package)} on {image}; check the base's apt sources, then 'orchestrator lock' again");
            uris[package] = entry.Uri;
        }

        return uris;
    }

    private static string Describe(LockedPackage package) => $"{package.Name} {package.Version} {package.Architecture}";
}
