using Orchestrator.Core.References;
using Orchestrator.Core.Sbom;

namespace Orchestrator.Core.Tests.Sbom;

public sealed class SbomPackagesTests
{
    [Fact]
    public void Read_DocumentSpdxDocumentWrites_GivesBackEveryAptAndPythonPackage()
    {
        // Given the SBOM a build attaches, with an epoch and a '+' in versions and a Python package with its hash
        var image = ImageReference.Parse("127.0.0.1:5001/apps/hello@" + Digest.Sha256Of("image"u8));
        DpkgPackage[] apt = [new("hello", "2.10-3", "amd64"), new("zlib1g", "1:1.2.13.dfsg-1", "amd64"), new("libc6", "2.36-9+deb12u3", "amd64")];
        PypiPackage[] python = [new("greet", "1.0.0", new string('a', 64)), new("six", "1.16.0", null)];
        var json = SpdxDocument.Create(image, apt, DateTimeOffset.UnixEpoch, python).ToJson();

        // When it is read back
        var packages = SbomPackages.Read(json);

        // Then every package comes back with its exact version and architecture, and the image itself is not a package
        Assert.Equal(apt.OrderBy(p => p.Name, StringComparer.Ordinal), packages.Apt);
        Assert.Equal(python, packages.Python);
    }

    [Fact]
    public void Read_PackagesWithoutPurlOrOtherTypes_AreSkipped()
    {
        // Given a hand-made document: a deb purl without arch, an npm purl, a package without references
        var json = """
            {"spdxVersion":"SPDX-2.3","packages":[
              {"name":"a","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:deb/debian/a@1.0-1"}]},
              {"name":"b","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:npm/b@2.0.0"}]},
              {"name":"c"},
              {"name":"D","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:pypi/Zope.Interface@6.0#sub"}]}]}
            """u8;

        // When it is read
        var packages = SbomPackages.Read(json);

        // Then only the deb and pypi packages count, the deb one as 'all', the Python name normalized
        Assert.Equal([new DpkgPackage("a", "1.0-1", "all")], packages.Apt);
        Assert.Equal([new PypiPackage("zope-interface", "6.0", null)], packages.Python);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"spdxVersion":"SPDX-2.3"}""")]
    [InlineData("[1,2]")]
    public void Read_NotAnSpdxJsonDocument_ThrowsFormatExceptionSayingSo(string content)
    {
        var error = Assert.Throws<FormatException>(() => SbomPackages.Read(System.Text.Encoding.UTF8.GetBytes(content)));
        Assert.Contains("SBOM", error.Message, StringComparison.Ordinal);
    }
}
