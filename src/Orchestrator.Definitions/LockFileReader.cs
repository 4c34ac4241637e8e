using System.Globalization;
using System.Text.RegularExpressions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Locks;
using Orchestrator.Core.References;
using Orchestrator.Definitions.Yaml;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Definitions;

/// <summary>
/// Reads pipelines/NAME.lock.yaml into a <see cref="PipelineLock"/>. Malformed YAML, unknown or missing
/// keys, bad digests and bad SHA-256 values are reported at file:line:column; since the file is
/// generated, the fix is always to write it again with <c>orchestrator lock</c>.
/// </summary>
public static partial class LockFileReader
{
    private static readonly string[] TopKeys = ["lock-version", "pipeline", "inputs-checksum", "source-date-epoch", "base", "packages", "build-base", "build-packages", "python-packages"];
    private static readonly string[] PythonPackageKeys = ["name", "version", "sha256"];
    private static readonly string[] BaseKeys = ["name", "reference", "digest", "packages"];
    private static readonly string[] PackageKeys = ["name", "version", "architecture", "sha256", "direct"];
    private static readonly string[] BasePackageKeys = ["name", "version", "architecture"];

    /// <summary>Reads and checks the lock at <paramref name="path"/>.</summary>
    /// <exception cref="DefinitionException">The file is missing, malformed or has invalid values; every problem with file:line:column.</exception>
    public static async Task<PipelineLock> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var diagnostics = new Diagnostics();
        var file = SourceFile.For(path, diagnostics);
        var root = await file.LoadAsync(cancellationToken).ConfigureAwait(false);
        var result = root is null ? null : Read(file, root);
        return diagnostics.Count > 0 || result is null ? throw new DefinitionException(diagnostics.Sorted()) : result;
    }

    /// <summary>The lock, or null when the file has errors (reported to the file's diagnostics).</summary>
    internal static PipelineLock? Read(SourceFile file, YamlNode root)
    {
        var before = file.Diagnostics.Count;
        var fix = RegenerateFix(file);
        var reader = MappingReader.Of(file, root, "the lock", TopKeys);
        if (reader is null)
        {
            return null;
        }

        var version = reader.Int("lock-version", "1");
        if (version is { } v && v.Value != PipelineLock.CurrentVersion)
        {
            file.Error(v.Node, $"lock-version {v.Value} is not one this orchestrator reads (it reads {PipelineLock.CurrentVersion})", fix);
        }
        else if (version is null && reader.Raw("lock-version") is null)
        {
            RequireKey(file, reader, "lock-version", fix);
        }

        var pipeline = reader.String("pipeline", required: true, example: file.BaseName);
        var checksum = reader.String("inputs-checksum", required: true, example: "sha256:…");
        if (checksum is { } c && !Sha256Digest().IsMatch(c.Value))
        {
            file.Error(c.Node, $"inputs-checksum '{c.Value}' is not 'sha256:' and 64 lower-case hex digits", fix);
        }

        var epochText = reader.String("source-date-epoch", required: true, example: "1700000000");
        long? epoch = null;
        if (epochText is { } e)
        {
            if (long.TryParse(e.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                epoch = seconds;
            }
            else
            {
                file.Error(e.Node, $"source-date-epoch '{e.Value}' is not a number of seconds since 1970-01-01", fix);
            }
        }

        var lockedBase = ReadBase(file, reader, fix, "base", required: true);
        var packages = ReadPackages(file, reader, fix, "packages", required: true);
        var buildBase = ReadBase(file, reader, fix, "build-base", required: false);
        var buildPackages = buildBase is null ? [] : ReadPackages(file, reader, fix, "build-packages", required: true);
        var pythonPackages = ReadPythonPackages(file, reader, fix);

        if (file.Diagnostics.Count != before || pipeline is null || checksum is null || epoch is null || lockedBase is null)
        {
            return null;
        }

        var result = new PipelineLock(version!.Value.Value, pipeline.Value.Value, checksum.Value.Value, lockedBase, epoch.Value, packages);
        result = buildBase is null ? result : result with { BuildBase = buildBase, BuildPackages = buildPackages };
        return pythonPackages.Count == 0 ? result : result with { PythonPackages = pythonPackages };
    }

    /// <summary>The optional <c>python-packages:</c> list: name, version and sha256 of what pip resolved.</summary>
    private static List<LockedPythonPackage> ReadPythonPackages(SourceFile file, MappingReader reader, string fix)
    {
        var result = new List<LockedPythonPackage>();
        var items = reader.List("python-packages", "Python packages", example: "[{ name: greet, version: \"1.0.0\", sha256: … }]");
        for (var i = 0; i < (items?.Count ?? 0); i++)
        {
            var item = MappingReader.Of(file, items![i], $"python-packages[{i}]", PythonPackageKeys);
            var name = item?.String("name", required: true, example: "greet");
            var version = item?.String("version", required: true, example: "\"1.0.0\"");
            var sha256 = item?.String("sha256", required: true, example: "64 hex digits");
            if (sha256 is { } s && !Sha256Hex().IsMatch(s.Value))
            {
                file.Error(s.Node, $"sha256 '{s.Value}' of python-packages[{i}] is not 64 lower-case hex digits", fix);
                continue;
            }

            if (name is not null && version is not null && sha256 is not null)
            {
                result.Add(new LockedPythonPackage(name.Value.Value, version.Value.Value, sha256.Value.Value));
            }
        }

        return result;
    }

    private static LockedBase? ReadBase(SourceFile file, MappingReader reader, string fix, string key, bool required)
    {
        var node = reader.Mapping(key, BaseKeys, required: required, what: $"'{key}'");
        if (node is null)
        {
            return null;
        }

        var name = node.String("name", required: true, example: "debian-bookworm/slim");
        var referenceText = node.String("reference", required: true, example: "127.0.0.1:5001/base/debian-bookworm:slim");
        ImageReference? reference = null;
        if (referenceText is { } r)
        {
            if (ImageReference.TryParse(r.Value, out var parsed, out var error))
            {
                reference = parsed;
            }
            else
            {
                file.Error(r.Node, $"base reference '{r.Value}' is invalid: {error}", fix);
            }
        }

        var digest = ReadDigest(file, node.String("digest", required: true, example: "sha256:…"), fix);
        var packages = new List<InstalledPackage>();
        var items = node.List("packages", "packages");
        for (var i = 0; i < (items?.Count ?? 0); i++)
        {
            var item = MappingReader.Of(file, items![i], $"base.packages[{i}]", BasePackageKeys);
            var packageName = item?.String("name", required: true, example: "libc6");
            var packageVersion = item?.String("version", required: true, example: "\"2.36-9\"");
            var architecture = item?.String("architecture", required: true, example: "amd64");
            if (packageName is not null && packageVersion is not null && architecture is not null)
            {
                packages.Add(new InstalledPackage(packageName.Value.Value, packageVersion.Value.Value, architecture.Value.Value));
            }
        }

        return name is null || reference is null || digest is null ? null : new LockedBase(name.Value.Value, reference, digest) { Packages = packages };
    }

    private static List<LockedPackage> ReadPackages(SourceFile file, MappingReader reader, string fix, string key, bool required)
    {
        var result = new List<LockedPackage>();
        var items = reader.List(key, "packages", required: required, example: "[{ name: hello, version: \"2.10-3\", architecture: amd64, sha256: …, direct: true }]");
        for (var i = 0; i < (items?.Count ?? 0); i++)
        {
            var item = MappingReader.Of(file, items![i], $"{key}[{i}]", PackageKeys);
            if (item is null)
            {
                continue;
            }

            var name = item.String("name", required: true, example: "hello");
            var version = item.String("version", required: true, example: "\"2.10-3\"");
            var architecture = item.String("architecture", required: true, example: "amd64");
            var sha256 = item.String("sha256", required: true, example: "64 hex digits");
            if (sha256 is { } s && !Sha256Hex().IsMatch(s.Value))
            {
                file.Error(s.Node, $"sha256 '{s.Value}' of {key}[{i}] is not 64 lower-case hex digits", fix);
                sha256 = null;
            }

            var direct = item.Bool("direct");
            if (direct is null && item.Raw("direct") is null)
            {
                RequireKey(file, item, "direct", fix);
            }

            if (name is not null && version is not null && architecture is not null && sha256 is not null && direct is not null)
            {
                result.Add(new LockedPackage(name.Value.Value, version.Value.Value, architecture.Value.Value, sha256.Value.Value, direct.Value));
            }
        }

        return result;
    }

    private static Digest? ReadDigest(SourceFile file, Located<string>? text, string fix)
    {
        if (text is not { } d)
        {
            return null;
        }

        if (Digest.TryParse(d.Value, out var digest, out var error))
        {
            return digest;
        }

        file.Error(d.Node, $"base digest '{d.Value}' is invalid: {error}", fix);
        return null;
    }

    private static void RequireKey(SourceFile file, MappingReader reader, string key, string fix) =>
        file.Error(reader.Node, $"{reader.What} has no '{key}', which is required", fix);

    // The pipeline name is the file name without .lock.yaml.
    private static string RegenerateFix(SourceFile file)
    {
        var name = Path.GetFileName(file.FullPath);
        name = name.EndsWith(".lock.yaml", StringComparison.Ordinal) ? name[..^".lock.yaml".Length] : file.BaseName;
        return $"the lock is generated: write it again with 'orchestrator lock --update {name}' instead of editing it";
    }

    [GeneratedRegex("^sha256:[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Digest();

    [GeneratedRegex("^[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Hex();
}
