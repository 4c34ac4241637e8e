using Orchestrator.Core.Packages;

namespace Orchestrator.Core.Tests.Packages;

public sealed class AptUrisTests
{
    [Fact]
    public void Parse_PrintUrisOutput_EachLineWithUrlNameArchitectureAndHash()
    {
        // Given what apt-get download --print-uris prints, with a warning between
        const string output = """
            'http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb' hello_2.10-3_amd64.deb 53244 SHA256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789
            W: something apt says
            'http://deb.debian.org/debian/pool/main/p/perl/perl-base_5.36.0-7%2bdeb12u1_amd64.deb' perl-base_1%3a5.36.0-7+deb12u1_amd64.deb 1 MD5Sum:00
            """;

        // When parsed
        var entries = AptUris.Parse(output);

        // Then each download line is read, the hash only when it is SHA256
        Assert.Equal(2, entries.Count);
        Assert.Equal(("hello", "amd64", 53244L, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"), (entries[0].Name, entries[0].Architecture, entries[0].Size, entries[0].Sha256));
        Assert.Equal("http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb", entries[0].Uri.ToString());
        Assert.Equal(("perl-base", "amd64", (string?)null), (entries[1].Name, entries[1].Architecture, entries[1].Sha256));
    }

    [Fact]
    public void SimpleIndexPage_Parse_LinksResolvedWithTheirHashes()
    {
        // Given a PEP 503 project page with relative links
        var page = SimpleIndexPage.ProjectUri("http://127.0.0.1:8080/simple/", "Greet_Lib");
        const string html = """<html><body><a href="../../files/greet_lib-1.0-py3-none-any.whl#sha256=AB12">greet_lib-1.0-py3-none-any.whl</a><br/><a href="greet-0.9.tar.gz">greet-0.9.tar.gz</a></body></html>""";

        // When parsed
        var links = SimpleIndexPage.Parse(html, page);

        // Then the name is normalized in the page URL, links are absolute, and hashes come from the fragment
        Assert.Equal("http://127.0.0.1:8080/simple/greet-lib/", page.ToString());
        Assert.Equal(2, links.Count);
        Assert.Equal(("http://127.0.0.1:8080/files/greet_lib-1.0-py3-none-any.whl", "greet_lib-1.0-py3-none-any.whl", "ab12"), (links[0].Uri.ToString(), links[0].FileName, links[0].Sha256));
        Assert.Null(links[1].Sha256);
    }
}
