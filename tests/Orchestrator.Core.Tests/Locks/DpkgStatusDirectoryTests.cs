using System.Formats.Tar;
using System.Text;
using Orchestrator.Core.Locks;

namespace Orchestrator.Core.Tests.Locks;

public sealed class DpkgStatusDirectoryTests
{
    private const string Libc = "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u14\nArchitecture: amd64\nDepends: libgcc-s1\nDescription: GNU C Library\n shared libraries\n";
    private const string Tzdata = "Package: tzdata\nVersion: 2025b-0+deb12u2\nArchitecture: all\nDepends: debconf (>= 0.5) | debconf-2.0\n";

    [Fact]
    public async Task ApplyLayerAsync_LayersInOrder_LaterFilesAndWhiteoutsWin()
    {
        // Given a base layer with two records and a later layer adding one and whiting one out
        var records = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await DpkgStatusDirectory.ApplyLayerAsync(Tar(("./var/lib/dpkg/status.d/libc6", Libc), ("./var/lib/dpkg/status.d/tzdata", Tzdata), ("./etc/passwd", "root")), records, CancellationToken.None);
        await DpkgStatusDirectory.ApplyLayerAsync(Tar(("var/lib/dpkg/status.d/python3", "Package: python3\nVersion: 3.11.2-1+b1\nArchitecture: amd64\n"), ("var/lib/dpkg/status.d/.wh.tzdata", string.Empty)), records, CancellationToken.None);

        // When read, Then the image's view is libc6 and python3, nothing outside status.d
        Assert.Equal(["libc6", "python3"], records.Keys);
        Assert.Equal(Libc, records["libc6"]);
    }

    [Fact]
    public async Task ApplyLayerAsync_OpaqueWhiteout_ClearsEarlierRecords()
    {
        // Given records, When a later layer marks status.d opaque, Then the earlier records are gone
        var records = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["libc6"] = Libc };
        await DpkgStatusDirectory.ApplyLayerAsync(Tar(("var/lib/dpkg/status.d/.wh..wh..opq", string.Empty)), records, CancellationToken.None);
        Assert.Empty(records);
    }

    [Fact]
    public void ParseInstalled_Records_InstalledOrWithoutStatusSortedByName()
    {
        // Given records with and without a Status field, and one only half-installed
        var records = new[] { Tzdata, Libc, "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: amd64\n" };

        // When parsed, Then installed and status-less packages are listed, sorted, with version and architecture
        Assert.Equal(
            [new InstalledPackage("libc6", "2.36-9+deb12u14", "amd64"), new InstalledPackage("tzdata", "2025b-0+deb12u2", "all")],
            DpkgStatusDirectory.ParseInstalled(records));
    }

    [Fact]
    public void ResolutionStatus_Records_DropsRelationshipsAndAddsStatus()
    {
        // Given records with dependencies (tzdata's on debconf, which a distroless image never has)
        // When the status apt resolves against is written
        var status = DpkgStatusDirectory.ResolutionStatus([Libc, Tzdata]);

        // Then every package is installed, without the fields that would make apt demand debconf, descriptions kept whole
        Assert.DoesNotContain("Depends:", status, StringComparison.Ordinal);
        Assert.Contains("Package: tzdata\nVersion: 2025b-0+deb12u2\nArchitecture: all\nStatus: install ok installed\n\n", status, StringComparison.Ordinal);
        Assert.Contains("Description: GNU C Library\n shared libraries\n", status, StringComparison.Ordinal);
        Assert.Equal(2, status.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Length);
    }

    private static MemoryStream Tar(params (string Name, string Content)[] entries)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
            }
        }

        stream.Position = 0;
        return stream;
    }
}
