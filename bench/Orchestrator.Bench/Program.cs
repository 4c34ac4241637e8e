// The promotion benchmark (issue 6): Orchestrator's copier against `skopeo copy --all --preserve-digests`,
// between the same two local registries, alternating runs. See bench/README.md; run it with bench/promote.sh.
// `seed` (WholeProcessSeed.cs) instead seeds bench/whole-process.sh.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Registry;
using Orchestrator.Registry.Tests;

if (args is ["seed", ..])
{
    return await WholeProcessSeed.RunAsync(args[1..]);
}

var options = BenchOptions.Parse(args);
var staging = new RegistryEndpoint("127.0.0.1:5001", PlainHttp: true);
var production = new RegistryEndpoint("127.0.0.1:5002", PlainHttp: true);
var prefix = "bench-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
var copierOptions = new RegistryClientOptions();
if (Environment.GetEnvironmentVariable("BENCH_CHUNK_MIB") is { } chunk)
{
    copierOptions.ChunkSize = int.Parse(chunk, CultureInfo.InvariantCulture) * 1024 * 1024;
}

if (Environment.GetEnvironmentVariable("BENCH_MONOLITHIC_MIB") is { } monolithic)
{
    copierOptions.MonolithicUploadLimit = long.Parse(monolithic, CultureInfo.InvariantCulture) * 1024 * 1024;
}

if (Environment.GetEnvironmentVariable("BENCH_PARALLEL") is { } parallel)
{
    copierOptions.MaxParallelBlobCopies = int.Parse(parallel, CultureInfo.InvariantCulture);
}

using var factory = new RegistryClientFactory(options: copierOptions);
var source = factory.Create(staging);
var target = factory.Create(production);
var copier = new ImageCopier(factory, options: copierOptions);
using var raw = new HttpClient();
var created = new List<(string Registry, string Repository, Digest Manifest, IReadOnlyList<Digest> Blobs)>();

static void Say(string text) => Console.Error.WriteLine("bench: " + text);

try
{
    // 1. Synthetic images in staging: one large image, and N services on one shared base.
    var seed = 1;
    var largeRepository = $"{prefix}/large";
    var largeSizes = options.LargeLayerSizes();
    Say($"seeding {largeRepository}: {largeSizes.Length} layers, {largeSizes.Sum() / 1024 / 1024} MiB");
    var baseLayers = new List<(Digest, long)>();
    var large = await Seed.ImageAsync(source, largeRepository, largeSizes.Select(s => (seed++, s)).ToArray(), baseLayers: []);
    created.Add((staging.Host, largeRepository, large.Digest, large.Blobs));

    Say($"seeding {options.Shared} services on a {options.BaseMiB} MiB base of 3 layers");
    var baseSizes = new long[] { options.BaseMiB / 2 * 1024L * 1024, options.BaseMiB / 4 * 1024L * 1024, options.BaseMiB / 4 * 1024L * 1024 };
    var services = new List<(string Repository, Seed.Image Image)>();
    for (var i = 0; i < options.Shared; i++)
    {
        var repository = $"{prefix}/svc-{i:00}";
        if (i == 0)
        {
            foreach (var size in baseSizes)
            {
                baseLayers.Add((await Seed.BlobAsync(source, repository, seed++, size), size));
            }
        }
        else
        {
            foreach (var (digest, _) in baseLayers)
            {
                await source.MountBlobAsync(repository, digest, $"{prefix}/svc-00");
            }
        }

        var image = await Seed.ImageAsync(source, repository, [(seed++, 2 * 1024 * 1024)], baseLayers);
        services.Add((repository, image));
        created.Add((staging.Host, repository, image.Digest, image.Blobs));
    }

    // 2. The tools. Orchestrator runs in-process as the daemon does (one factory, pooled connections);
    // skopeo runs as users run it, a process per copy.
    async Task<TimeSpan> OrchestratorAsync(string from, Digest digest, string to)
    {
        var clock = Stopwatch.StartNew();
        var plan = await copier.PlanAsync(new CopyRequest(staging, from, digest, production, to, ["bench"]));
        var result = await copier.CopyAsync(plan);
        clock.Stop();
        if (result.TargetDigest != digest)
        {
            throw new InvalidOperationException($"orchestrator promoted {digest} as {result.TargetDigest}");
        }

        return clock.Elapsed;
    }

    var rssFile = Path.Combine(Path.GetTempPath(), $"{prefix}-skopeo-rss");
    long skopeoPeak = 0;
    async Task<TimeSpan> SkopeoAsync(string from, Digest digest, string to)
    {
        string[] copy = [
            "copy", "--all", "--preserve-digests", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
            $"docker://{staging.Host}/{from}@{digest}", $"docker://{production.Host}/{to}:bench"];

        // GNU time, when installed, reports skopeo's peak resident set (its own process, in KiB).
        var start = File.Exists("/usr/bin/time")
            ? new ProcessStartInfo("/usr/bin/time", ["-f", "%M", "-o", rssFile, "skopeo", .. copy])
            : new ProcessStartInfo("skopeo", copy);
        start.RedirectStandardError = true;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        clock.Stop();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"skopeo copy {from}@{digest} failed: {error}");
        }

        if (File.Exists(rssFile) && long.TryParse(File.ReadAllText(rssFile).Trim(), CultureInfo.InvariantCulture, out var kib))
        {
            skopeoPeak = Math.Max(skopeoPeak, kib * 1024);
        }

        return clock.Elapsed;
    }

    // A cold promotion must find nothing in the target: each run gets fresh target repositories, and the
    // blob links of earlier runs are deleted, so neither skopeo's blob-info cache nor Orchestrator's mount
    // hints can mount from them (the registry still keeps the bytes; both tools pay the same upload).
    async Task UnlinkAsync(string repository, IEnumerable<Digest> blobs)
    {
        foreach (var blob in blobs)
        {
            using var response = await raw.DeleteAsync($"http://{production.Host}/v2/{repository}/blobs/{blob}");
        }
    }

    var tools = new (string Name, Func<string, Digest, string, Task<TimeSpan>> Run)[] { ("orchestrator", OrchestratorAsync), ("skopeo", SkopeoAsync) };
    var times = new Dictionary<(string Row, string Tool), List<double>>();
    void Record(string row, string tool, TimeSpan elapsed)
    {
        if (!times.TryGetValue((row, tool), out var list))
        {
            times[(row, tool)] = list = [];
        }

        list.Add(elapsed.TotalSeconds);
        Say($"{row,-28} {tool,-12} {elapsed.TotalSeconds,7:0.000} s");
    }

    // An untimed warm-up of each tool (JIT, connection set-up, the registries' page cache).
    foreach (var (name, run) in tools)
    {
        var to = $"{prefix}/warmup-{name}";
        await run(largeRepository, large.Digest, to);
        created.Add((production.Host, to, large.Digest, large.Blobs));
        await UnlinkAsync(to, large.Blobs);
    }

    Memory.ResetPeak();
    var peakBefore = Memory.PeakWorkingSet();
    long orchestratorPeak = 0;
    for (var round = 1; round <= options.Rounds; round++)
    {
        var order = round % 2 == 1 ? tools : tools.Reverse().ToArray();
        foreach (var (name, run) in order)
        {
            if (name == "orchestrator")
            {
                Memory.ResetPeak();
            }

            // Cold, then warm into the same repository: every blob and manifest already there.
            var to = $"{prefix}/r{round}-{name}/large";
            Record("cold large image", name, await run(largeRepository, large.Digest, to));
            created.Add((production.Host, to, large.Digest, large.Blobs));
            Record("warm large image", name, await run(largeRepository, large.Digest, to));

            var sharedTime = TimeSpan.Zero;
            foreach (var (repository, image) in services)
            {
                var serviceTarget = $"{prefix}/r{round}-{name}/{repository[(prefix.Length + 1)..]}";
                sharedTime += await run(repository, image.Digest, serviceTarget);
                created.Add((production.Host, serviceTarget, image.Digest, image.Blobs));
            }

            Record($"{options.Shared} images sharing a base", name, sharedTime);
            if (name == "orchestrator")
            {
                orchestratorPeak = Math.Max(orchestratorPeak, Memory.PeakWorkingSet());
            }

            await UnlinkAsync(to, large.Blobs);
            foreach (var (repository, image) in services)
            {
                await UnlinkAsync($"{prefix}/r{round}-{name}/{repository[(prefix.Length + 1)..]}", image.Blobs);
            }
        }
    }

    // 3. The table: medians, and Orchestrator's time as a fraction of skopeo's.
    var output = new StringBuilder();
    output.AppendLine(CultureInfo.InvariantCulture, $"promotion ({options.Rounds} rounds, median s)   orchestrator      skopeo   orch/skopeo");
    foreach (var row in new[] { "cold large image", "warm large image", $"{options.Shared} images sharing a base" })
    {
        var o = Median(times[(row, "orchestrator")]);
        var s = Median(times[(row, "skopeo")]);
        output.AppendLine(CultureInfo.InvariantCulture, $"{row,-32} {o,12:0.000} {s,11:0.000} {o / s,12:0.00}x");
    }

    output.AppendLine();
    output.AppendLine(CultureInfo.InvariantCulture, $"large image: {largeSizes.Length} layers, {largeSizes.Sum() / 1024.0 / 1024.0:0} MiB; shared base: {options.BaseMiB} MiB + 2 MiB per service");
    output.AppendLine(CultureInfo.InvariantCulture, $"orchestrator peak working set during its runs: {orchestratorPeak / 1024.0 / 1024.0:0} MiB (process before the rounds: {peakBefore / 1024.0 / 1024.0:0} MiB)");
    if (skopeoPeak > 0)
    {
        output.AppendLine(CultureInfo.InvariantCulture, $"skopeo peak resident set, largest of its runs: {skopeoPeak / 1024.0 / 1024.0:0} MiB");
    }

    File.Delete(rssFile);
    Console.Write(output.ToString());
    return 0;
}
finally
{
    // Every manifest by digest (which drops its tags), then the blob links, in both registries.
    Say($"cleaning up {created.Count} manifests under {prefix}/");
    foreach (var (registry, repository, manifest, blobs) in Enumerable.Reverse(created))
    {
        try
        {
            using var response = await raw.DeleteAsync($"http://{registry}/v2/{repository}/manifests/{manifest}");
            foreach (var blob in blobs)
            {
                using var unlinked = await raw.DeleteAsync($"http://{registry}/v2/{repository}/blobs/{blob}");
            }
        }
        catch (HttpRequestException ex)
        {
            Say($"cleanup of {registry}/{repository} failed: {ex.Message}");
        }
    }
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

internal sealed record BenchOptions(int Rounds, int LargeMiB, int LargeLayers, int Shared, int BaseMiB)
{
    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions(Rounds: 5, LargeMiB: 256, LargeLayers: 5, Shared: 20, BaseMiB: 40);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            o = args[i] switch
            {
                "--rounds" => o with { Rounds = value },
                "--large-mib" => o with { LargeMiB = value },
                "--large-layers" => o with { LargeLayers = value },
                "--shared" => o with { Shared = value },
                "--base-mib" => o with { BaseMiB = value },
                _ => throw new ArgumentException($"unknown option '{args[i]}': use --rounds, --large-mib, --large-layers, --shared, --base-mib"),
            };
        }

        return o;
    }

    /// <summary>Layers of falling size (like a real image: a big userland, smaller application layers), summing to LargeMiB.</summary>
    public long[] LargeLayerSizes()
    {
        var weights = Enumerable.Range(0, LargeLayers).Select(i => (double)(LargeLayers - i)).ToArray();
        var total = LargeMiB * 1024L * 1024;
        var sizes = weights.Select(w => (long)(total * w / weights.Sum())).ToArray();
        sizes[0] += total - sizes.Sum();
        return sizes;
    }
}

/// <summary>Peak resident set of this process (Linux VmHWM), and its reset (clear_refs 5), so a peak covers only what follows.</summary>
internal static class Memory
{
    public static void ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
            // Without the reset the peak covers the seeding too: an overestimate, never an underestimate.
        }
    }

    public static long PeakWorkingSet()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return Process.GetCurrentProcess().PeakWorkingSet64;
    }
}
