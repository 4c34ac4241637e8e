using System.Text.RegularExpressions;
using Orchestrator.Core.Definitions;
using Orchestrator.Definitions.Yaml;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Definitions;

/// <summary>
/// Reads the <c>engines:</c> list of orchestrator.yaml (issue 14, item 3): the Docker Engines builds and validations are
/// placed on, each <c>{ name, endpoint, slots, tls: { cert-path } }</c>. A <c>unix:///path</c> socket, or <c>tcp://host:port</c>
/// with TLS client certificates in <c>cert-path</c> as the docker CLI's <c>DOCKER_CERT_PATH</c> has them (<c>ca.pem</c>,
/// <c>cert.pem</c>, <c>key.pem</c>); a <c>tcp://</c> engine without TLS is accepted on loopback only. Every problem is
/// reported at its file:line:column.
/// </summary>
internal static partial class EnginesReader
{
    /// <summary>The slots of an engine that does not say. <value>1.</value></summary>
    public const int DefaultSlots = 1;

    private static readonly string[] EngineKeys = ["name", "endpoint", "slots", "tls"];
    private static readonly string[] TlsKeys = ["cert-path"];
    private static readonly string[] CertificateFiles = ["ca.pem", "cert.pem", "key.pem"];
    private const string Example = "- { name: engine-1, endpoint: unix:///var/run/docker.sock, slots: 2 }";

    /// <summary>The engines written, or an empty list when the key is absent; problems go to <paramref name="file"/>.</summary>
    public static IReadOnlyList<EngineDefinition> Read(SourceFile file, MappingReader config)
    {
        var items = config.List("engines", "engines", example: "[ { name: engine-1, endpoint: unix:///var/run/docker.sock, slots: 2 } ]");
        if (items is null)
        {
            return [];
        }

        if (config.Value("engine") is not null)
        {
            file.Error(config.KeyNode("engines")!, "orchestrator.yaml has both 'engine' and 'engines'; the pool would be ambiguous",
                "keep 'engines' and list the single engine there, or remove 'engines'");
        }

        if (items.Count == 0)
        {
            file.Error(config.Raw("engines")!, "'engines' is empty; at least one engine is needed", $"list them, e.g. '{Example}', or remove 'engines' to use 'engine'");
        }

        var result = new List<EngineDefinition>();
        var names = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        var endpoints = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        for (var index = 0; index < items.Count; index++)
        {
            var entry = MappingReader.Of(file, items[index], $"engine {index + 1} of 'engines'", EngineKeys);
            if (entry is null)
            {
                continue;
            }

            var before = file.Diagnostics.Count;
            var name = entry.String("name", required: true, example: "engine-1");
            if (name is { } givenName)
            {
                if (!EngineName().IsMatch(givenName.Value))
                {
                    file.Error(givenName.Node, $"engine name '{givenName.Value}' is invalid: use lower-case letters, digits and '-', starting with a letter",
                        "rename it, e.g. 'name: engine-1'");
                }
                else if (names.TryGetValue(givenName.Value, out var first))
                {
                    file.Error(givenName.Node, $"engine name '{givenName.Value}' is used twice (first at line {first.Start.Line})", "give each engine its own name");
                }
                else
                {
                    names[givenName.Value] = givenName.Node;
                }
            }

            var what = name is { } n ? $"engine '{n.Value}'" : entry.What;
            var endpoint = entry.String("endpoint", required: true, example: "unix:///var/run/docker.sock");
            var slots = entry.Int("slots", example: "2");
            if (slots is { Value: < 1 } fewSlots)
            {
                file.Error(fewSlots.Node, $"'slots' of {what} is {fewSlots.Value}; an engine needs at least 1 slot", "write e.g. 'slots: 2', or remove the engine");
            }

            string? certPath = null;
            if (entry.Mapping("tls", TlsKeys, what: $"'tls' of {what}") is { } tls && tls.String("cert-path", required: true, example: "certs/engine-1") is { } cert)
            {
                certPath = Path.GetFullPath(cert.Value, file.Directory);
                var missing = CertificateFiles.Where(f => !File.Exists(Path.Combine(certPath, f))).ToList();
                if (missing.Count > 0)
                {
                    file.Error(cert.Node, $"'cert-path' of {what} is {certPath}, which lacks {string.Join(", ", missing)}",
                        "point it at the folder holding ca.pem, cert.pem and key.pem (as DOCKER_CERT_PATH does for the docker CLI)");
                }
            }

            if (endpoint is { } givenEndpoint)
            {
                CheckEndpoint(file, givenEndpoint, what, entry.Raw("tls") is not null);
                if (endpoints.TryGetValue(givenEndpoint.Value, out var first))
                {
                    file.Error(givenEndpoint.Node, $"endpoint '{givenEndpoint.Value}' of {what} is listed twice (first at line {first.Start.Line})",
                        "list each engine once and give it more 'slots' instead");
                }
                else
                {
                    endpoints[givenEndpoint.Value] = givenEndpoint.Node;
                }
            }

            if (file.Diagnostics.Count == before && name is { } okName && endpoint is { } okEndpoint)
            {
                result.Add(new EngineDefinition(okName.Value, okEndpoint.Value, slots?.Value ?? DefaultSlots, certPath));
            }
        }

        return result;
    }

    private static void CheckEndpoint(SourceFile file, Located<string> endpoint, string what, bool hasTls)
    {
        var value = endpoint.Value;
        if (value.StartsWith("unix://", StringComparison.Ordinal))
        {
            if (value.Length <= "unix:///".Length || value["unix://".Length] != '/')
            {
                file.Error(endpoint.Node, $"endpoint of {what} '{value}' has no absolute socket path", "write e.g. 'endpoint: unix:///var/run/docker.sock'");
            }
            else if (hasTls)
            {
                file.Error(endpoint.Node, $"{what} has 'tls' but its endpoint is a unix socket, which is reached without TLS", "remove 'tls', or use a tcp://HOST:PORT endpoint");
            }

            return;
        }

        if (!value.StartsWith("tcp://", StringComparison.Ordinal))
        {
            file.Error(endpoint.Node, $"endpoint of {what} is neither unix:///PATH nor tcp://HOST:PORT", "write e.g. 'endpoint: unix:///var/run/docker.sock' or 'endpoint: tcp://10.0.0.5:2376' with 'tls: { cert-path: DIR }'");
            return;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0
            || uri.Host.Length == 0 || uri.IsDefaultPort || uri.Port <= 0 || uri.AbsolutePath != "/")
        {
            // Never echoed: a malformed endpoint may carry a user and password.
            file.Error(endpoint.Node, $"endpoint of {what} is not a tcp://HOST:PORT address (a port is required; no user, path or query)",
                "write e.g. 'endpoint: tcp://10.0.0.5:2376'");
            return;
        }

        var loopback = string.Equals(uri.DnsSafeHost, "localhost", StringComparison.OrdinalIgnoreCase)
            || (System.Net.IPAddress.TryParse(uri.DnsSafeHost, out var address) && System.Net.IPAddress.IsLoopback(address));
        if (!hasTls && !loopback)
        {
            // The Engine API without TLS is root on that host for anyone on the path.
            file.Error(endpoint.Node, $"{what} is reached over plain tcp:// at {uri.Host}, which is not loopback; anyone who can reach that port controls the engine",
                "add 'tls: { cert-path: DIR }' with ca.pem, cert.pem and key.pem (as DOCKER_CERT_PATH has them), or use a unix socket");
        }
    }

    [GeneratedRegex("^[a-z][a-z0-9-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EngineName();
}
