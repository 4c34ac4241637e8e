using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Sbom;

/// <summary>One installed Debian package, as <c>dpkg-query</c> reports it.</summary>
/// <param name="Name">The package name, e.g. <c>hello</c>.</param>
/// <param name="Version">The full Debian version, with any epoch, e.g. <c>2.10-3</c> or <c>1:2.38-4</c>.</param>
/// <param name="Architecture">The dpkg architecture, e.g. <c>amd64</c> or <c>all</c>.</param>
public sealed record DpkgPackage(string Name, string Version, string Architecture)
{
    /// <summary>
    /// The package URL (purl spec, type <c>deb</c>):
    /// <c>pkg:deb/debian/NAME@VERSION?arch=ARCH&amp;distro=debian-12</c>, name and version percent-encoded
    /// (an epoch's <c>:</c> becomes <c>%3A</c>, <c>+</c> becomes <c>%2B</c>).
    /// </summary>
    public string ToPurl(string distro = SpdxDocument.DebianDistro) =>
        $"pkg:deb/debian/{Uri.EscapeDataString(Name)}@{Uri.EscapeDataString(Version)}?arch={Uri.EscapeDataString(Architecture)}&distro={distro}";
}

/// <summary>A Python distribution in an SBOM: its PEP 503 normalized name, exact version and, when known, the wheel's SHA-256.</summary>
/// <param name="Name">The normalized name (<c>greet</c>, <c>hello-devtools</c>).</param>
/// <param name="Version">The exact version.</param>
/// <param name="Sha256">64 lower-case hex digits, or null when the requirement accepts several files.</param>
public sealed record PypiPackage(string Name, string Version, string? Sha256)
{
    /// <summary>The package URL (purl spec, type <c>pypi</c>): <c>pkg:pypi/NAME@VERSION</c>.</summary>
    public string ToPurl() => $"pkg:pypi/{Uri.EscapeDataString(Name)}@{Uri.EscapeDataString(Version)}";

    /// <summary>What a pipeline's runtime requirements install: every pinned requirement, with its hash when it names one.</summary>
    public static IReadOnlyList<PypiPackage> From(Definitions.PythonSpec? python) =>
        python is null ? [] : python.Requirements.Select(r => new PypiPackage(r.NormalizedName, r.Version, r.Sha256.Count == 1 ? r.Sha256[0] : null)).ToList();
}

/// <summary>Reads the output of <c>dpkg-query -W -f '<see cref="QueryFormat"/>'</c>.</summary>
public static class DpkgStatus
{
    /// <summary>The <c>dpkg-query -f</c> format: name, version, architecture and status, tab separated, one package a line.</summary>
    public const string QueryFormat = "${Package}\t${Version}\t${Architecture}\t${Status}\n";

    /// <summary>
    /// The installed packages in <paramref name="output"/>: lines whose status (<c>want flag status</c>)
    /// ends in <c>installed</c>; removed, config-files-only and half-installed packages are left out.
    /// Lines that are not four tab-separated fields are ignored.
    /// </summary>
    public static IReadOnlyList<DpkgPackage> ParseInstalled(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var packages = new List<DpkgPackage>();
        foreach (var raw in output.Split('\n'))
        {
            var fields = raw.TrimEnd('\r').Split('\t');
            if (fields.Length != 4 || fields[0].Length == 0 || fields[1].Length == 0)
            {
                continue;
            }

            var status = fields[3].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (status.Length == 3 && status[2] == "installed")
            {
                packages.Add(new DpkgPackage(fields[0], fields[1], fields[2]));
            }
        }

        return packages;
    }
}

/// <summary>
/// An SPDX 2.3 JSON document (SPDX spec 2.3, clauses 6 "Document creation information", 7 "Package
/// information" and 11 "Relationships") describing one image: a package for the image itself
/// (<c>primaryPackagePurpose: CONTAINER</c>, purl <c>pkg:oci/NAME@sha256%3A…</c>) that CONTAINS one
/// package per installed dpkg package (supplier Debian, purl <c>pkg:deb/debian/…</c>). The bytes
/// depend only on the image, the packages and the creation time: packages are sorted by name, version
/// and architecture and properties are always written in the same order, so the same inputs give the
/// same bytes (and so the same blob digest).
/// </summary>
/// <remarks>
/// A Python pipeline's pinned requirements are listed too, as <c>pkg:pypi/NAME@VERSION</c> packages (supplier
/// NOASSERTION) with the wheel's SHA-256 where the requirement names exactly one.
/// </remarks>
public sealed class SpdxDocument
{
    /// <summary>The media type of an SPDX JSON document, also used as the OCI artifact type.</summary>
    public const string MediaType = "application/spdx+json";

    /// <summary>The purl <c>distro</c> qualifier of the bases Orchestrator builds (Debian 12, bookworm).</summary>
    public const string DebianDistro = "debian-12";

    /// <summary>The URI prefix of every <c>documentNamespace</c>; the image digest follows.</summary>
    public const string NamespacePrefix = "https://orchestrator.invalid/spdx/";

    private const string ImageId = "SPDXRef-Image";

    private SpdxDocument(string repository, Digest digest, IReadOnlyList<DpkgPackage> packages, IReadOnlyList<PypiPackage> pythonPackages, DateTimeOffset created)
    {
        Repository = repository;
        Digest = digest;
        Packages = packages;
        PythonPackages = pythonPackages;
        Created = created;
    }

    /// <summary>The image's repository, without a registry host (<c>apps/hello</c>), so the document reads the same in every stage.</summary>
    public string Repository { get; }

    /// <summary>The image's manifest digest.</summary>
    public Digest Digest { get; }

    /// <summary>The packages, sorted by name, version, architecture (ordinal), duplicates removed.</summary>
    public IReadOnlyList<DpkgPackage> Packages { get; }

    /// <summary>The Python packages installed from pinned requirements, sorted by normalized name then version, duplicates removed.</summary>
    public IReadOnlyList<PypiPackage> PythonPackages { get; }

    /// <summary>The creation time, truncated to whole seconds (SPDX writes <c>YYYY-MM-DDThh:mm:ssZ</c>).</summary>
    public DateTimeOffset Created { get; }

    /// <summary>The document's name: <c>REPOSITORY@DIGEST</c>.</summary>
    public string Name => $"{Repository}@{Digest}";

    /// <summary>The document namespace, a URI derived from the digest only: <c>https://orchestrator.invalid/spdx/sha256/HEX</c>.</summary>
    public string Namespace => $"{NamespacePrefix}{Digest.Algorithm}/{Digest.Encoded}";

    /// <summary>The image's package URL (purl spec, type <c>oci</c>): the last path segment of the repository, the digest as version.</summary>
    public string ImagePurl => $"pkg:oci/{Uri.EscapeDataString(Repository[(Repository.LastIndexOf('/') + 1)..].ToLowerInvariant())}@{Uri.EscapeDataString(Digest.ToString())}";

    /// <summary>Describes <paramref name="image"/> (which must carry a digest) containing <paramref name="packages"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="image"/> has no digest.</exception>
    public static SpdxDocument Create(ImageReference image, IEnumerable<DpkgPackage> packages, DateTimeOffset created, IEnumerable<PypiPackage>? pythonPackages = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(packages);
        var digest = image.Digest ?? throw new ArgumentException($"{image} has no digest: an SBOM describes one digest", nameof(image));
        var sorted = packages
            .Distinct()
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.Version, StringComparer.Ordinal)
            .ThenBy(p => p.Architecture, StringComparer.Ordinal)
            .ToList();
        var seconds = created.ToUniversalTime();
        seconds = new DateTimeOffset(seconds.Ticks - (seconds.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        var python = (pythonPackages ?? [])
            .Distinct()
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.Version, StringComparer.Ordinal)
            .ToList();
        return new SpdxDocument(image.Repository, digest, sorted, python, seconds);
    }

    /// <summary>The document as SPDX 2.3 JSON, UTF-8, indented with two spaces, ending in a newline.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("spdxVersion", "SPDX-2.3");
            json.WriteString("dataLicense", "CC0-1.0");
            json.WriteString("SPDXID", "SPDXRef-DOCUMENT");
            json.WriteString("name", Name);
            json.WriteString("documentNamespace", Namespace);
            json.WriteStartObject("creationInfo");
            json.WriteString("created", Created.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            json.WriteStartArray("creators");
            json.WriteStringValue("Tool: orchestrator");
            json.WriteEndArray();
            json.WriteEndObject();

            var ids = PackageIds();
            json.WriteStartArray("packages");
            WritePackage(json, ImageId, Repository, Digest.ToString(), "NOASSERTION", ImagePurl, "CONTAINER");
            for (var i = 0; i < Packages.Count; i++)
            {
                var package = Packages[i];
                WritePackage(json, ids[i], package.Name, package.Version, "Organization: Debian", package.ToPurl(), purpose: null);
            }

            for (var i = 0; i < PythonPackages.Count; i++)
            {
                var package = PythonPackages[i];
                WritePackage(json, ids[Packages.Count + i], package.Name, package.Version, "NOASSERTION", package.ToPurl(), purpose: null, package.Sha256);
            }

            json.WriteEndArray();

            json.WriteStartArray("relationships");
            WriteRelationship(json, "SPDXRef-DOCUMENT", "DESCRIBES", ImageId);
            foreach (var id in ids)
            {
                WriteRelationship(json, ImageId, "CONTAINS", id);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    // SPDX ids allow letters, digits, '.' and '-' only; a collision after replacing the rest gets a counter.
    private List<string> PackageIds()
    {
        var used = new HashSet<string>(StringComparer.Ordinal) { ImageId };
        var ids = new List<string>(Packages.Count + PythonPackages.Count);
        var candidates = Packages.Select(p => $"SPDXRef-deb-{p.Name}-{p.Version}-{p.Architecture}")
            .Concat(PythonPackages.Select(p => $"SPDXRef-pypi-{p.Name}-{p.Version}"));
        foreach (var candidate in candidates)
        {
            var id = Sanitize(candidate);
            var unique = id;
            for (var n = 2; !used.Add(unique); n++)
            {
                unique = $"{id}-{n}";
            }

            ids.Add(unique);
        }

        return ids;
    }

    private static string Sanitize(string id)
    {
        var builder = new StringBuilder(id.Length);
        foreach (var c in id)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : '-');
        }

        return builder.ToString();
    }

    private static void WritePackage(Utf8JsonWriter json, string id, string name, string version, string supplier, string purl, string? purpose, string? sha256 = null)
    {
        json.WriteStartObject();
        json.WriteString("SPDXID", id);
        json.WriteString("name", name);
        json.WriteString("versionInfo", version);
        json.WriteString("supplier", supplier);
        json.WriteString("downloadLocation", "NOASSERTION");
        json.WriteBoolean("filesAnalyzed", false);
        if (sha256 is not null)
        {
            json.WriteStartArray("checksums");
            json.WriteStartObject();
            json.WriteString("algorithm", "SHA256");
            json.WriteString("checksumValue", sha256);
            json.WriteEndObject();
            json.WriteEndArray();
        }

        if (purpose is not null)
        {
            json.WriteString("primaryPackagePurpose", purpose);
        }

        json.WriteStartArray("externalRefs");
        json.WriteStartObject();
        json.WriteString("referenceCategory", "PACKAGE-MANAGER");
        json.WriteString("referenceType", "purl");
        json.WriteString("referenceLocator", purl);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteRelationship(Utf8JsonWriter json, string from, string type, string to)
    {
        json.WriteStartObject();
        json.WriteString("spdxElementId", from);
        json.WriteString("relationshipType", type);
        json.WriteString("relatedSpdxElement", to);
        json.WriteEndObject();
    }
}
