using System.Formats.Tar;
using Orchestrator.Core.Definitions;

namespace Orchestrator.BaseOs.Tests;

[Trait("Category", "Integration")]
public sealed class DebootstrapIntegrationTests : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "orchestrator-debootstrap-it", Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_work))
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    [Fact]
    public async Task BuildAsync_SlimBookworm_TarIsSlimCleanAndOwnedByRoot()
    {
        // Given the slim bookworm variant on this machine's mirror
        var variant = new BaseVariantDefinition("slim", "bookworm", null, null, ["main"], "minbase", true, [], null);
        var image = new BaseImageDefinition("it-debian", "base-images/it-debian.yaml", "base/it-debian", "slim", new Dictionary<string, BaseVariantDefinition> { ["slim"] = variant });
        var builder = new DebootstrapRootfsBuilder();
        var lines = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(15));

        // When it is built for real
        var archive = await builder.BuildAsync(image, variant, _work, new Progress<string>(_ => Interlocked.Increment(ref lines)), timeout.Token);

        // Then the archive is where it says, and the unpacked tree is gone
        Assert.True(File.Exists(archive.TarPath));
        Assert.Equal(new FileInfo(archive.TarPath).Length, archive.SizeBytes);
        Assert.Equal("bookworm", archive.Suite);
        Assert.False(Directory.Exists(Path.Combine(Path.GetDirectoryName(archive.TarPath)!, "rootfs")));
        Assert.True(lines > 0);

        // And the provenance says what it was built from, with dpkg's package set, sorted
        Assert.Equal("minbase", archive.DebootstrapVariant);
        Assert.Null(archive.Snapshot);
        Assert.StartsWith("http", archive.Mirror, StringComparison.Ordinal);
        Assert.NotEmpty(archive.Packages);
        Assert.Contains(archive.Packages, p => p.Name == "dpkg" && p.Version.Length > 0 && p.Architecture.Length > 0);
        Assert.Contains(archive.Packages, p => p.Name == "bash");
        Assert.Equal(archive.Packages.Select(p => p.Name).Order(StringComparer.Ordinal), archive.Packages.Select(p => p.Name));

        var entries = new Dictionary<string, (TarEntryType Type, int Uid, int Gid, string? Text, long Length)>();
        await using (var stream = File.OpenRead(archive.TarPath))
        using (var reader = new TarReader(stream))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                var name = "/" + entry.Name.TrimStart('.').TrimStart('/');
                var length = entry.Length;
                string? text = null;
                if (name is "/etc/apt/sources.list.d/debian.sources" or "/etc/dpkg/dpkg.cfg.d/docker" && entry.DataStream is { } data)
                {
                    using var textReader = new StreamReader(data);
                    text = await textReader.ReadToEndAsync();
                }

                entries[name.TrimEnd('/')] = (entry.EntryType, entry.Uid, entry.Gid, text, length);
            }
        }

        // the slim rules are installed and were applied to what debootstrap installed
        Assert.Contains("path-exclude /usr/share/man/*", entries["/etc/dpkg/dpkg.cfg.d/docker"].Text);
        Assert.DoesNotContain(entries, e => e.Key.StartsWith("/usr/share/man/", StringComparison.Ordinal) && e.Value.Type != TarEntryType.Directory);
        Assert.DoesNotContain(entries.Keys, k => k.StartsWith("/usr/share/doc/", StringComparison.Ordinal) && Path.GetFileName(k).StartsWith("changelog", StringComparison.Ordinal));
        Assert.Contains(entries.Keys, k => k.StartsWith("/usr/share/doc/", StringComparison.Ordinal) && k.EndsWith("/copyright", StringComparison.Ordinal));
        Assert.Contains("/usr/share/doc/bash/copyright", entries.Keys);

        // apt sources as the official images have them
        var sources = entries["/etc/apt/sources.list.d/debian.sources"].Text!;
        var suites = AptSources.ParseDeb822(sources).SelectMany(e => e.Suites).ToList();
        Assert.Equal(["bookworm", "bookworm-updates", "bookworm-security"], suites);
        Assert.DoesNotContain("/etc/apt/sources.list", entries.Keys);
        Assert.Contains("/etc/apt/apt.conf.d/docker-clean", entries.Keys);

        // host identity and bootstrap leftovers are gone
        Assert.Equal(0, entries["/etc/machine-id"].Length);
        Assert.Equal(0, entries["/etc/resolv.conf"].Length);
        Assert.DoesNotContain(entries.Keys, k => k.StartsWith("/var/lib/apt/lists/", StringComparison.Ordinal) && k is not "/var/lib/apt/lists/lock" and not "/var/lib/apt/lists/partial");
        Assert.DoesNotContain(entries, e => e.Key.StartsWith("/var/log/", StringComparison.Ordinal) && e.Value.Type != TarEntryType.Directory);
        Assert.DoesNotContain(entries.Keys, k => k.StartsWith("/var/cache/apt/archives/", StringComparison.Ordinal) && k.EndsWith(".deb", StringComparison.Ordinal));

        // ownership is preserved numerically: root files, and /etc/shadow in group shadow (42)
        Assert.Equal(0, entries["/etc/passwd"].Uid);
        Assert.Equal(0, entries["/usr/bin/bash"].Uid);
        Assert.Equal((0, 42), (entries["/etc/shadow"].Uid, entries["/etc/shadow"].Gid));
    }
}
