using System.Diagnostics;
using Orchestrator.IntegrationTests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// deploy/kubernetes (issue 14 item 6): the kustomize base and its example overlay, rendered by the independent
/// witness <c>kubectl kustomize</c> (installed by scripts/setup-kubectl), hold together as a cluster would read them,
/// and the orchestrator.yaml they ship is one the published binary accepts.
/// </summary>
[Trait("Category", "Integration")]
public sealed class KubernetesDeployTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("orchestrator-k8s-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public async Task Kustomize_ExampleOverlay_RendersReplicatedDaemonOnPostgresWithSecretsByReference()
    {
        // Given the example overlay
        // When kubectl renders it
        var resources = await RenderAsync("deploy/kubernetes/overlays/example");

        // Then there is a Deployment of several replicas running the daemon from an image pinned by digest
        var deployment = Single(resources, "Deployment", "orchestrator-daemon");
        Assert.Equal("platform-orchestrator", Scalar(deployment, "metadata", "namespace"));
        Assert.True(int.Parse(Scalar(deployment, "spec", "replicas")!, System.Globalization.CultureInfo.InvariantCulture) >= 2, "the daemon runs as several replicas on one queue");
        var pod = Node(deployment, "spec", "template", "spec");
        var daemon = Items(pod, "containers").Single(c => Scalar(c, "name") == "daemon");
        Assert.Matches("^[^@]+@sha256:[0-9a-f]{64}$", Scalar(daemon, "image"));
        Assert.Equal(["daemon", "--config", "/etc/orchestrator/orchestrator.yaml"], Items(daemon, "args").Select(a => ((YamlScalarNode)a).Value));

        // And every secret the daemon reads comes from a Secret by reference, never as a literal value
        var env = Items(daemon, "env").ToDictionary(e => Scalar(e, "name")!, e => e);
        foreach (var name in new[] { "ORCHESTRATOR_PG", "ORCHESTRATOR_TOKEN_CI", "ORCHESTRATOR_TOKEN_RELEASE", "REGISTRY_PASSWORD" })
        {
            Assert.True(env.ContainsKey(name), $"{name} is set");
            Assert.Null(Scalar(env[name], "value"));
            Assert.NotNull(Scalar(env[name], "valueFrom", "secretKeyRef", "name"));
        }

        Assert.Equal("orchestrator-postgres", Scalar(env["ORCHESTRATOR_PG"], "valueFrom", "secretKeyRef", "name"));

        // And the Service and the disruption budget select exactly the daemon's pods
        var podLabels = Mapping(deployment, "spec", "template", "metadata", "labels");
        var service = Single(resources, "Service", "orchestrator");
        Assert.Equal(podLabels, Mapping(service, "spec", "selector"));
        Assert.Equal(podLabels, Mapping(deployment, "spec", "selector", "matchLabels"));
        Assert.Equal(podLabels, Mapping(Single(resources, "PodDisruptionBudget", "orchestrator-daemon"), "spec", "selector", "matchLabels"));
        Assert.Equal("http", Scalar(Items(service, "spec", "ports").Single(), "targetPort"));

        // And the config volume names the generated (hashed) ConfigMap, which holds orchestrator.yaml
        var configMapName = Items(pod, "volumes").Single(v => Scalar(v, "name") == "config") is var volume ? Scalar(volume, "configMap", "name") : null;
        var configMap = Single(resources, "ConfigMap", configMapName!);
        Assert.StartsWith("orchestrator-config-", configMapName, StringComparison.Ordinal);
        Assert.Contains("connection-string-env: ORCHESTRATOR_PG", Scalar(configMap, "data", "orchestrator.yaml"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kustomize_ShippedConfig_EngineCertificatesMountedWhereTheConfigNamesThem()
    {
        // Given the base rendered by kubectl
        var resources = await RenderAsync("deploy/kubernetes/base");
        var deployment = Single(resources, "Deployment", "orchestrator-daemon");
        var daemon = Items(Node(deployment, "spec", "template", "spec"), "containers").Single(c => Scalar(c, "name") == "daemon");
        var mounts = Items(daemon, "volumeMounts").Select(m => Scalar(m, "mountPath")).ToHashSet();
        var config = Scalar(resources.Single(r => Scalar(r, "kind") == "ConfigMap"), "data", "orchestrator.yaml")!;

        // When the engines' cert-path folders are read from the shipped orchestrator.yaml
        var certPaths = System.Text.RegularExpressions.Regex.Matches(config, @"cert-path:\s*([^\s}]+)").Select(m => m.Groups[1].Value).ToList();

        // Then there are remote engines over TLS, and each cert-path is a mounted Secret
        Assert.True(certPaths.Count >= 2, "the shipped config lists remote engines with TLS client certificates");
        Assert.Contains("tcp://", config, StringComparison.Ordinal);
        Assert.All(certPaths, path => Assert.Contains(path, mounts));
    }

    [Fact]
    public async Task Check_ShippedConfig_PublishedBinaryAcceptsIt()
    {
        // Given the orchestrator.yaml the ConfigMap ships, its workspace paths pointed at a copy of this repository's
        // definitions (what git-sync would put under /workspace/current),
        var resources = await RenderAsync("deploy/kubernetes/base");
        var config = Scalar(resources.Single(r => Scalar(r, "kind") == "ConfigMap"), "data", "orchestrator.yaml")!;
        var workspace = Path.Combine(_scratch, "current");
        CopyFolder(Path.Combine(TestWorkspace.RepoRoot(), "base-images"), Path.Combine(workspace, "base-images"));
        CopyFolder(Path.Combine(TestWorkspace.RepoRoot(), "pipelines"), Path.Combine(workspace, "pipelines"));
        // and each engine's Secret (the client certificates, as DOCKER_CERT_PATH has them) from the test CA
        var engines = Path.Combine(_scratch, "engines");
        foreach (var engine in new[] { "engine-a", "engine-b" })
        {
            Directory.CreateDirectory(Path.Combine(engines, engine));
            File.Copy(TestWorkspace.PkiFile("ca.crt"), Path.Combine(engines, engine, "ca.pem"));
            File.Copy(TestWorkspace.PkiFile("client.crt"), Path.Combine(engines, engine, "cert.pem"));
            File.Copy(TestWorkspace.PkiFile("client.key"), Path.Combine(engines, engine, "key.pem"));
        }

        var configPath = Path.Combine(_scratch, "orchestrator.yaml");
        await File.WriteAllTextAsync(configPath, config
            .Replace("/workspace/current", workspace, StringComparison.Ordinal)
            .Replace("/etc/orchestrator/engines", engines, StringComparison.Ordinal)
            .Replace("/var/lib/orchestrator", Path.Combine(_scratch, "var"), StringComparison.Ordinal));

        // When the published binary checks it
        var start = CliBinary.StartInfo(["check", "--config", configPath]);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        // Then every definition loads and cross-checks under that config
        Assert.True(process.ExitCode == 0, $"check exited {process.ExitCode}:\n{await stdout}\n{await stderr}");
    }

    private static async Task<List<YamlMappingNode>> RenderAsync(string folder)
    {
        var start = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestWorkspace.RepoRoot() };
        start.ArgumentList.Add("kustomize");
        start.ArgumentList.Add(folder);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("kubectl did not start; run scripts/setup-kubectl");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"kubectl kustomize {folder} exited {process.ExitCode}: {await stderr}");

        var stream = new YamlStream();
        stream.Load(new StringReader(await stdout));
        return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
    }

    private static YamlMappingNode Single(List<YamlMappingNode> resources, string kind, string name) =>
        resources.Single(r => Scalar(r, "kind") == kind && Scalar(r, "metadata", "name") == name);

    private static YamlNode? Node(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out var child))
            {
                return null;
            }

            node = child;
        }

        return node;
    }

    private static string? Scalar(YamlNode node, params string[] path) => (Node(node, path) as YamlScalarNode)?.Value;

    private static IEnumerable<YamlNode> Items(YamlNode? node, params string[] path) =>
        (node is null ? null : Node(node, path)) as YamlSequenceNode ?? new YamlSequenceNode();

    private static Dictionary<string, string?> Mapping(YamlNode node, params string[] path) =>
        ((YamlMappingNode)Node(node, path)!).Children.ToDictionary(p => ((YamlScalarNode)p.Key).Value!, p => (p.Value as YamlScalarNode)?.Value);

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
