using System.Text.RegularExpressions;
using Orchestrator.Core.Definitions;
using Orchestrator.Definitions.Yaml;

namespace Orchestrator.Definitions;

/// <summary>Reads orchestrator.yaml into an <see cref="OrchestratorConfig"/>, reporting every problem.</summary>
internal static partial class ConfigReader
{
    public const string DefaultStatePath = ".orchestrator/state.db";
    public const string DefaultBaseImages = "base-images";
    public const string DefaultPipelines = "pipelines";
    public const string DefaultWork = ".orchestrator/work";

    private static readonly string[] TopKeys = ["engine", "stages", "registries", "state", "paths", "daemon", "signing", "engines"];
    private static readonly string[] EngineKeys = ["endpoint"];
    private static readonly string[] RegistryKeys = ["url", "username-env", "password-env", "insecure", "require-signature", .. RegistryTlsReader.Keys];
    private static readonly string[] PathKeys = ["base-images", "pipelines", "work"];

    /// <summary>
    /// The config, or null when it has errors. <paramref name="folders"/> gets the folders the
    /// file names on purpose, so a missing one can be reported at its line instead of silently read as empty.
    /// </summary>
    public static OrchestratorConfig? Read(SourceFile file, YamlDotNet.RepresentationModel.YamlNode? root, out ConfiguredFolders folders)
    {
        var before = file.Diagnostics.Count;
        folders = ConfiguredFolders.Defaults(file.Directory);
        if (root is null)
        {
            return null;
        }

        var reader = MappingReader.Of(file, root, "orchestrator.yaml", TopKeys);
        if (reader is null)
        {
            return null;
        }

        var endpoint = EngineSettings.DefaultEndpoint;
        if (reader.Mapping("engine", EngineKeys, what: "'engine'") is { } engine && engine.String("endpoint", example: EngineSettings.DefaultEndpoint) is { } given)
        {
            endpoint = given.Value;
            if (!IsValidEndpoint(given.Value))
            {
                file.Error(given.Node, $"engine endpoint '{given.Value}' is neither unix:///PATH nor tcp://HOST:PORT",
                    $"use e.g. 'endpoint: {EngineSettings.DefaultEndpoint}' or 'endpoint: tcp://127.0.0.1:2375'");
            }
        }

        var beforeStages = file.Diagnostics.Count;
        var stageNames = ReadStages(file, reader);
        var stagesAreValid = file.Diagnostics.Count == beforeStages && stageNames.Count > 0;
        var stages = ReadRegistries(file, reader, stageNames);
        var daemon = DaemonReader.Read(file, reader, stageNames.Select(s => s.Value).ToList(), stagesAreValid);
        var signing = SigningReader.Read(file, reader);

        var (statePath, postgres) = StateReader.Read(file, reader);
        var engines = EnginesReader.Read(file, reader);

        if (reader.Mapping("paths", PathKeys, what: "'paths'") is { } paths)
        {
            folders = new ConfiguredFolders(
                Folder(file, paths.String("base-images", example: DefaultBaseImages), DefaultBaseImages),
                Folder(file, paths.String("pipelines", example: DefaultPipelines), DefaultPipelines),
                Path.GetFullPath(paths.String("work", example: DefaultWork)?.Value ?? DefaultWork, file.Directory));
        }

        if (file.Diagnostics.Count != before || stages is null)
        {
            return null;
        }

        return new OrchestratorConfig(
            file.FullPath,
            file.Directory,
            new EngineSettings(engines.Count > 0 ? engines[0].Endpoint : endpoint),
            stages,
            Path.GetFullPath(statePath, file.Directory),
            folders.BaseImages.Path,
            folders.Pipelines.Path,
            folders.Work)
        {
            Daemon = daemon,
            Signing = signing,
            Postgres = postgres,
            Engines = engines,
        };
    }

    private static List<Located<string>> ReadStages(SourceFile file, MappingReader reader)
    {
        var result = new List<Located<string>>();
        var list = reader.StringList("stages", required: true, example: "[staging, production]");
        if (list is null)
        {
            return result;
        }

        if (list.Count == 0)
        {
            file.Error(reader.Raw("stages")!, "'stages' is empty; at least one stage is needed (builds are pushed to the first)",
                "list them in promotion order, e.g. 'stages: [staging, production]'");
        }

        foreach (var stage in list)
        {
            if (!StageName().IsMatch(stage.Value))
            {
                file.Error(stage.Node, $"stage name '{stage.Value}' is invalid: use lower-case letters, digits and '-', starting with a letter",
                    "rename it, e.g. 'staging'");
            }
            else if (result.FirstOrDefault(s => s.Value == stage.Value) is { Node: not null } first)
            {
                file.Error(stage.Node, $"stage '{stage.Value}' is listed twice (first at line {first.Node.Start.Line})", "remove the second one");
            }
            else
            {
                result.Add(stage);
            }
        }

        return result;
    }

    private static List<StageDefinition>? ReadRegistries(SourceFile file, MappingReader reader, List<Located<string>> stageNames)
    {
        var node = reader.Value("registries", required: true, example: "{ staging: { url: http://127.0.0.1:5001 } }");
        if (node is null)
        {
            return null;
        }

        if (node is not YamlDotNet.RepresentationModel.YamlMappingNode mapping)
        {
            file.Error(node, $"'registries' must be a mapping of stage names to registries, got {SourceFile.Describe(node)}",
                "write one 'STAGE: { url: http://HOST:PORT }' line per stage under 'registries:'");
            return null;
        }

        var names = stageNames.Select(s => s.Value).ToList();
        var endpoints = new Dictionary<string, Core.Definitions.RegistryEndpoint>(StringComparer.Ordinal);
        var requiredKeys = new Dictionary<string, IReadOnlyList<Core.Signing.VerificationKey>>(StringComparer.Ordinal);
        foreach (var (key, value) in mapping.Children)
        {
            var stage = (key as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value ?? string.Empty;
            if (!names.Contains(stage))
            {
                file.Error(key, $"registry '{stage}' is not one of the stages ({(names.Count == 0 ? "none" : string.Join(", ", names))})",
                    Suggestions.Closest(stage, names) is { } close
                        ? $"did you mean '{close}'? rename it, or add '{stage}' to 'stages'"
                        : $"add '{stage}' to 'stages', or remove this registry");
            }

            var entry = MappingReader.Of(file, value, $"registry '{stage}'", RegistryKeys);
            if (entry?.String("url", required: true, example: "http://127.0.0.1:5001") is not { } url)
            {
                continue;
            }

            var usernameEnv = EnvName(file, entry, "username-env");
            var passwordEnv = EnvName(file, entry, "password-env");
            if ((entry.Value("username-env") is null) != (entry.Value("password-env") is null))
            {
                file.Error(entry.Node, $"registry '{stage}' names only one of 'username-env' and 'password-env'",
                    "set both (the names of the environment variables holding the user and the password or token), or neither for anonymous access");
            }

            requiredKeys[stage] = SigningReader.ReadRequired(file, entry, stage);
            var insecure = entry.Bool("insecure");
            if (ParseRegistryUrl(url.Value, out var host, out var plainHttp, out var error))
            {
                if (plainHttp && entry.Value("username-env") is not null && insecure != true && !IsLoopback(url.Value))
                {
                    // Basic credentials over plain HTTP cross the network in clear: only on purpose.
                    file.Error(url.Node, $"registry '{stage}' sends credentials (username-env/password-env) over plain http:// to {host}, which is not loopback; anyone on the path could read them",
                        $"use https://{host}, or write 'insecure: true' and 'allow-insecure-remote: true' under registry '{stage}' if the network is trusted");
                }

                var tls = RegistryTlsReader.Read(file, entry, stage, host, plainHttp, IsLoopback(url.Value), insecure);
                endpoints[stage] = new Core.Definitions.RegistryEndpoint(host, plainHttp, usernameEnv, passwordEnv) { Tls = tls };
            }
            else
            {
                // A URL with credentials is never echoed: the error would carry the secret into CI logs.
                var shown = Uri.TryCreate(url.Value, UriKind.Absolute, out var parsed) && (parsed.UserInfo.Length > 0 || parsed.Query.Length > 0 || parsed.Fragment.Length > 0)
                    ? $"{parsed.Scheme}://{(parsed.UserInfo.Length > 0 ? "***@" : string.Empty)}{parsed.Authority}{(parsed.Query.Length > 0 || parsed.Fragment.Length > 0 ? "?***" : string.Empty)}"
                    : url.Value;
                file.Error(url.Node, $"registry url '{shown}' {error}", "write it as http://HOST[:PORT] or https://HOST[:PORT], e.g. 'url: http://127.0.0.1:5001'");
            }
        }

        var stages = new List<StageDefinition>();
        foreach (var stage in stageNames)
        {
            if (endpoints.TryGetValue(stage.Value, out var endpoint))
            {
                stages.Add(new StageDefinition(stage.Value, endpoint) { RequiredSignatureKeys = requiredKeys.GetValueOrDefault(stage.Value, []) });
            }
            else if (mapping.Children.Keys.OfType<YamlDotNet.RepresentationModel.YamlScalarNode>().All(k => k.Value != stage.Value))
            {
                file.Error(stage.Node, $"stage '{stage.Value}' has no registry",
                    $"add it under 'registries:', e.g. '{stage.Value}: {{ url: http://127.0.0.1:5001 }}'");
            }
        }

        return stages.Count == stageNames.Count && stages.Count > 0 ? stages : null;
    }

    private static string? EnvName(SourceFile file, MappingReader entry, string key)
    {
        var value = entry.String(key, example: "REGISTRY_USER");
        if (value is null)
        {
            return null;
        }

        if (!DefinitionRules.IsSecretEnvReference(value.Value.Value))
        {
            // Someone may have pasted the secret itself: never echo the value into an error, a log or CI output.
            var example = key.StartsWith("user", StringComparison.Ordinal) ? "REGISTRY_USER" : "REGISTRY_PASSWORD";
            file.Error(value.Value.Node,
                DefinitionRules.LooksLikeSecret(value.Value.Value)
                    ? $"'{key}' in {entry.What} looks like a secret itself, not the name of an environment variable"
                    : $"'{key}' in {entry.What} must name an environment variable: upper-case letters, digits and '_', not starting with a digit",
                $"put the secret in an environment variable and write its name, e.g. '{key}: {example}'; never write the secret itself here");
            return null;
        }

        return value.Value.Value;
    }

    internal static bool ParseRegistryUrl(string text, out string host, out bool plainHttp, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        host = string.Empty;
        plainHttp = false;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            error = "is not an http:// or https:// URL";
            return false;
        }

        var authorityEnd = text.IndexOf('/', uri.Scheme.Length + 3);
        var rest = authorityEnd < 0 ? string.Empty : text[authorityEnd..];
        if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            // A query may carry a token ("?token=…"): say what is wrong without it.
            error = "has a query or fragment ('?…' or '#…'); a registry is named by its host and port only";
            return false;
        }

        if (rest is not ("" or "/"))
        {
            error = $"has a path '{rest}'; a registry is named by its host and port only";
            return false;
        }

        if (uri.UserInfo.Length > 0)
        {
            error = "carries credentials; never put them in definitions";
            return false;
        }

        host = authorityEnd < 0 ? text[(uri.Scheme.Length + 3)..] : text[(uri.Scheme.Length + 3)..authorityEnd];
        plainHttp = uri.Scheme == "http";
        error = null;
        return true;
    }

    /// <summary>True for a URL whose host is localhost, 127.0.0.0/8 or ::1: traffic that never leaves the machine.</summary>
    internal static bool IsLoopback(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (string.Equals(uri.DnsSafeHost, "localhost", StringComparison.OrdinalIgnoreCase)
            || (System.Net.IPAddress.TryParse(uri.DnsSafeHost, out var address) && System.Net.IPAddress.IsLoopback(address)));

    private static bool IsValidEndpoint(string endpoint)
    {
        if (endpoint.StartsWith("unix:///", StringComparison.Ordinal))
        {
            return endpoint.Length > "unix:///".Length;
        }

        return endpoint.StartsWith("tcp://", StringComparison.Ordinal)
            && Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
            && uri.Host.Length > 0 && !uri.IsDefaultPort && uri.AbsolutePath == "/";
    }

    private static ConfiguredFolder Folder(SourceFile file, Located<string>? value, string fallback) =>
        value is { } given
            ? new ConfiguredFolder(Path.GetFullPath(given.Value, file.Directory), given.Node)
            : new ConfiguredFolder(Path.GetFullPath(fallback, file.Directory), null);

    [GeneratedRegex("^[a-z][a-z0-9-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex StageName();

}

/// <summary>A definitions folder and, when the config names it, the node that does.</summary>
internal sealed record ConfiguredFolder(string Path, YamlDotNet.RepresentationModel.YamlNode? Node);

/// <summary>The folders a config points at.</summary>
internal sealed record ConfiguredFolders(ConfiguredFolder BaseImages, ConfiguredFolder Pipelines, string Work)
{
    public static ConfiguredFolders Defaults(string root) => new(
        new ConfiguredFolder(Path.GetFullPath(ConfigReader.DefaultBaseImages, root), null),
        new ConfiguredFolder(Path.GetFullPath(ConfigReader.DefaultPipelines, root), null),
        Path.GetFullPath(ConfigReader.DefaultWork, root));
}
