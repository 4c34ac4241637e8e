// `Orchestrator.Bench seed`: the input of bench/whole-process.sh. Pushes one random-content image to staging
// and records, for each bench pipeline, a build and a passing validation of it in the workspace's state file.
using System.Globalization;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Registry;
using Orchestrator.State;

/// <summary>
/// Seeds a whole-process promotion benchmark. The image (random layers, so no real build and no container can
/// run it) is uploaded once to the first pipeline's staging repository and mounted into the others, so every
/// pipeline promotes the same bytes from its own repository. A promotion needs a passing validation of that
/// digest in the state: the records go through the store's own API (<see cref="SqliteStateStore"/>, the code
/// the CLI and daemon write with), marked <c>bench-seed</c> as actor and version so nobody mistakes them for
/// a real build. Prints the image digest on the first line of standard output and its blobs on the second.
/// </summary>
internal static class WholeProcessSeed
{
    /// <param name="args"><c>--state PATH --mib M --layers L PIPELINE=REPOSITORY...</c>.</param>
    public static async Task<int> RunAsync(string[] args)
    {
        string? statePath = null;
        int mib = 256, layers = 5;
        var pipelines = new List<(string Name, string Repository)>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--state": statePath = args[++i]; break;
                case "--mib": mib = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--layers": layers = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default:
                    var parts = args[i].Split('=', 2);
                    if (parts.Length != 2)
                    {
                        throw new ArgumentException($"'{args[i]}' is not PIPELINE=REPOSITORY: use seed --state PATH [--mib M] [--layers L] PIPELINE=REPOSITORY...");
                    }

                    pipelines.Add((parts[0], parts[1]));
                    break;
            }
        }

        if (statePath is null || pipelines.Count == 0)
        {
            throw new ArgumentException("use seed --state PATH [--mib M] [--layers L] PIPELINE=REPOSITORY...");
        }

        var staging = new RegistryEndpoint("127.0.0.1:5001", PlainHttp: true);
        using var factory = new RegistryClientFactory();
        var client = factory.Create(staging);
        var sizes = new BenchOptions(Rounds: 1, LargeMiB: mib, LargeLayers: layers, Shared: 0, BaseMiB: 0).LargeLayerSizes();
        var first = pipelines[0].Repository;
        Console.Error.WriteLine($"bench: seeding {staging.Host}/{first}: {layers} layers, {mib} MiB");
        var image = await Seed.ImageAsync(client, first, sizes.Select((size, i) => (i + 1, size)).ToArray(), baseLayers: []);
        var manifest = await client.GetManifestAsync(first, image.Digest.ToString());
        foreach (var (_, repository) in pipelines.Skip(1))
        {
            foreach (var blob in image.Blobs)
            {
                if (!await client.MountBlobAsync(repository, blob, first))
                {
                    throw new InvalidOperationException($"{staging.Host} did not mount {blob} from {first} into {repository}");
                }
            }

            await client.PutManifestAsync(repository, "seed", manifest.Content, manifest.MediaType);
        }

        await using var state = new SqliteStateStore(statePath);
        await state.InitializeAsync();
        foreach (var (name, repository) in pipelines)
        {
            var reference = ImageReference.Create(staging.Host, repository, digest: image.Digest);
            var now = DateTimeOffset.UtcNow;
            await state.RecordBuildAsync(new BuildRecord(0, name, "pipeline", "staging", reference, ["seed"], "bench-seed", null, "bench-seed", now, TimeSpan.Zero));
            await state.RecordValidationAsync(new ValidationRecord(
                0, name, "staging", reference, Passed: true,
                [new TestResult("metadata", "seeded by bench/whole-process.sh", Passed: true, "random layers: recorded, not run", TimeSpan.Zero)],
                "bench-seed", now, TimeSpan.Zero));
        }

        Console.WriteLine(image.Digest);
        Console.WriteLine(string.Join(' ', image.Blobs));
        return 0;
    }
}
