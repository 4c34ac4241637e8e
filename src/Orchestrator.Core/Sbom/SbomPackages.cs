using System.Text.Json;

namespace Orchestrator.Core.Sbom;

/// <summary>
/// The packages an SBOM lists, read back from its package URLs: Debian packages (<c>pkg:deb/…</c>) and Python
/// distributions (<c>pkg:pypi/…</c>). Other packages (the image itself, <c>pkg:oci/…</c>) are not counted.
/// </summary>
/// <param name="Apt">dpkg packages, in document order.</param>
/// <param name="Python">Python distributions, in document order.</param>
public sealed record SbomPackages(IReadOnlyList<DpkgPackage> Apt, IReadOnlyList<PypiPackage> Python)
{
    /// <summary>No package at all.</summary>
    public static SbomPackages Empty { get; } = new([], []);

    /// <summary>
    /// Reads an SPDX 2.3 JSON document (as <see cref="SpdxDocument.ToJson"/> writes it, or any tool that gives each
    /// package a <c>PACKAGE-MANAGER</c> <c>purl</c> external reference, purl spec types <c>deb</c> and <c>pypi</c>).
    /// The version is the purl's (percent-decoded); the architecture is its <c>arch</c> qualifier, else <c>all</c>.
    /// A package without such a purl is skipped.
    /// </summary>
    /// <exception cref="FormatException">The bytes are not JSON, or have no <c>packages</c> array: not an SPDX JSON document.</exception>
    public static SbomPackages Read(ReadOnlySpan<byte> spdxJson)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(spdxJson.ToArray());
        }
        catch (JsonException ex)
        {
            throw new FormatException($"the SBOM is not JSON: {ex.Message}", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("packages", out var packages)
                || packages.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("the SBOM has no 'packages' array: it is not an SPDX 2.x JSON document");
            }

            var apt = new List<DpkgPackage>();
            var python = new List<PypiPackage>();
            foreach (var package in packages.EnumerateArray())
            {
                switch (PurlOf(package))
                {
                    case { Type: "deb" } purl:
                        apt.Add(new DpkgPackage(purl.Name, purl.Version, purl.Qualifiers.GetValueOrDefault("arch", "all")));
                        break;
                    case { Type: "pypi" } purl:
                        python.Add(new PypiPackage(Definitions.PythonRequirement.Normalize(purl.Name), purl.Version, Sha256Of(package)));
                        break;
                }
            }

            return new SbomPackages(apt, python);
        }
    }

    private static Purl? PurlOf(JsonElement package)
    {
        if (package.ValueKind != JsonValueKind.Object || !package.TryGetProperty("externalRefs", out var references) || references.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var reference in references.EnumerateArray())
        {
            if (reference.ValueKind == JsonValueKind.Object
                && reference.TryGetProperty("referenceType", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "purl"
                && reference.TryGetProperty("referenceLocator", out var locator) && locator.ValueKind == JsonValueKind.String
                && Purl.TryParse(locator.GetString()!) is { } purl)
            {
                return purl;
            }
        }

        return null;
    }

    private static string? Sha256Of(JsonElement package)
    {
        if (!package.TryGetProperty("checksums", out var checksums) || checksums.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var checksum in checksums.EnumerateArray())
        {
            if (checksum.ValueKind == JsonValueKind.Object
                && checksum.TryGetProperty("algorithm", out var algorithm) && algorithm.ValueKind == JsonValueKind.String && algorithm.GetString() == "SHA256"
                && checksum.TryGetProperty("checksumValue", out var value) && value.ValueKind == JsonValueKind.String)
            {
                return value.GetString();
            }
        }

        return null;
    }

    // pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS#SUBPATH (purl spec): only what the diff needs.
    private sealed record Purl(string Type, string Name, string Version, IReadOnlyDictionary<string, string> Qualifiers)
    {
        public static Purl? TryParse(string text)
        {
            if (!text.StartsWith("pkg:", StringComparison.Ordinal))
            {
                return null;
            }

            var rest = text[4..];
            var hash = rest.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0)
            {
                rest = rest[..hash];
            }

            var qualifiers = new Dictionary<string, string>(StringComparer.Ordinal);
            var question = rest.IndexOf('?', StringComparison.Ordinal);
            if (question >= 0)
            {
                foreach (var pair in rest[(question + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
                {
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    if (equals > 0)
                    {
                        qualifiers[pair[..equals].ToLowerInvariant()] = Uri.UnescapeDataString(pair[(equals + 1)..]);
                    }
                }

                rest = rest[..question];
            }

            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            var at = rest.LastIndexOf('@');
            if (slash <= 0 || at < slash || at == rest.Length - 1)
            {
                return null;
            }

            var path = rest[(slash + 1)..at];
            var name = path[(path.LastIndexOf('/') + 1)..];
            return name.Length == 0
                ? null
                : new Purl(rest[..slash].ToLowerInvariant(), Uri.UnescapeDataString(name), Uri.UnescapeDataString(rest[(at + 1)..]), qualifiers);
        }
    }
}
