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
    private static readonly string[] FileKeys = ["src", "dest", "mode"];
    private static readonly string[] ValidateKeys = ["commands", "files", "metadata", "max-size-mb"];
    private static readonly string[] CommandKeys = ["name", "run", "expect-exit", "expect-stdout", "expect-stderr", "timeout-seconds"];
    private static readonly string[] FileTestKeys = ["path", "exists"];
    private static readonly string[] MetadataKeys = ["user", "env", "entrypoint", "cmd", "workdir", "labels"];
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
        var files = ReadFiles(file, reader);
        var env = ReadEnv(file, reader.StringMap("env", example: "{ NAME: value }"), "env");
        var user = reader.String("user", example: "\"10001\"");
        var workdir = AbsolutePath(file, reader.String("workdir", example: "/app"), "workdir");
        var entrypoint = reader.StringList("entrypoint", example: "[\"python3\", \"/app/hello.py\"]");
        var cmd = reader.StringList("cmd", example: "[\"--help\"]");
        var labels = ReadLabels(file, reader.StringMap("labels", example: "{ team: platform }"));
        var tags = ReadTags(file, reader, name?.Value, version?.Value);
        var floatingTags = ReadFloatingTags(file, reader, tags);
        var validate = ReadValidate(file, reader);
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

    private static List<FileCopy> ReadFiles(SourceFile file, MappingReader reader)
    {
        var result = new List<FileCopy>();
        var items = reader.List("files", "mappings with src and dest", example: "[{ src: app/main.py, dest: /app/main.py }]");
        for (var i = 0; i < (items?.Count ?? 0); i++)
        {
            var item = MappingReader.Of(file, items![i], $"files[{i}]", FileKeys);
            if (item is null)
            {
                continue;
            }

            var source = Source(file, item.String("src", required: true, example: "app/main.py"));
            var dest = AbsolutePath(file, item.String("dest", required: true, example: "/app/main.py"), "dest");
            var mode = Mode(file, item.String("mode", example: "\"0755\""));
            if (source is not null && dest is not null)
            {
                result.Add(new FileCopy(source, dest, mode));
            }
        }

        return result;
    }

    /// <summary>
    /// The source's absolute path, when it names an existing file inside the pipeline's folder, following
    /// symlinks: a link out of the folder would let a definition copy any file on the build machine.
    /// </summary>
    internal static string? Source(SourceFile file, Located<string>? text)
    {
        if (text is not { } src)
        {
            return null;
        }

        var folder = file.Directory;
        if (Path.IsPathRooted(src.Value))
        {
            file.Error(src.Node, $"src '{src.Value}' is an absolute path; sources are relative to the pipeline's folder ({folder})",
                "copy the file next to the pipeline definition and name it relative to it, e.g. 'src: app/main.py'");
            return null;
        }

        var full = Path.GetFullPath(src.Value, folder);
        if (!IsInside(full, folder))
        {
            file.Error(src.Node, $"src '{src.Value}' leaves the pipeline's folder ({folder})",
                "copy the file into the pipeline's folder and name it without '..'");
            return null;
        }

        if (System.IO.Directory.Exists(full))
        {
            file.Error(src.Node, $"src '{src.Value}' is a folder; each entry copies one file", "list the files one by one");
            return null;
        }

        if (!System.IO.File.Exists(full))
        {
            file.Error(src.Node, $"src '{src.Value}' does not exist (looked for {full})", "create the file, or fix the path (it is relative to the pipeline's folder)");
            return null;
        }

        if (!IsInside(RealPath.Resolve(full), RealPath.Resolve(folder)))
        {
            file.Error(src.Node, $"src '{src.Value}' is a symlink (or under one) that resolves to {RealPath.Resolve(full)}, outside the pipeline's folder",
                "copy the file itself into the pipeline's folder instead of linking to it");
            return null;
        }

        return full;
    }

    internal static bool IsInside(string path, string folder) =>
        path.StartsWith(Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static string? AbsolutePath(SourceFile file, Located<string>? text, string key)
    {
        if (text is not { } path)
        {
            return null;
        }

        if (!path.Value.StartsWith('/'))
        {
            file.Error(path.Node, $"{key} '{path.Value}' is not an absolute path in the image", $"start it with '/', e.g. '{key}: /{path.Value.TrimStart('.', '/')}'");
            return null;
        }

        if (path.Value.Split('/').Contains(".."))
        {
            file.Error(path.Node, $"{key} '{path.Value}' contains '..'", $"write the path without '..', e.g. '{key}: {Path.GetFullPath(path.Value).Replace('\\', '/')}'");
            return null;
        }

        return path.Value;
    }

    private static int? Mode(SourceFile file, Located<string>? text)
    {
        if (text is not { } mode)
        {
            return null;
        }

        if (!OctalMode().IsMatch(mode.Value))
        {
            file.Error(mode.Node, $"mode '{mode.Value}' is not an octal permission like \"0644\" or \"0755\"", "write it quoted, e.g. 'mode: \"0755\"'");
            return null;
        }

        return Convert.ToInt32(mode.Value, 8);
    }

    private static List<KeyValuePair<string, string>> ReadEnv(SourceFile file, IReadOnlyList<(YamlScalarNode Key, Located<string>? Value)>? entries, string key)
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

    private static List<KeyValuePair<string, string>> ReadLabels(SourceFile file, IReadOnlyList<(YamlScalarNode Key, Located<string>? Value)>? entries)
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

    private static ValidationSpec ReadValidate(SourceFile file, MappingReader reader)
    {
        var validate = reader.Mapping("validate", ValidateKeys, what: "'validate'");
        if (validate is null)
        {
            return ValidationSpec.Empty;
        }

        var commands = new List<CommandTest>();
        var commandItems = validate.List("commands", "command tests", example: "[{ name: works, run: [\"true\"] }]");
        var names = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        for (var i = 0; i < (commandItems?.Count ?? 0); i++)
        {
            var item = MappingReader.Of(file, commandItems![i], $"validate.commands[{i}]", CommandKeys);
            if (item is null)
            {
                continue;
            }

            var name = item.String("name", required: true, example: "interpreter works");
            if (name is { } n)
            {
                if (names.TryGetValue(n.Value, out var first))
                {
                    file.Error(n.Node, $"command test name '{n.Value}' is used twice (first at line {first.Start.Line}); results are reported by name", "give each test its own name");
                }
                else
                {
                    names[n.Value] = n.Node;
                }
            }

            var run = item.StringList("run", required: true, example: "[\"python3\", \"-c\", \"print(6*7)\"]");
            if (run is { Count: 0 })
            {
                file.Error(item.Raw("run")!, $"'run' in validate.commands[{i}] is empty; there is nothing to run", "give the argument vector, e.g. 'run: [\"python3\", \"--version\"]'");
            }

            var exit = item.Int("expect-exit", "0");
            if (exit is { } e && e.Value is < 0 or > 255)
            {
                file.Error(e.Node, $"expect-exit {e.Value} is not an exit code", "use a number from 0 to 255");
            }

            var stdout = Pattern(file, item.String("expect-stdout", example: "\"^42$\""), "expect-stdout");
            var stderr = Pattern(file, item.String("expect-stderr", example: "\"^$\""), "expect-stderr");
            var timeout = item.Int("timeout-seconds", "60");
            if (timeout is { } t && t.Value <= 0)
            {
                file.Error(t.Node, $"timeout-seconds {t.Value} must be greater than 0", "write e.g. 'timeout-seconds: 60', or leave it out for 60");
            }

            if (name is not null && run is { Count: > 0 })
            {
                commands.Add(new CommandTest(name.Value.Value, run.Select(r => r.Value).ToList(), exit?.Value ?? 0, stdout, stderr,
                    timeout is { Value: > 0 } ? TimeSpan.FromSeconds(timeout.Value.Value) : DefaultTimeout));
            }
        }

        var fileTests = new List<FileTest>();
        var fileItems = validate.List("files", "file tests", example: "[{ path: /app/main.py }]");
        for (var i = 0; i < (fileItems?.Count ?? 0); i++)
        {
            var item = MappingReader.Of(file, fileItems![i], $"validate.files[{i}]", FileTestKeys);
            var path = AbsolutePath(file, item?.String("path", required: true, example: "/app/main.py"), "path");
            var exists = item?.Bool("exists");
            if (path is not null)
            {
                fileTests.Add(new FileTest(path, exists ?? true));
            }
        }

        MetadataExpectation? metadata = null;
        if (validate.Mapping("metadata", MetadataKeys, what: "validate.metadata") is { } meta)
        {
            var envMap = meta.StringMap("env", allowEmptyValues: false);
            var labelMap = meta.StringMap("labels", allowEmptyValues: false);
            metadata = new MetadataExpectation(
                meta.String("user", example: "\"10001\"")?.Value,
                envMap is null ? null : ReadEnv(file, envMap, "validate.metadata.env"),
                meta.StringList("entrypoint")?.Select(e => e.Value).ToList(),
                meta.StringList("cmd")?.Select(c => c.Value).ToList(),
                AbsolutePath(file, meta.String("workdir", example: "/app"), "workdir"),
                labelMap is null ? null : ReadLabels(file, labelMap));
        }

        var maxSize = validate.Number("max-size-mb", "120");
        if (maxSize is { } m && m.Value <= 0)
        {
            file.Error(m.Node, $"max-size-mb {m.Value.ToString(CultureInfo.InvariantCulture)} must be greater than 0", "write the largest size you accept in MiB, e.g. 'max-size-mb: 120'");
        }

        return new ValidationSpec(commands, fileTests, metadata, maxSize is { Value: > 0 } size ? size.Value : null);
    }

    private static string? Pattern(SourceFile file, Located<string>? text, string key)
    {
        if (text is not { } pattern)
        {
            return null;
        }

        try
        {
            _ = new Regex(pattern.Value, RegexOptions.Multiline, TimeSpan.FromSeconds(1));
            return pattern.Value;
        }
        catch (ArgumentException e)
        {
            file.Error(pattern.Node, $"{key} '{pattern.Value}' is not a valid .NET regular expression: {e.Message}",
                "fix the pattern; quote it in YAML, and escape literal characters like '(' or '+' with '\\\\'");
            return null;
        }
    }

    private static string Slug(string value)
    {
        var slug = Regex.Replace(value.ToLowerInvariant(), "[^a-z0-9._-]+", "-").Trim('-', '.', '_');
        return slug.Length == 0 ? "my-app" : slug;
    }

    [GeneratedRegex(@"\{([^{}]*)\}", RegexOptions.CultureInvariant)]
    private static partial Regex PlaceholderPattern();

    [GeneratedRegex("^0?[0-7]{3,4}$", RegexOptions.CultureInvariant)]
    private static partial Regex OctalMode();
}
