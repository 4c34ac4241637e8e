using Orchestrator.Core.Workflows;
using System.Globalization;
using System.Text;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Tests.Fakes;

/// <summary>What a fake container does when started: its exit code and output, or it runs until killed.</summary>
internal sealed record ContainerScript(long ExitCode, string Stdout = "", string Stderr = "", bool RunsForever = false);

/// <summary>
/// An in-memory engine. Images are ids known by name:tag; a push stores a manifest derived from the
/// image id in the <see cref="FakeRegistryFactory"/> registry the repository names, so two tags of one
/// image push as one digest. Every call is appended to <see cref="Calls"/> as "Verb argument".
/// </summary>
internal sealed class FakeDockerEngine(FakeRegistryFactory registries) : IDockerEngine
{
    private readonly Dictionary<string, string> _images = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ContainerSpec> _containers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (byte[] Context, ImageBuildRequest Request)> _builds = new(StringComparer.Ordinal);
    private int _nextId;

    public List<string> Calls { get; } = [];

    public List<(byte[] Tar, string Repository, string Tag, IReadOnlyList<string> Changes)> Imports { get; } = [];

    public List<(byte[] Context, ImageBuildRequest Request)> Builds { get; } = [];

    public List<(string Repository, string Tag, Digest Digest)> Pushes { get; } = [];

    public List<ImageReference> Pulls { get; } = [];

    /// <summary>The credentials each pull of <see cref="Pulls"/> was given (X-Registry-Auth), in the same order.</summary>
    public List<RegistryCredentials?> PullCredentials { get; } = [];

    public List<ContainerSpec> CreatedContainers { get; } = [];

    public List<string> RemovedContainers { get; } = [];

    public List<string> KilledContainers { get; } = [];

    /// <summary>What a started container does; by default it exits 0 silently.</summary>
    public Func<ContainerSpec, ContainerScript> Script { get; set; } = _ => new ContainerScript(0);

    /// <summary>What the SBOM's <c>dpkg-query</c> container does (apart from <see cref="Script"/>, so tests scripting their own commands need not know it).</summary>
    public Func<ContainerSpec, ContainerScript> DpkgScript { get; set; } = _ => new ContainerScript(0, "hello\t2.10-3\tamd64\tinstall ok installed\n");

    /// <summary>When set, starting a container throws it.</summary>
    public Exception? StartThrows { get; set; }

    /// <summary>Thrown by every build after <see cref="BuildStarted"/>, e.g. an engine that went away mid-build.</summary>
    public Exception? BuildThrows { get; set; }

    /// <summary>Called when a build starts, before <see cref="BuildThrows"/>.</summary>
    public Action? BuildStarted { get; set; }

    /// <summary>Containers on the engine that no caller of this fake created (the engine's builder's, a user's); listed only without a label filter.</summary>
    public List<ContainerSummary> ForeignContainers { get; } = [];

    /// <summary>When set, stat throws it.</summary>
    public Exception? StatThrows { get; set; }

    /// <summary>Paths that exist in every container's filesystem.</summary>
    public Dictionary<string, PathStat> Paths { get; } = new(StringComparer.Ordinal);

    /// <summary>What inspect returns for any pulled or built image; null makes inspect answer "no such image".</summary>
    public ImageInspect? InspectResult { get; set; } = new(
        "sha256:" + new string('1', 64), [], [], 50L * 1024 * 1024,
        new ImageRunConfig(null, ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], null, ["bash"], null, new Dictionary<string, string>()),
        "amd64", "linux");

    /// <summary>When set, the digest a push reports for repository and tag, instead of the stored manifest's.</summary>
    public Func<string, string, Digest?>? PushDigestOverride { get; set; }

    public Task<EngineVersion> GetVersionAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(new EngineVersion("20.10.24", "1.41", "linux", "amd64"));

    public async Task<string> ImportImageAsync(Stream rootfsTar, string repository, string tag, IReadOnlyList<string> changes, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await rootfsTar.CopyToAsync(buffer, cancellationToken);
        Calls.Add($"Import {repository}:{tag}");
        Imports.Add((buffer.ToArray(), repository, tag, changes));
        var id = NewImageId();
        _images[$"{repository}:{tag}"] = id;
        progress?.Report(new EngineProgress(null, id, null, null, null));
        return id;
    }

    public async Task<string> BuildImageAsync(Stream contextTar, ImageBuildRequest request, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        BuildStarted?.Invoke();
        if (BuildThrows is not null)
        {
            throw BuildThrows;
        }

        using var buffer = new MemoryStream();
        await contextTar.CopyToAsync(buffer, cancellationToken);
        Calls.Add($"Build {string.Join(",", request.Tags)}");
        Builds.Add((buffer.ToArray(), request));
        var id = NewImageId();
        _builds[id] = (buffer.ToArray(), request);
        foreach (var tag in request.Tags)
        {
            _images[tag] = id;
        }

        progress?.Report(new EngineProgress(null, null, "Step 1/1 : FROM base\n", null, null));
        return id;
    }

    public Task<Digest> PushImageAsync(string repository, string tag, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Calls.Add($"Push {repository}:{tag}");
        if (!_images.TryGetValue($"{repository}:{tag}", out var id))
        {
            throw new EngineException($"fake: An image does not exist locally with the tag: {repository}:{tag}");
        }

        var slash = repository.IndexOf('/', StringComparison.Ordinal);
        var registry = registries.For(repository[..slash]);
        var stored = registry.AddManifest(repository[(slash + 1)..], id, tag);
        var digest = PushDigestOverride?.Invoke(repository, tag) ?? stored;
        Pushes.Add((repository, tag, digest));
        return Task.FromResult(digest);
    }

    public Task PullImageAsync(ImageReference reference, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Calls.Add($"Pull {reference}");
        Pulls.Add(reference);
        PullCredentials.Add(credentials);
        _images[reference.ToString()] = NewImageId();
        return Task.CompletedTask;
    }

    /// <summary>The modification time of every file in a built image's new layer: later than any source date, so clamping shows.</summary>
    public static readonly DateTimeOffset BuildClock = new(2040, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>When set, an export writes half its bytes and then fails with it, as an engine dropping the stream would.</summary>
    public Exception? SaveFailsMidway { get; set; }

    /// <summary>When true, an export writes half its bytes and ends as if it were whole: a truncated archive.</summary>
    public bool SaveTruncated { get; set; }

    /// <summary>Extra (path, content) files the next exports put in the new layer, to make two builds differ.</summary>
    public List<(string Path, string Content)> ExtraLayerFiles { get; } = [];

    /// <summary>
    /// Exports a built image as <c>docker save</c> does: the base's layers (read from the fake registry the
    /// Dockerfile's <c>FROM</c> names, uncompressed) plus one new layer holding the context's files under
    /// <c>app/</c>, and a config carrying what the real engine's does (container id, host name, the build clock).
    /// </summary>
    public async Task SaveImageAsync(string nameOrId, Stream destination, CancellationToken cancellationToken = default)
    {
        Calls.Add($"Save {nameOrId}");
        if (!_builds.TryGetValue(nameOrId, out var build))
        {
            throw new EngineException($"fake: no such image: {nameOrId}");
        }

        var context = TestTars.Read(build.Context);
        var dockerfile = context.Single(e => e.Name == "Dockerfile").Content!;
        // The image is the last stage's, as with a real multi-stage build (earlier stages are 'FROM … AS name').
        var from = ImageReference.Parse(dockerfile.Split('\n').Last(l => l.StartsWith("FROM ", StringComparison.Ordinal))["FROM ".Length..].Split(' ')[0]);
        var registry = registries.For(from.Registry!);
        var manifest = registry.Find(from.Repository, from.Digest!.ToString()) ?? throw new EngineException($"fake: base {from} is not in the registry");
        var (configDescriptor, layers) = Orchestrator.Core.Images.OciImage.ReadManifest(manifest.Content.Span);
        using var baseConfig = System.Text.Json.JsonDocument.Parse(registry.Blobs[(from.Repository, configDescriptor.Digest)]);
        var layerTars = layers.Select(l => TestTars.Gunzip(registry.Blobs[(from.Repository, l.Digest)])).ToList();
        var files = context.Where(e => e.Name.StartsWith("files/", StringComparison.Ordinal)).Select(e => ("app/" + e.Name, e.Content ?? string.Empty)).Concat(ExtraLayerFiles).ToList();

        // The package cache's runtime .debs, as the real builder leaves them: a COPY layer into apt's archive folder, then
        // the install layer, where apt-get clean deleted them (whiteouts) and dpkg recorded what it installed.
        var debs = context.Where(e => e.Name.StartsWith(BuildContext.RuntimeDebsFolder + "/", StringComparison.Ordinal)).Select(e => e.Name[(BuildContext.RuntimeDebsFolder.Length + 1)..]).ToList();
        if (debs.Count > 0)
        {
            layerTars.Add(TestTars.Files(BuildClock, [.. debs.Select(d => ("var/cache/apt/archives/" + d, "deb bytes"))]));
            files.AddRange(debs.Select(d => ("var/cache/apt/archives/.wh." + d, string.Empty)));
            files.Add(("var/lib/dpkg/status", string.Join("\n", debs)));
        }

        layerTars.Add(TestTars.Files(BuildClock, [.. files]));

        using var config = new MemoryStream();
        using (var json = new System.Text.Json.Utf8JsonWriter(config))
        {
            json.WriteStartObject();
            json.WriteString("architecture", "amd64");
            json.WriteString("os", "linux");
            json.WriteString("created", "2040-01-01T00:00:00.123456789Z");
            json.WriteString("container", "c0ffee");
            json.WriteStartObject("config");
            json.WriteString("Hostname", "c0ffee");
            json.WriteStartArray("Cmd");
            json.WriteStringValue("bash");
            json.WriteEndArray();
            json.WriteStartObject("Labels");
            foreach (var (key, value) in build.Request.Labels ?? new Dictionary<string, string>())
            {
                json.WriteString(key, value);
            }

            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteStartObject("rootfs");
            json.WriteString("type", "layers");
            json.WriteStartArray("diff_ids");
            foreach (var tar in layerTars)
            {
                json.WriteStringValue(Digest.Sha256Of(tar).ToString());
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteStartArray("history");
            foreach (var entry in baseConfig.RootElement.GetProperty("history").EnumerateArray())
            {
                entry.WriteTo(json);
            }

            if (debs.Count > 0)
            {
                json.WriteStartObject();
                json.WriteString("created", "2040-01-01T00:00:00Z");
                json.WriteString("created_by", "COPY debs/runtime/ /var/cache/apt/archives/");
                json.WriteEndObject();
            }

            json.WriteStartObject();
            json.WriteString("created", "2040-01-01T00:00:00Z");
            json.WriteString("created_by", "fake build");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        var save = new List<(string, byte[])>
        {
            ("manifest.json", Encoding.UTF8.GetBytes(
                "[{\"Config\":\"config.json\",\"RepoTags\":[],\"Layers\":[" + string.Join(',', layerTars.Select((_, i) => $"\"{i}/layer.tar\"")) + "]}]")),
            ("config.json", config.ToArray()),
        };
        save.AddRange(layerTars.Select((tar, i) => ($"{i}/layer.tar", tar)));
        using var buffer = new MemoryStream();
        using (var writer = new System.Formats.Tar.TarWriter(buffer, System.Formats.Tar.TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, content) in save)
            {
                writer.WriteEntry(new System.Formats.Tar.UstarTarEntry(System.Formats.Tar.TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
            }
        }

        buffer.Position = 0;
        if (SaveFailsMidway is not null || SaveTruncated)
        {
            await destination.WriteAsync(buffer.ToArray().AsMemory(0, (int)(buffer.Length / 2)), cancellationToken);
            if (SaveFailsMidway is { } failure)
            {
                throw failure;
            }

            return;
        }

        await buffer.CopyToAsync(destination, cancellationToken);
    }

    public Task<ImageInspect?> InspectImageAsync(string nameOrId, CancellationToken cancellationToken = default)
    {
        Calls.Add($"Inspect {nameOrId}");
        // A tag answers with the id of the image it names now, as the engine does, so a rebuild sees the one it replaces.
        return Task.FromResult(_images.TryGetValue(nameOrId, out var id) && InspectResult is not null
            ? InspectResult with { Id = id.StartsWith("sha256:", StringComparison.Ordinal) ? id : InspectResult.Id }
            : null);
    }

    public Task TagImageAsync(string nameOrId, string repository, string tag, CancellationToken cancellationToken = default)
    {
        Calls.Add($"Tag {nameOrId} {repository}:{tag}");
        _images[$"{repository}:{tag}"] = _images.GetValueOrDefault(nameOrId, nameOrId);
        return Task.CompletedTask;
    }

    public Task RemoveImageAsync(string nameOrId, bool force = false, CancellationToken cancellationToken = default)
    {
        Calls.Add($"RemoveImage {nameOrId}");
        _images.Remove(nameOrId);
        return Task.CompletedTask;
    }

    private ContainerScript ScriptFor(ContainerSpec spec) => spec.Entrypoint is ["dpkg-query"] ? DpkgScript(spec) : Script(spec);

    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken cancellationToken = default)
    {
        var id = "c" + (CreatedContainers.Count + 1).ToString(CultureInfo.InvariantCulture);
        Calls.Add($"CreateContainer {id}");
        CreatedContainers.Add(spec);
        _containers[id] = spec;
        return Task.FromResult(id);
    }

    public Task StartContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        Calls.Add($"Start {id}");
        return StartThrows is null ? Task.CompletedTask : throw StartThrows;
    }

    public async Task<long> WaitContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        Calls.Add($"Wait {id}");
        var script = ScriptFor(_containers[id]);
        if (script.RunsForever)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return script.ExitCode;
    }

    public Task KillContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        Calls.Add($"Kill {id}");
        KilledContainers.Add(id);
        return Task.CompletedTask;
    }

    public Task<ContainerLogs> GetContainerLogsAsync(string id, CancellationToken cancellationToken = default)
    {
        Calls.Add($"Logs {id}");
        var script = ScriptFor(_containers[id]);
        return Task.FromResult(new ContainerLogs(script.Stdout, script.Stderr));
    }

    public Task RemoveContainerAsync(string id, bool force = true, CancellationToken cancellationToken = default)
    {
        Calls.Add($"RemoveContainer {id}");
        RemovedContainers.Add(id);
        return Task.CompletedTask;
    }

    /// <summary>Containers created and not removed, with their labels; a label filter <c>KEY</c> or <c>KEY=VALUE</c>, as the engine's.</summary>
    public Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? label, CancellationToken cancellationToken = default)
    {
        Calls.Add($"ListContainers {label}");
        if (label is null)
        {
            IReadOnlyList<ContainerSummary> all = [.. _containers
                .Where(c => !RemovedContainers.Contains(c.Key))
                .Select(c => new ContainerSummary(c.Key, "exited", c.Value.Labels ?? new Dictionary<string, string>())),
                .. ForeignContainers.Where(c => !RemovedContainers.Contains(c.Id))];
            return Task.FromResult(all);
        }

        var parts = label.Split('=', 2);
        IReadOnlyList<ContainerSummary> listed = [.. _containers
            .Where(c => !RemovedContainers.Contains(c.Key))
            .Where(c => c.Value.Labels is { } labels && labels.TryGetValue(parts[0], out var value) && (parts.Length == 1 || value == parts[1]))
            .Select(c => new ContainerSummary(c.Key, "exited", c.Value.Labels!))];
        return Task.FromResult(listed);
    }

    public Task<PathStat?> StatContainerPathAsync(string id, string path, CancellationToken cancellationToken = default)
    {
        Calls.Add($"Stat {id} {path}");
        return StatThrows is not null ? throw StatThrows : Task.FromResult(Paths.GetValueOrDefault(path));
    }

    private string NewImageId()
    {
        _nextId++;
        return "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes($"image-{_nextId}")));
    }
}
