using System.Globalization;
using System.Text.RegularExpressions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Locks;
using Orchestrator.Core.References;
using Orchestrator.Definitions.Yaml;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Definitions;

/// <summary>Reads pipelines/NAME.yaml into a <see cref="PipelineDefinition"/>, reporting every problem.</summary>
internal static partial class PipelineReader
{
    private static readonly string[] TopKeys =
        ["name", "version", "base", "repository", "packages", "files", "env", "user", "workdir", "entrypoint", "cmd", "labels", "tags", "floating-tags", "validate", "auto", "python"];

    private static readonly string[] PackageKeys = ["apt"];
    private static readonly string[] Placeholders = ["version", "name"];

    /// <summary>Default time a validation command may run.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The definition, or null when the file has errors. <paramref name="bases"/> maps every base file's
    /// name to its definition, or to null when that file had errors of its own (then the base is not
    /// checked further, so one mistake is not reported twice). <paramref name="name"/> is the pipeline's
    /// name node, for the cross-file duplicate check, when it could be read.
    /// </summary>
    /// <paramref name="hasLock"/> is true when a lock file sits next to the definition (even a broken one):
    /// then packages may be written without a version, and <paramref name="pipelineLock"/> (when it could be
    /// read) supplies the version they are locked at.
    public static PipelineDefinition? Read(
        SourceFile file, YamlNode root, IReadOnlyDictionary<string, BaseImageDefinition?> bases, out Located<string>? name,
        bool hasLock = false, PipelineLock? pipelineLock = null)
    {
        name = null;
        var before = file.Diagnostics.Count;
        var reader = MappingReader.Of(file, root, "the pipeline", TopKeys);
        if (reader is null)
        {
            return null;
        }

        name = reader.String("name", required: true, example: file.BaseName);
        if (name is { } tooLong && tooLong.Value.Length > DefinitionLimits.MaxNameChars)
        {
            file.Error(tooLong.Node, $"pipeline name is {tooLong.Value.Length} characters, longer than {DefinitionLimits.MaxNameChars} characters (names become file names and tags)",
                $"choose a shorter name, and rename the file to match");
        }
        else if (name is { } n && !DefinitionRules.Name().IsMatch(n.Value))
        {
            file.Error(n.Node, $"pipeline name '{n.Value}' is invalid: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit",
                $"rename it, e.g. 'name: {Slug(n.Value)}'");
        }

        var version = reader.String("version", required: true, example: "1.0.0");
        var baseRef = ResolveBase(file, reader.String("base", required: true, example: "debian-bookworm/slim"), bases);

        var repository = reader.String("repository", required: true, example: $"apps/{file.BaseName}");
        if (repository is { } repo && !ImageReference.IsValidRepository(repo.Value, out var repositoryError))
        {
            file.Error(repo.Node, repositoryError, $"use a lower-case path such as 'repository: apps/{Slug(file.BaseName)}'");
        }

        var apt = ReadPackages(file, reader, hasLock, pipelineLock, out var unpinned);
        var files = PipelineFiles.Read(file, reader);
        var env = ReadEnv(file, reader.StringMap("env", example: "{ NAME: value }"), "env");
        var user = reader.String("user", example: "\"10001\"");
        var workdir = PipelineFiles.AbsolutePath(file, reader.String("workdir", example: "/app"), "workdir");
        var entrypoint = reader.StringList("entrypoint", example: "[\"python3\", \"/app/hello.py\"]");
        var cmd = reader.StringList("cmd", example: "[\"--help\"]");
        var labels = ReadLabels(file, reader.StringMap("labels", example: "{ team: platform }"));
        var tags = ReadTags(file, reader, name?.Value, version?.Value);
        var floatingTags = ReadFloatingTags(file, reader, tags);
        var validate = ValidateReader.Read(file, reader);
        var auto = ReadAuto(file, reader.String("auto", example: "build"));
        var python = PythonReader.Read(file, reader, baseRef, bases, (entries) => ReadAptMap(file, entries, hasLock: false, pipelineLock: null, out _), pipelineLock);

        if (file.Diagnostics.Count != before || name is null || version is null || baseRef is null || repository is null)
        {
            return null;
        }

        return new PipelineDefinition(
            name.Value.Value,
            version.Value.Value,
            file.FullPath,
            baseRef,
            repository.Value.Value,
            apt,
            files,
            env,
            user?.Value,
            workdir,
            entrypoint?.Select(e => e.Value).ToList(),
            cmd?.Select(c => c.Value).ToList(),
            labels,
            tags,
            validate)
        {
            Auto = auto,
            FloatingTags = floatingTags,
            Lock = pipelineLock,
            UnpinnedPackages = unpinned,
            Python = python,
        };
    }

    /// <summary>The <c>floating-tags:</c> key: literal tags, each one of the pipeline's rendered tags.</summary>
    private static List<string> ReadFloatingTags(SourceFile file, MappingReader reader, List<string> tags)
    {
        var result = new List<string>();
        foreach (var tag in reader.StringList("floating-tags", example: "[latest]") ?? [])
        {
            if (!tags.Contains(tag.Value, StringComparer.Ordinal))
            {
                file.Error(tag.Node, $"floating tag '{tag.Value}' is not one of the pipeline's tags ({string.Join(", ", tags)})",
                    "list only tags from 'tags' (as they render, e.g. latest), or add it to 'tags'");
                continue;
            }

            if (!result.Contains(tag.Value, StringComparer.Ordinal))
            {
                result.Add(tag.Value);
            }
        }

        return result;
    }

    /// <summary>The <c>auto:</c> key: <c>build</c> or <c>none</c>, the default.</summary>
    private static AutoMode ReadAuto(SourceFile file, Located<string>? text)
    {
        switch (text?.Value)
        {
            case null or "none":
                return AutoMode.None;
            case "build":
                return AutoMode.Build;
        }

        var value = text.Value;
        file.Error(value.Node, $"auto '{value.Value}' is neither 'build' nor 'none'",
            (Suggestions.Closest(value.Value, ["build", "none"]) is { } close ? $"did you mean '{close}'? " : string.Empty)
            + "write 'auto: build' to build when the pipeline, its lock or its base changes, or 'auto: none' (the default) to only mark it stale");
        return AutoMode.None;
    }

    internal static BaseVariantRef? ResolveBase(SourceFile file, Located<string>? text, IReadOnlyDictionary<string, BaseImageDefinition?> bases)
    {
        if (text is not { } given)
        {
            return null;
        }

        var parts = given.Value.Split('/');
        if (parts.Length > 2 || parts.Any(p => p.Length == 0))
        {
            file.Error(given.Node, $"base '{given.Value}' is not NAME or NAME/VARIANT", "write e.g. 'base: debian-bookworm/slim', or 'base: debian-bookworm' for its default variant");
            return null;
        }

        if (!bases.TryGetValue(parts[0], out var definition))
        {
            var known = bases.Keys.Order(StringComparer.Ordinal).ToList();
            file.Error(given.Node, $"unknown base image '{parts[0]}'; known bases: {(known.Count == 0 ? "(none)" : string.Join(", ", known))}",
                Suggestions.Closest(parts[0], known) is { } close
                    ? $"did you mean '{close}'? or add base-images/{parts[0]}.yaml"
                    : $"use one of the known bases, or add base-images/{parts[0]}.yaml");
            return null;
        }

        if (definition is null)
        {
            // The base's own file is broken and reported there; its variants are unknown.
            return null;
        }

        var variant = parts.Length == 2 ? parts[1] : definition.DefaultVariant;
        if (!definition.Variants.ContainsKey(variant))
        {
            var known = definition.Variants.Keys.Order(StringComparer.Ordinal).ToList();
            file.Error(given.Node, $"base image '{definition.Name}' has no variant '{variant}'; its variants: {string.Join(", ", known)}",
                Suggestions.Closest(variant, known) is { } close
                    ? $"did you mean '{definition.Name}/{close}'?"
                    : $"use one of them, e.g. 'base: {definition.Name}/{known.FirstOrDefault()}'");
            return null;
        }

        return new BaseVariantRef(definition.Name, variant);
    }

    private static List<AptPackage> ReadPackages(SourceFile file, MappingReader reader, bool hasLock, PipelineLock? pipelineLock, out List<string> unpinned)
    {
        var packages = reader.Mapping("packages", PackageKeys, what: "'packages'");
        var apt = packages?.StringMap("apt", allowEmptyValues: true, example: "{ python3-minimal: \"3.11.2-1+b1\" }");
        return ReadAptMap(file, apt, hasLock, pipelineLock, out unpinned);
    }

    /// <summary>
    /// A mapping of apt package names to exact versions (<c>packages.apt</c>, <c>python.build-packages</c>); a
    /// version may be left out only when <paramref name="hasLock"/>, and then the lock's version is used.
    /// </summary>
    private static List<AptPackage> ReadAptMap(
        SourceFile file, IReadOnlyList<(YamlScalarNode Key, Located<string>? Value)>? apt, bool hasLock, PipelineLock? pipelineLock, out List<string> unpinned)
    {
        var result = new List<AptPackage>();
        unpinned = [];
        foreach (var (key, version) in apt ?? [])
        {
            var package = key.Value!;
            var nameOk = DefinitionRules.PackageName().IsMatch(package);
            if (!nameOk)
            {
                file.Error(key, $"'{package}' is not a Debian package name",
                    "use the package's name as apt knows it: lower-case letters, digits, '+', '-', '.', at least two characters ('apt-cache search WORD' finds it)");
            }

            var pinFix = $"pin an exact version: {package}: \"{ExampleVersion(package)}\" ('apt-cache policy {package}' lists them)";
            if (version is not { } v || (hasLock && v.Value.Length == 0))
            {
                if (!hasLock)
                {
                    file.Error(key, $"apt package '{package}' has no version and the pipeline has no lock ({Path.GetFileName(PipelineDefinition.LockPathFor(file.FullPath))}); every package is pinned so a rebuild installs the same bytes", pinFix);
                    continue;
                }

                // The lock pins it; a package the lock does not list yet keeps "" until 'orchestrator lock' runs.
                if (nameOk && result.All(p => p.Name != package))
                {
                    unpinned.Add(package);
                    result.Add(new AptPackage(package, pipelineLock?.Packages.FirstOrDefault(p => p.Name == package)?.Version ?? string.Empty));
                }

                continue;
            }

            if (!DefinitionRules.DebianVersion().IsMatch(v.Value))
            {
                file.Error(v.Node, $"apt package '{package}' has version '{v.Value}', which is not an exact Debian version (no wildcards, ranges or 'latest')", pinFix);
                continue;
            }

            if (result.Any(p => p.Name == package))
            {
                continue;
            }

            if (nameOk)
            {
                result.Add(new AptPackage(package, v.Value));
            }
        }

        return result;
    }

    private static string ExampleVersion(string package) => package == "python3-minimal" ? "3.11.2-1+b1" : "VERSION";

    internal static List<KeyValuePair<string, string>> ReadEnv(SourceFile file, IReadOnlyList<(YamlScalarNode Key, Located<string>? Value)>? entries, string key)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var (name, value) in entries ?? [])
        {
            if (!DefinitionRules.EnvName().IsMatch(name.Value!))
            {
                file.Error(name, $"'{name.Value}' in '{key}' is not an environment variable name", "use letters, digits and '_', not starting with a digit");
                continue;
            }

            if (value is { } v)
            {
                result.Add(new(name.Value!, v.Value));
            }
        }

        return result;
    }

    internal static List<KeyValuePair<string, string>> ReadLabels(SourceFile file, IReadOnlyList<(YamlScalarNode Key, Located<string>? Value)>? entries)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var (name, value) in entries ?? [])
        {
            if (name.Value!.Length == 0 || name.Value.Any(char.IsWhiteSpace))
            {
                file.Error(name, $"label key '{name.Value}' is empty or has spaces", "use a key like 'team' or 'org.opencontainers.image.source'");
                continue;
            }

            if (value is { } v)
            {
                result.Add(new(name.Value, v.Value));
            }
        }

        return result;
    }

    private static List<string> ReadTags(SourceFile file, MappingReader reader, string? name, string? version)
    {
        var result = new List<string>();
        var tags = reader.StringList("tags", example: "[\"{version}\", latest]");
        if (tags is null)
        {
            // Without tags a pushed image would be reachable by digest only; the version is the least surprise.
            if (reader.Raw("tags") is null && version is not null && ImageReference.IsValidTag(version, out _))
            {
                result.Add(version);
            }

            return result;
        }

        if (tags.Count == 0)
        {
            file.Error(reader.Raw("tags")!, "'tags' is empty; the image would only be reachable by digest", "add at least one, e.g. 'tags: [\"{version}\"]'");
        }

        var seen = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            var unknown = PlaceholderPattern().Matches(tag.Value).Select(m => m.Groups[1].Value).Where(p => !Placeholders.Contains(p)).ToList();
            if (unknown.Count > 0)
            {
                file.Error(tag.Node, $"tag '{tag.Value}' uses unknown placeholder{(unknown.Count > 1 ? "s" : string.Empty)} {string.Join(", ", unknown.Select(u => "{" + u + "}"))}",
                    "use only {version} and {name}, or literal text");
                continue;
            }

            if (name is null || version is null)
            {
                continue;
            }

            var rendered = tag.Value.Replace("{version}", version, StringComparison.Ordinal).Replace("{name}", name, StringComparison.Ordinal);
            if (!ImageReference.IsValidTag(rendered, out var tagError))
            {
                file.Error(tag.Node, $"tag '{tag.Value}' renders to '{rendered}': {tagError}",
                    tag.Value.Contains('{') ? "change the template or the version so the tag is valid ('+' is not allowed in tags)" : "fix the tag");
                continue;
            }

            if (seen.TryGetValue(rendered, out var first))
            {
                file.Error(tag.Node, $"tag '{tag.Value}' renders to '{rendered}', the same as the tag at line {first.Start.Line}", "remove one of them");
                continue;
            }

            seen[rendered] = tag.Node;
            result.Add(rendered);
        }

        return result;
    }

    private static string Slug(string value)
    {
        var slug = Regex.Replace(value.ToLowerInvariant(), "[^a-z0-9._-]+", "-").Trim('-', '.', '_');
        return slug.Length == 0 ? "my-app" : slug;
    }

    [GeneratedRegex(@"\{([^{}]*)\}", RegexOptions.CultureInvariant)]
    private static partial Regex PlaceholderPattern();

}
