using System.Text.Json;
using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;

namespace Orchestrator.Core.Tests.Sbom;

public sealed class SpdxDocumentTests
{
    private static readonly Digest ImageDigest = Digest.Sha256Of("image"u8);
    private static readonly ImageReference Image = ImageReference.Create("127.0.0.1:5001", "apps/hello", digest: ImageDigest);
    private static readonly DateTimeOffset Created = new(2025, 3, 14, 15, 9, 26, 500, TimeSpan.Zero);

    private static readonly DpkgPackage[] Packages =
    [
        new("libc6", "2.36-9+deb12u4", "amd64"),
        new("hello", "2.10-3", "amd64"),
        new("bash", "5.2.15-2+b2", "amd64"),
        new("tzdata", "2024a-0+deb12u1", "all"),
        new("gcc-12-base", "1:12.2.0-14", "amd64"),
    ];

    [Fact]
    public void ToJson_Packages_HasTheSpdx23DocumentFields()
    {
        // Given a document for an image with five packages
        var document = SpdxDocument.Create(Image, Packages, Created);

        // When it is written
        using var json = JsonDocument.Parse(document.ToJson());
        var root = json.RootElement;

        // Then it carries the SPDX 2.3 header, a digest-derived namespace, and the creation info
        Assert.Equal("SPDX-2.3", root.GetProperty("spdxVersion").GetString());
        Assert.Equal("CC0-1.0", root.GetProperty("dataLicense").GetString());
        Assert.Equal("SPDXRef-DOCUMENT", root.GetProperty("SPDXID").GetString());
        Assert.Equal($"apps/hello@{ImageDigest}", root.GetProperty("name").GetString());
        Assert.Equal($"https://orchestrator.invalid/spdx/sha256/{ImageDigest.Encoded}", root.GetProperty("documentNamespace").GetString());
        Assert.Equal("2025-03-14T15:09:26Z", root.GetProperty("creationInfo").GetProperty("created").GetString());
        Assert.Equal(["Tool: orchestrator"], root.GetProperty("creationInfo").GetProperty("creators").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public void ToJson_PythonRequirements_ListedAsPypiPackagesWithTheirHashAfterTheDebianOnes()
    {
        // Given an image with one dpkg package and two pinned Python requirements (one with a single hash, one with two)
        var hash = new string('a', 64);
        var python = PypiPackage.From(new Definitions.PythonSpec(
            null, "/r/requirements.txt",
            [new("Hello_Devtools", "0.1", [new string('b', 64), new string('c', 64)], null, "r:2:1"), new("greet", "1.0.0", [hash], null, "r:1:1")],
            null, [], null, null, new Definitions.BaseVariantRef("debian-bookworm", "full"), []));
        var document = SpdxDocument.Create(Image, [Packages[1]], Created, python);

        // When it is written
        using var json = JsonDocument.Parse(document.ToJson());
        var packages = json.RootElement.GetProperty("packages").EnumerateArray().ToList();

        // Then the Python packages follow the Debian one, by normalized name, with pypi purls; only the single-hash one has a checksum
        Assert.Equal(["apps/hello", "hello", "greet", "hello-devtools"], packages.Select(p => p.GetProperty("name").GetString()));
        Assert.Equal("pkg:pypi/greet@1.0.0", packages[2].GetProperty("externalRefs")[0].GetProperty("referenceLocator").GetString());
        Assert.Equal(hash, packages[2].GetProperty("checksums")[0].GetProperty("checksumValue").GetString());
        Assert.False(packages[3].TryGetProperty("checksums", out _));
        Assert.Equal("SPDXRef-pypi-hello-devtools-0.1", packages[3].GetProperty("SPDXID").GetString());

        // And the image CONTAINS each of them
        var contained = json.RootElement.GetProperty("relationships").EnumerateArray()
            .Where(r => r.GetProperty("relationshipType").GetString() == "CONTAINS").Select(r => r.GetProperty("relatedSpdxElement").GetString()).ToList();
        Assert.Contains("SPDXRef-pypi-greet-1.0.0", contained);
        Assert.Equal(3, contained.Count);
    }

    [Fact]
    public void ToJson_Packages_OnePackagePerDpkgPackagePlusTheImageSortedByName()
    {
        // Given a document for an image with five packages, unsorted
        var document = SpdxDocument.Create(Image, Packages, Created);

        // When it is written
        using var json = JsonDocument.Parse(document.ToJson());
        var packages = json.RootElement.GetProperty("packages").EnumerateArray().ToList();

        // Then the image comes first as a container, then every package by name with Debian as supplier and a deb purl
        Assert.Equal(6, packages.Count);
        Assert.Equal("SPDXRef-Image", packages[0].GetProperty("SPDXID").GetString());
        Assert.Equal("CONTAINER", packages[0].GetProperty("primaryPackagePurpose").GetString());
        Assert.Equal($"pkg:oci/hello@sha256%3A{ImageDigest.Encoded}", Purl(packages[0]));
        Assert.Equal(["bash", "gcc-12-base", "hello", "libc6", "tzdata"], packages.Skip(1).Select(p => p.GetProperty("name").GetString()));
        var hello = packages.Single(p => p.GetProperty("name").GetString() == "hello");
        Assert.Equal("2.10-3", hello.GetProperty("versionInfo").GetString());
        Assert.Equal("Organization: Debian", hello.GetProperty("supplier").GetString());
        Assert.Equal("NOASSERTION", hello.GetProperty("downloadLocation").GetString());
        Assert.Equal("pkg:deb/debian/hello@2.10-3?arch=amd64&distro=debian-12", Purl(hello));
        var gcc = packages.Single(p => p.GetProperty("name").GetString() == "gcc-12-base");
        Assert.Equal("pkg:deb/debian/gcc-12-base@1%3A12.2.0-14?arch=amd64&distro=debian-12", Purl(gcc));
        Assert.All(packages, p => Assert.Matches("^SPDXRef-[A-Za-z0-9.-]+$", p.GetProperty("SPDXID").GetString()!));
        Assert.Equal(6, packages.Select(p => p.GetProperty("SPDXID").GetString()).Distinct().Count());
    }

    [Fact]
    public void ToJson_Packages_DocumentDescribesTheImageWhichContainsEachPackage()
    {
        // Given a document for an image with five packages
        var document = SpdxDocument.Create(Image, Packages, Created);

        // When it is written
        using var json = JsonDocument.Parse(document.ToJson());
        var relationships = json.RootElement.GetProperty("relationships").EnumerateArray()
            .Select(r => (r.GetProperty("spdxElementId").GetString()!, r.GetProperty("relationshipType").GetString()!, r.GetProperty("relatedSpdxElement").GetString()!))
            .ToList();
        var packageIds = json.RootElement.GetProperty("packages").EnumerateArray().Skip(1).Select(p => p.GetProperty("SPDXID").GetString()!).ToList();

        // Then the document DESCRIBES the image, and the image CONTAINS every package
        Assert.Equal(("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"), relationships[0]);
        Assert.Equal(packageIds.Select(id => ("SPDXRef-Image", "CONTAINS", id)), relationships.Skip(1));
    }

    [Fact]
    public void ToJson_SamePackagesInAnotherOrder_SameBytes()
    {
        // Given the same packages in two orders, one with a duplicate
        var first = SpdxDocument.Create(Image, Packages, Created);
        var second = SpdxDocument.Create(Image, [.. Packages.Reverse(), Packages[1]], Created);

        // When both are written
        // Then the bytes are identical, so the blob digest is too
        Assert.Equal(first.ToJson(), second.ToJson());
        Assert.Equal(Digest.Sha256Of(first.ToJson()), Digest.Sha256Of(second.ToJson()));
    }

    [Fact]
    public void ToJson_AnotherDigest_AnotherNamespace()
    {
        // Given two images that differ only by digest
        var other = Image.WithDigest(Digest.Sha256Of("other"u8));

        // When documents are made for both
        var first = SpdxDocument.Create(Image, Packages, Created);
        var second = SpdxDocument.Create(other, Packages, Created);

        // Then each namespace is unique to its digest
        Assert.NotEqual(first.Namespace, second.Namespace);
        Assert.EndsWith(other.Digest!.Encoded, second.Namespace, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_NoDigest_Throws()
    {
        // Given a reference by tag only
        var tagged = ImageReference.Create("127.0.0.1:5001", "apps/hello", tag: "1.0");

        // When a document is made for it
        // Then it is refused: an SBOM describes one digest
        Assert.Throws<ArgumentException>(() => SpdxDocument.Create(tagged, Packages, Created));
    }

    [Fact]
    public void ParseInstalled_DpkgQueryOutput_KeepsOnlyInstalledPackages()
    {
        // Given dpkg-query output with installed, removed-with-config and half-installed packages and junk
        var output = "bash\t5.2.15-2+b2\tamd64\tinstall ok installed\n"
            + "old\t1.0-1\tamd64\tdeinstall ok config-files\n"
            + "broken\t2.0-1\tamd64\tinstall reinstreq half-installed\n"
            + "hello\t2.10-3\tamd64\tinstall ok installed\r\n"
            + "not a package line\n"
            + "\n";

        // When it is parsed
        var packages = DpkgStatus.ParseInstalled(output);

        // Then only the installed ones remain, with their versions and architectures
        Assert.Equal([new DpkgPackage("bash", "5.2.15-2+b2", "amd64"), new DpkgPackage("hello", "2.10-3", "amd64")], packages);
    }

    private static string? Purl(JsonElement package) =>
        package.GetProperty("externalRefs").EnumerateArray().Single(r => r.GetProperty("referenceType").GetString() == "purl").GetProperty("referenceLocator").GetString();
}
