using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;

namespace Orchestrator.BaseOs.Tests;

public sealed class DistrolessRootfsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "orchestrator-distroless-tests", Guid.NewGuid().ToString("N"));

    public DistrolessRootfsTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Reduce_MinbaseTree_KeepsOnlyRuntimePackagesFilesRecordsAndAccounts()
    {
        // Given a merged-/usr tree with the runtime packages, a shell, dpkg and apt, and ca-certificates' generated bundle
        MergedUsr();
        var status = new List<string>();
        foreach (var package in DistrolessBase.RuntimePackages)
        {
            status.Add(Record(package, package == "tzdata" ? "Depends: debconf (>= 0.5) | debconf-2.0" : null));
            var files = package switch
            {
                "libc6" => new[] { "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2" },
                "ca-certificates" => ["/usr/sbin/update-ca-certificates", "/usr/share/ca-certificates/mozilla/A.crt"],
                "tzdata" => ["/usr/share/zoneinfo/UTC", "/usr/share/doc/tzdata/changelog.Debian.gz"],
                _ => [$"/usr/share/doc/{package}/copyright"],
            };
            List(package, files, create: true);
        }

        // the slim rules already removed tzdata's changelog: listed, but gone
        File.Delete(Host("/usr/share/doc/tzdata/changelog.Debian.gz"));
        List("ca-certificates", ["/usr/sbin/update-ca-certificates", "/usr/share/ca-certificates/mozilla/A.crt", "/usr/share/doc/ca-certificates/copyright"], create: true);
        status.Add(Record("dash", null));
        List("dash", ["/usr/bin/dash", "/bin/sh"], create: true);
        status.Add(Record("dpkg", null));
        List("dpkg", ["/usr/bin/dpkg"], create: true);
        Write(DistrolessRootfs.CaBundle, "-----BEGIN CERTIFICATE-----");
        Write("/var/lib/dpkg/status", string.Join("\n", status));

        // When the tree is reduced
        var (paths, packages) = DistrolessRootfs.Reduce(_root);

        // Then the runtime packages' files are kept at their real place (never under a linked folder), with their ancestors
        Assert.Contains("./usr/lib64/ld-linux-x86-64.so.2", paths);
        Assert.DoesNotContain("./lib64/ld-linux-x86-64.so.2", paths);
        Assert.Contains("./usr/lib/x86_64-linux-gnu/libc.so.6", paths);
        Assert.Contains("./usr/lib/x86_64-linux-gnu", paths);
        Assert.Contains("./usr/share/zoneinfo/UTC", paths);
        Assert.DoesNotContain("./usr/share/doc/tzdata/changelog.Debian.gz", paths);
        Assert.Contains("./lib64", paths);
        Assert.Contains("./bin", paths);

        // and of ca-certificates only the bundle and the copyright, and nothing of dash or dpkg or dpkg's database
        Assert.Contains("./etc/ssl/certs/ca-certificates.crt", paths);
        Assert.Contains("./usr/share/doc/ca-certificates/copyright", paths);
        Assert.DoesNotContain("./usr/sbin/update-ca-certificates", paths);
        Assert.DoesNotContain("./usr/bin/dash", paths);
        Assert.DoesNotContain("./usr/bin/dpkg", paths);
        Assert.DoesNotContain("./var/lib/dpkg/status", paths);
        Assert.Equal(paths.Distinct().Count(), paths.Count);

        // and each runtime package has its status.d record, dependencies as dpkg had them
        Assert.Equal(DistrolessBase.RuntimePackages.Order(StringComparer.Ordinal), packages.Select(p => p.Name));
        foreach (var package in DistrolessBase.RuntimePackages)
        {
            Assert.Contains($"./var/lib/dpkg/status.d/{package}", paths);
            Assert.StartsWith($"Package: {package}\n", File.ReadAllText(Host($"/var/lib/dpkg/status.d/{package}")), StringComparison.Ordinal);
        }

        Assert.Contains("Depends: debconf", File.ReadAllText(Host("/var/lib/dpkg/status.d/tzdata")), StringComparison.Ordinal);

        // and the accounts are root, nobody and nonroot (65532) with its home
        Assert.Contains("nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin", File.ReadAllText(Host("/etc/passwd")), StringComparison.Ordinal);
        Assert.Contains("nonroot:x:65532:", File.ReadAllText(Host("/etc/group")), StringComparison.Ordinal);
        Assert.Contains("./home/nonroot", paths);
        Assert.Contains("./tmp", paths);
    }

    [Fact]
    public void Reduce_RuntimePackageMissing_ThrowsNamingIt()
    {
        // Given a tree whose dpkg database lacks libssl3
        MergedUsr();
        Write("/var/lib/dpkg/status", string.Join("\n", DistrolessBase.RuntimePackages.Where(p => p != "libssl3").Select(p => Record(p, null))));

        // When reduced, Then the error names the package and where to look
        var error = Assert.Throws<JobFailedException>(() => DistrolessRootfs.Reduce(_root));
        Assert.Contains("libssl3 is not installed", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/lib64/ld-linux-x86-64.so.2", "/usr/lib64/ld-linux-x86-64.so.2")]
    [InlineData("/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6")]
    [InlineData("/lib64", "/lib64")]
    [InlineData("/lib64/missing", null)]
    public void Canonical_LinkedFolders_ResolvedInsideTheTree(string path, string? expected)
    {
        // Given merged /usr links, When a path is made canonical, Then folders are resolved and the last component is not followed
        MergedUsr();
        Write("/usr/lib64/ld-linux-x86-64.so.2", "elf");
        Write("/usr/lib/x86_64-linux-gnu/libc.so.6", "elf");
        Assert.Equal(expected, DistrolessRootfs.Canonical(_root, path));
    }

    private void MergedUsr()
    {
        foreach (var folder in new[] { "bin", "lib", "lib64", "sbin" })
        {
            Directory.CreateDirectory(Path.Combine(_root, "usr", folder));
            if (!Path.Exists(Path.Combine(_root, folder)))
            {
                File.CreateSymbolicLink(Path.Combine(_root, folder), $"usr/{folder}");
            }
        }
    }

    private static string Record(string package, string? depends) =>
        $"Package: {package}\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n" + (depends is null ? string.Empty : depends + "\n") + "Description: x\n continued\n";

    private void List(string package, IEnumerable<string> files, bool create)
    {
        var paths = files.ToList();
        if (create)
        {
            foreach (var file in paths)
            {
                Write(file, package); // through the tree's own links, as dpkg wrote them
            }
        }

        Write($"/var/lib/dpkg/info/{package}:amd64.list", "/.\n" + string.Join("\n", paths) + "\n");
    }

    private void Write(string path, string content)
    {
        var host = Host(path);
        Directory.CreateDirectory(Path.GetDirectoryName(host)!);
        File.WriteAllText(host, content);
    }

    private string Host(string path) => Path.Combine(_root, path.TrimStart('/'));
}
