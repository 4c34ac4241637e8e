namespace Orchestrator.Core.Tests.Locks;

/// <summary>apt and dpkg output captured from a Debian bookworm container against deb.debian.org.</summary>
internal static class AptSamples
{
    public const string Simulation = """
        Reading package lists...
        Building dependency tree...
        The following additional packages will be installed:
          libbrotli1 libcurl4 libgssapi-krb5-2 libk5crypto3 libkeyutils1 libkrb5-3
        The following NEW packages will be installed:
          curl hello libbrotli1 libcurl4
        0 upgraded, 17 newly installed, 0 to remove and 0 not upgraded.
        Inst libbrotli1 (1.0.9-2+b6 Debian:12.15/oldstable [amd64])
        Inst libssl3 (3.0.20-1~deb12u2 Debian:12.15/oldstable [amd64])
        Inst librtmp1 (2.4+20151223.gitfa8646d.1-2+b2 Debian:12.15/oldstable [amd64])
        Inst curl (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
        Inst hello (2.10-3 Debian:12.15/oldstable [amd64])
        Conf libbrotli1 (1.0.9-2+b6 Debian:12.15/oldstable [amd64])
        Conf libssl3 (3.0.20-1~deb12u2 Debian:12.15/oldstable [amd64])
        Conf librtmp1 (2.4+20151223.gitfa8646d.1-2+b2 Debian:12.15/oldstable [amd64])
        Conf curl (7.88.1-10+deb12u15 Debian:12.15/oldstable [amd64])
        Conf hello (2.10-3 Debian:12.15/oldstable [amd64])
        """;

    // apt's form for a package the base already has at another version, and for a multi-arch name.
    public const string SimulationWithUpgrade = """
        Inst libc6 [2.36-9+deb12u7] (2.36-9+deb12u14 Debian-Security:12/oldstable-security [amd64]) []
        Inst tzdata (2025b-0+deb12u2 Debian:12.15/oldstable-updates [all])
        Inst libfoo1:i386 (1.2-3 Debian:12.15/oldstable [i386])
        """;

    public const string Show = """
        Package: hello
        Version: 2.10-3
        Installed-Size: 277
        Maintainer: Santiago Vila <sanvila@debian.org>
        Architecture: amd64
        Replaces: hello-debhelper (<< 2.9), hello-traditional
        Depends: libc6 (>= 2.34)
        Description-en: example package based on GNU hello
         The GNU hello program produces a familiar, friendly greeting.  It
         allows non-programmers to use a classic computer science tool which
         .
         SHA256: this continuation line is not a field
        Description-md5: c4a4aec43084cfb4a44c959b27e3a6d6
        Homepage: https://www.gnu.org/software/hello/
        Tag: devel::debian, devel::examples, devel::lang:c, devel::lang:posix-shell,
         devel::packaging, implemented-in::c, interface::commandline
        Section: devel
        Priority: optional
        Filename: pool/main/h/hello/hello_2.10-3_amd64.deb
        Size: 53080
        MD5sum: d04c2e9639dee67aa836d8232b1ca658
        SHA256: 2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a

        Package: curl
        Version: 7.88.1-10+deb12u15
        Architecture: amd64
        Filename: pool/main/c/curl/curl_7.88.1-10+deb12u15_amd64.deb
        SHA256: 0dd9b6bf7a0bd11af2d68a52ec44c2a223fa7c11f9104c36ce1047e1137d4a8f

        """;

    public const string Policy = """
        libssl3:
          Installed: (none)
          Candidate: 3.0.22-1~deb12u2
          Version table:
             3.0.22-1~deb12u2 500
                500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
             3.0.20-1~deb12u2 500
                500 http://deb.debian.org/debian bookworm/main amd64 Packages
             3.0.17-1~deb12u2 500
                500 http://deb.debian.org/debian bookworm-updates/main amd64 Packages
        hello:
          Installed: (none)
          Candidate: 2.10-3
          Version table:
             2.10-3 500
                500 http://deb.debian.org/debian bookworm/main amd64 Packages
        libc6:
          Installed: 2.36-9+deb12u14
          Candidate: 2.36-9+deb12u14
          Version table:
         *** 2.36-9+deb12u14 500
                500 http://deb.debian.org/debian bookworm/main amd64 Packages
                100 /var/lib/dpkg/status
             2.36-9+deb12u7 500
                500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
        """;

    public const string ReleaseDates = """
        Date: Fri, 20 Nov 2026 00:12:41 UTC
        Date: Fri, 20 Nov 2026 02:11:10 UTC
        Date: Sat, 11 Jul 2026 10:16:37 UTC
        """;

    public const string DpkgQuery = "ii \tadduser\t3.134\tall\nii \tapt\t2.6.1\tamd64\nrc \told-conf\t1.0\tamd64\nii \tbash\t5.2.15-2+b13\tamd64\n";

    public const string VersionNotFound = """
        Reading package lists...
        Building dependency tree...
        Package hello is a virtual package provided by:
          hello-traditional 2.10-6

        E: Version '9.9' for 'hello' was not found
        """;
}
