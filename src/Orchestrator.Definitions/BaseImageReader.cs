using Orchestrator.Core.Definitions;
using Orchestrator.Core.References;
using Orchestrator.Definitions.Yaml;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Definitions;

/// <summary>Reads base-images/NAME.yaml into a <see cref="BaseImageDefinition"/>, reporting every problem.</summary>
internal static class BaseImageReader
{
    private static readonly string[] TopKeys =
        ["name", "repository", "default-variant", "suite", "mirror", "security-mirror", "snapshot", "components", "include", "variants"];

    private static readonly string[] VariantKeys =
        ["suite", "mirror", "security-mirror", "snapshot", "components", "include", "debootstrap-variant", "slim", "from", "distroless"];

    private static readonly string[] DebootstrapVariants = ["minbase", "buildd", "fakechroot"];

    /// <summary>snapshot.debian.org's timestamp format, as in <c>/archive/debian/20250520T000000Z</c>.</summary>
    private const string SnapshotFormat = "yyyyMMdd'T'HHmmss'Z'";

    private const string SnapshotExample = "20250520T000000Z";

    /// <summary>The definition, or null when the file has errors.</summary>
    public static BaseImageDefinition? Read(SourceFile file, YamlNode root)
    {
        var before = file.Diagnostics.Count;
        var name = file.BaseName;
        if (name.Length > DefinitionLimits.MaxNameChars)
        {
            file.ErrorAtStart($"base image name (the file name) is {name.Length} characters, longer than {DefinitionLimits.MaxNameChars} characters",
                "rename the file to a shorter name, e.g. base-images/debian-bookworm.yaml");
        }
        else if (!DefinitionRules.Name().IsMatch(name))
        {
            file.ErrorAtStart($"base image name '{name}' (the file name) is invalid: use lower-case letters, digits, '.', '_' and '-'",
                "rename the file, e.g. base-images/debian-bookworm.yaml");
        }

        var reader = MappingReader.Of(file, root, "the base image", TopKeys);
        if (reader is null)
        {
            return null;
        }

        if (reader.String("name", example: name) is { } declared && declared.Value != name)
        {
            file.Error(declared.Node, $"name '{declared.Value}' differs from the file name '{name}'; a base is named by its file",
                $"write 'name: {name}', remove 'name:', or rename the file to {declared.Value}.yaml");
        }

        var repository = reader.String("repository", required: true, example: $"base/{name}");
        if (repository is { } repo && !ImageReference.IsValidRepository(repo.Value, out var repositoryError))
        {
            file.Error(repo.Node, repositoryError, $"use a lower-case path such as 'repository: base/{name}'");
        }

        var defaults = ReadSettings(file, reader);
        var defaultVariant = reader.String("default-variant", required: true, example: "full");

        var variants = new Dictionary<string, BaseVariantDefinition>(StringComparer.Ordinal);
        var variantsNode = reader.Value("variants", required: true, example: "{ full: {} }");
        if (variantsNode is YamlMappingNode variantMap)
        {
            if (variantMap.Children.Count == 0)
            {
                file.Error(variantMap, "'variants' is empty; a base needs at least one variant", "add one, e.g. 'full: {}'");
            }

            foreach (var (key, value) in variantMap.Children)
            {
                if (ReadVariant(file, key, value, defaults) is { } variant)
                {
                    variants[variant.Name] = variant;
                }
            }
        }
        else if (variantsNode is not null)
        {
            file.Error(variantsNode, $"'variants' must be a mapping of variant names to settings, got {SourceFile.Describe(variantsNode)}",
                "write one 'NAME: { … }' line per variant under 'variants:', e.g. 'full: {}'");
        }

        if (defaultVariant is { } wanted && variantsNode is YamlMappingNode names
            && names.Children.Keys.OfType<YamlScalarNode>().All(k => k.Value != wanted.Value))
        {
            var known = names.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value!).ToList();
            file.Error(wanted.Node, $"default-variant '{wanted.Value}' is not one of the variants",
                Suggestions.DidYouMean(wanted.Value, known, "variants"));
        }

        return file.Diagnostics.Count != before || repository is null || defaultVariant is null
            ? null
            : new BaseImageDefinition(name, file.FullPath, repository.Value.Value, defaultVariant.Value.Value, variants);
    }

    private static BaseVariantDefinition? ReadVariant(SourceFile file, YamlNode key, YamlNode value, Settings defaults)
    {
        var name = (key as YamlScalarNode)?.Value ?? string.Empty;
        if (!ImageReference.IsValidTag(name, out var tagError))
        {
            file.Error(key, $"variant name '{name}' is not a valid tag, and it is used as one: {tagError}", "rename the variant, e.g. 'full' or 'slim'");
        }

        // 'full: {}' and 'full:' mean the same: a variant that only inherits.
        var reader = SourceFile.IsNull(value) ? null : MappingReader.Of(file, value, $"variant '{name}'", VariantKeys);
        if (reader is null && !SourceFile.IsNull(value))
        {
            return null;
        }

        var own = reader is null ? Settings.None : ReadSettings(file, reader);
        var debootstrapVariant = reader?.String("debootstrap-variant", example: "minbase");
        if (debootstrapVariant is { } dv && !DebootstrapVariants.Contains(dv.Value))
        {
            file.Error(dv.Node, $"debootstrap-variant '{dv.Value}' is not one debootstrap knows",
                Suggestions.DidYouMean(dv.Value, DebootstrapVariants, "debootstrap variants") + "; leave it out for debootstrap's default (a full userland)");
        }

        var slim = reader?.Bool("slim");
        var distroless = reader?.Bool("distroless");
        ImageReference? from = null;
        if (reader?.String("from", example: "registry.example/library/debian@sha256:…") is { } fromText)
        {
            from = ReadFrom(file, fromText);
            foreach (var conflicting in VariantKeys.Where(k => k != "from" && reader.Raw(k) is not null))
            {
                file.Error(reader.KeyNode(conflicting)!, $"variant '{name}' copies an upstream image ('from:'), so '{conflicting}' would be ignored",
                    $"remove '{conflicting}', or remove 'from:' to build the variant with debootstrap");
            }
        }

        var suite = own.Suite ?? defaults.Suite;
        if (suite is null && from is null && reader?.Raw("from") is null)
        {
            file.Error(key, $"variant '{name}' has no suite", "set 'suite: bookworm' at the top of the file (all variants inherit it) or in the variant");
        }

        var snapshot = own.Snapshot ?? defaults.Snapshot;
        var mirror = own.Mirror ?? defaults.Mirror;
        var securityMirror = own.SecurityMirror ?? defaults.SecurityMirror;
        if (reader is not null && reader.Raw("from") is null)
        {
            CheckInheritedSnapshotConflict(file, reader, name, own, defaults);
        }

        return new BaseVariantDefinition(
            name,
            suite ?? string.Empty,
            mirror,
            securityMirror,
            own.Components ?? defaults.Components ?? ["main"],
            debootstrapVariant?.Value,
            slim ?? false,
            own.Include ?? defaults.Include ?? [],
            from)
        {
            Snapshot = snapshot,
            Distroless = distroless ?? false,
        };
    }

    // A snapshot is its own mirror; one level's snapshot and the other level's mirror would silently fight over the sources.
    private static void CheckInheritedSnapshotConflict(SourceFile file, MappingReader reader, string name, Settings own, Settings defaults)
    {
        if (own.Snapshot is not null && own.Mirror is null && own.SecurityMirror is null && (defaults.Mirror ?? defaults.SecurityMirror) is not null)
        {
            var inherited = defaults.Mirror is not null ? "mirror" : "security-mirror";
            file.Error(reader.KeyNode("snapshot")!, $"variant '{name}' names snapshot {own.Snapshot} but inherits '{inherited}: {defaults.Mirror ?? defaults.SecurityMirror}' from the top of the file; a snapshot is its own mirror",
                $"move '{inherited}:' from the top of the file into the variants that use it, or remove 'snapshot:' here");
        }
        else if (own.Snapshot is null && defaults.Snapshot is not null && (own.Mirror ?? own.SecurityMirror) is not null)
        {
            var key = own.Mirror is not null ? "mirror" : "security-mirror";
            file.Error(reader.KeyNode(key)!, $"variant '{name}' sets '{key}' but inherits 'snapshot: {defaults.Snapshot}' from the top of the file; a snapshot is its own mirror",
                $"move 'snapshot:' from the top of the file into the variants that use it, or remove '{key}:' here");
        }
    }

    private static ImageReference? ReadFrom(SourceFile file, Located<string> text)
    {
        if (!ImageReference.TryParse(text.Value, out var reference, out var error))
        {
            file.Error(text.Node, $"'from' is not an image reference: {error}", "write 'from: REGISTRY/REPO@sha256:<64 hex>'");
            return null;
        }

        if (reference.Digest is null)
        {
            file.Error(text.Node, $"'from: {text.Value}' is not pinned by digest; a tag can move, and the base would change without a definition change",
                $"pin it by digest: from: {reference.Name}@sha256:… ('skopeo inspect docker://{reference.Name}:{reference.Tag ?? "TAG"}' shows the digest)");
            return null;
        }

        if (reference.Registry is null)
        {
            file.Error(text.Node, $"'from: {text.Value}' names no registry; Orchestrator never assumes docker.io",
                $"name the registry: from: REGISTRY/{reference.Repository}@{reference.Digest}");
            return null;
        }

        return reference;
    }

    private static Settings ReadSettings(SourceFile file, MappingReader reader)
    {
        var suite = reader.String("suite", example: "bookworm");
        if (suite is { } s && !DefinitionRules.Suite().IsMatch(s.Value))
        {
            file.Error(s.Node, $"suite '{s.Value}' is not a Debian suite name", "use a codename such as 'suite: bookworm'");
        }

        var components = reader.StringList("components", example: "[main]");
        foreach (var component in components ?? [])
        {
            if (!DefinitionRules.Component().IsMatch(component.Value))
            {
                file.Error(component.Node, $"component '{component.Value}' is not an archive component name", "use main, contrib, non-free or non-free-firmware");
            }
        }

        if (components is { Count: 0 })
        {
            file.Error(reader.Raw("components")!, "'components' is empty", "list at least one, e.g. 'components: [main]', or leave it out for [main]");
        }

        var include = reader.StringList("include", example: "[ca-certificates]");
        foreach (var package in include ?? [])
        {
            if (!DefinitionRules.PackageName().IsMatch(package.Value))
            {
                file.Error(package.Node, $"'{package.Value}' in 'include' is not a Debian package name",
                    "use the package's name as apt knows it: lower-case letters, digits, '+', '-', '.'");
            }
        }

        var mirror = Mirror(file, reader, "mirror", "http://deb.debian.org/debian");
        var securityMirror = Mirror(file, reader, "security-mirror", "http://deb.debian.org/debian-security");
        var snapshot = Snapshot(file, reader);
        if (snapshot is not null)
        {
            foreach (var conflicting in new[] { "mirror", "security-mirror" }.Where(k => reader.Raw(k) is not null))
            {
                file.Error(reader.KeyNode(conflicting)!,
                    $"'{conflicting}' and 'snapshot: {snapshot}' in {reader.What}: a snapshot is its own mirror ({SnapshotUrl(conflicting, snapshot)})",
                    $"remove '{conflicting}:' to use snapshot.debian.org, or remove 'snapshot:' to use the mirror");
            }
        }

        return new Settings(
            suite?.Value,
            mirror,
            securityMirror,
            components?.Select(c => c.Value).ToList(),
            include?.Select(i => i.Value).ToList(),
            snapshot);
    }

    private static string SnapshotUrl(string key, string snapshot) =>
        $"http://snapshot.debian.org/archive/{(key == "mirror" ? "debian" : "debian-security")}/{snapshot}";

    private static string? Snapshot(SourceFile file, MappingReader reader)
    {
        var value = reader.String("snapshot", example: SnapshotExample);
        if (value is not { } snapshot)
        {
            return null;
        }

        if (!DateTime.TryParseExact(snapshot.Value, SnapshotFormat, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out _))
        {
            file.Error(snapshot.Node, $"snapshot '{snapshot.Value}' is not a snapshot.debian.org timestamp (yyyyMMddTHHmmssZ, UTC)",
                $"write e.g. 'snapshot: {SnapshotExample}'; https://snapshot.debian.org lists the timestamps of each day");
            return null;
        }

        return snapshot.Value;
    }

    private static string? Mirror(SourceFile file, MappingReader reader, string key, string example)
    {
        var value = reader.String(key, example: example);
        if (value is { } mirror && !DefinitionRules.IsHttpUrl(mirror.Value))
        {
            file.Error(mirror.Node, $"{key} '{mirror.Value}' is not an http:// or https:// URL", $"write e.g. '{key}: {example}'");
            return null;
        }

        return value?.Value;
    }

    /// <summary>The settings a variant inherits from the top of the file, or sets itself.</summary>
    private sealed record Settings(string? Suite, string? Mirror, string? SecurityMirror, IReadOnlyList<string>? Components, IReadOnlyList<string>? Include, string? Snapshot)
    {
        public static Settings None { get; } = new(null, null, null, null, null, null);
    }
}
