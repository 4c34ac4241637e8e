using System.Formats.Tar;
using Orchestrator.Core.Definitions;

namespace Orchestrator.BaseOs.Tests;

[Trait("Category", "Integration")]
public sealed class DistrolessIntegrationTests : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "orchestrator-distroless-it", Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_work))
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    [Fact]
    public async Task BuildAsync_DistrolessBookworm_RuntimeFilesAndRecordsOnlyNoShellNoDpkg()
    {
        // Given the distroless bookworm variant on this machine's mirror
        var variant = new BaseVariantDefinition("distroless", "bookworm", null, null, ["main"], null, false, [], null) { Distroless = true };
        var image = new BaseImageDefinition("it-debian", "base-images/it-debian.yaml", "base/it-debian", "distroless", new Dictionary<string, BaseVariantDefinition> { ["distroless"] = variant });
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20));

        // When it is built for real
        var archive = await new DebootstrapRootfsBuilder().BuildAsync(image, variant, _work, null, timeout.Token);

        // Then it was cut from a minbase tree and reports exactly the runtime packages
        Assert.Equal("minbase", archive.DebootstrapVariant);
        Assert.Equal(DistrolessBase.RuntimePackages.Order(StringComparer.Ordinal), archive.Packages.Select(p => p.Name));

        var entries = new Dictionary<string, (TarEntryType Type, int Uid, string? Text)>();
        await using (var stream = File.OpenRead(archive.TarPath))
        using (var reader = new TarReader(stream))
        {
            while (await reader.GetNextEntryAsync() is { } entry)
            {
                var name = "/" + entry.Name.TrimStart('.').TrimStart('/').TrimEnd('/');
                string? text = null;
                if ((name is "/etc/passwd" || name.StartsWith("/var/lib/dpkg/status.d/", StringComparison.Ordinal)) && entry.DataStream is { } data)
                {
                    using var textReader = new StreamReader(data);
                    text = await textReader.ReadToEndAsync();
                }

                entries[name] = (entry.EntryType, entry.Uid, text);
            }
        }

        // no shell, no apt, no dpkg, no dpkg database: only status.d records, one per package
        foreach (var absent in new[] { "/usr/bin/sh", "/usr/bin/dash", "/usr/bin/bash", "/usr/bin/apt-get", "/usr/bin/apt", "/usr/bin/dpkg", "/usr/bin/ls", "/var/lib/dpkg/status", "/var/lib/dpkg/info" })
        {
            Assert.DoesNotContain(absent, entries.Keys);
        }

        Assert.Equal(TarEntryType.SymbolicLink, entries["/bin"].Type);
        foreach (var package in DistrolessBase.RuntimePackages)
        {
            Assert.StartsWith($"Package: {package}\n", entries[$"/var/lib/dpkg/status.d/{package}"].Text, StringComparison.Ordinal);
        }

        // the C library, the CA bundle, time zones, and the nonroot user with its home
        Assert.Contains("/usr/lib/x86_64-linux-gnu/libc.so.6", entries.Keys);
        Assert.Contains("/usr/lib/x86_64-linux-gnu/libssl.so.3", entries.Keys);
        Assert.Contains("/etc/ssl/certs/ca-certificates.crt", entries.Keys);
        Assert.Contains("/usr/share/zoneinfo/UTC", entries.Keys);
        Assert.Contains("nonroot:x:65532:65532", entries["/etc/passwd"].Text, StringComparison.Ordinal);
        Assert.Equal(65532, entries["/home/nonroot"].Uid);
        Assert.True(entries.Count < 3000, $"{entries.Count} entries: a distroless base keeps a few runtime packages only");
    }
}
