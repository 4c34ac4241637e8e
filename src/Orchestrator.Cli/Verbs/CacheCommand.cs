using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Infrastructure;
using Orchestrator.Composition;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Packages;

namespace Orchestrator.Cli.Verbs;

/// <summary><c>orchestrator cache …</c>: the content-addressed package cache builds and locks fill (<c>.orchestrator/cache</c>).</summary>
internal sealed class CacheCommand : Command
{
    public CacheCommand(CliConsole console)
        : base("cache", "Show or trim the package cache (every locked .deb and Python distribution, by SHA-256, shared by every pipeline)")
    {
        Subcommands.Add(new CacheListCommand(console));
        Subcommands.Add(new CachePruneCommand(console));
    }

    /// <summary>The store of the workspace's state folder; only orchestrator.yaml is read, not the engine or registries.</summary>
    internal static async Task<PackageStore> StoreAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var config = (await CliServices.LoadWorkspaceAsync(parseResult.GetValue(CliOptions.Config), cancellationToken).ConfigureAwait(false)).Config;
        return new PackageStore(PackageStore.FolderFor(config));
    }

    internal static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => (bytes / 1024.0 / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
    };

    internal static TextTable Table(IEnumerable<PackageCacheEntry> entries)
    {
        var table = new TextTable("NAME", "VERSION", "ARCH", "KIND", "SIZE", "LAST USED", "SHA256");
        foreach (var e in entries)
        {
            table.Add(e.Name, e.Version, e.Architecture, e.Kind, Size(e.Size), TextTable.Time(e.LastUsed), e.Sha256[..12]);
        }

        return table;
    }
}

/// <summary><c>orchestrator cache ls [--json]</c>: every cached file with name, version, architecture, kind, size and when last used.</summary>
internal sealed class CacheListCommand : VerbCommand
{
    public CacheListCommand(CliConsole console)
        : base("ls", "List the package cache: name, version, arch, kind, size, last used", console)
    {
    }

    protected override bool NeedsServices => false;

    protected override Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    protected override async Task<int> ExecuteWithoutServicesAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var store = await CacheCommand.StoreAsync(parseResult, cancellationToken).ConfigureAwait(false);
        var entries = store.List().ToList();
        var total = entries.Sum(e => e.Size);
        if (parseResult.GetValue(CliOptions.Json))
        {
            WriteResult(parseResult, new CacheListDocument(store.Folder, entries, total), PackageCacheJsonContext.Default.CacheListDocument);
            return 0;
        }

        CacheCommand.Table(entries).Write(Console.Out);
        Console.Out.WriteLine($"{entries.Count} file(s), {CacheCommand.Size(total)} in {store.Folder}");
        return 0;
    }
}

/// <summary>
/// <c>orchestrator cache prune (--older-than DAYS | --all) [--dry-run] [--json]</c>: removes the files last used more
/// than DAYS days ago, or all of them; a build fetches again what it needs.
/// </summary>
internal sealed class CachePruneCommand : VerbCommand
{
    private readonly Option<int?> _olderThan = new("--older-than") { Description = "Remove what no build or lock used in the last DAYS days (a whole number, 0 or more)", HelpName = "DAYS" };

    private readonly Option<bool> _all = new("--all") { Description = "Remove every cached file" };

    private readonly Option<bool> _dryRun = new("--dry-run") { Description = "Only list what would be removed" };

    public CachePruneCommand(CliConsole console)
        : base("prune", "Trim the package cache: --older-than DAYS or --all; builds fetch again what they need", console)
    {
        Options.Add(_olderThan);
        Options.Add(_all);
        Options.Add(_dryRun);
    }

    protected override bool NeedsServices => false;

    protected override void CheckArguments(ParseResult parseResult)
    {
        var days = parseResult.GetValue(_olderThan);
        var all = parseResult.GetValue(_all);
        if (days is null && !all)
        {
            throw new InputException("'orchestrator cache prune' needs --older-than DAYS (e.g. --older-than 30) or --all; add --dry-run to see what would go");
        }

        if (days is not null && all)
        {
            throw new InputException("'orchestrator cache prune' takes --older-than DAYS or --all, not both");
        }

        if (days is < 0)
        {
            throw new InputException($"--older-than {days}: DAYS is a whole number of days, 0 or more (e.g. --older-than 30)");
        }
    }

    protected override Task<int> ExecuteAsync(ParseResult parseResult, ComposedServices services, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    protected override async Task<int> ExecuteWithoutServicesAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var store = await CacheCommand.StoreAsync(parseResult, cancellationToken).ConfigureAwait(false);
        var days = parseResult.GetValue(_olderThan);
        var dryRun = parseResult.GetValue(_dryRun);
        var removed = store.Prune(days is { } d ? TimeSpan.FromDays(d) : null, parseResult.GetValue(_all), dryRun).ToList();
        var freed = removed.Sum(e => e.Size);
        var kept = store.List().Count;
        if (parseResult.GetValue(CliOptions.Json))
        {
            WriteResult(parseResult, new CachePruneDocument(store.Folder, dryRun, removed, freed, kept), PackageCacheJsonContext.Default.CachePruneDocument);
            return 0;
        }

        if (removed.Count > 0)
        {
            CacheCommand.Table(removed).Write(Console.Out);
        }

        Console.Out.WriteLine($"{(dryRun ? "would remove" : "removed")} {removed.Count} file(s), {CacheCommand.Size(freed)}; {kept} kept in {store.Folder}");
        return 0;
    }
}
