using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ProcessWitness;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// The package cache (issue 16) against the real engine, mirror and staging registry, through the CLI: builds take
/// every locked .deb from the cache with no network in any RUN, give the same digest whether the cache starts empty
/// or warm, ship no .deb, and refuse a cached file whose bytes changed.
/// </summary>
[Collection(RealPartsCollection.Name)]
[Trait("Category", "Integration")]
public sealed class PackageCacheTests(RealPartsFixture fixture)
{
    private string Config => fixture.Workspace.ConfigPath;

    private string CacheFolder => Path.Combine(fixture.Workspace.Root, "state", "cache");

    [Fact]
    public async Task Build_EmptyThenWarmPackageCache_SameDigestNoDebShipped_TamperedCachedDebRefusedNamingBothHashes()
    {
        // Given a locked pipeline (the lock fetched its .debs) and then an emptied package cache
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("pkgcache-same");
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);
        var afterLock = await CliRunner.RunAsync(Config, "cache", "ls", "--json");
        Assert.True(afterLock.ExitCode == 0, afterLock.ToString());
        var hello = afterLock.Json.GetProperty("entries").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "hello");
        Assert.Equal(("2.10-3", "deb"), (hello.GetProperty("version").GetString(), hello.GetProperty("kind").GetString()));
        var helloSha = hello.GetProperty("sha256").GetString()!;
        var pruned = await CliRunner.RunAsync(Config, "cache", "prune", "--all", "--json");
        Assert.True(pruned.ExitCode == 0, pruned.ToString());
        Assert.Equal(0, pruned.Json.GetProperty("kept").GetInt32());

        // When it is built with the cache empty, then again (no engine cache) with the cache warm
        var cold = await CliRunner.RunAsync(Config, "build", name, "--no-cache", "--json");
        Assert.True(cold.ExitCode == 0, cold.ToString());
        Assert.Contains("package cache: fetching", cold.Stderr, StringComparison.Ordinal);
        var warm = await CliRunner.RunAsync(Config, "build", name, "--no-cache", "--json");
        Assert.True(warm.ExitCode == 0, warm.ToString());
        Assert.Contains("package cache: all", warm.Stderr, StringComparison.Ordinal);

        // Then both give the same digest, which staging serves, and the lock's hash is what the cache holds
        var digest = cold.Json.GetProperty("digest").GetString()!;
        Assert.Equal(digest, warm.Json.GetProperty("digest").GetString());
        Assert.Equal(digest, await SkopeoDigestAsync($"{TestWorkspace.Staging}/{repository}:1.0.0"));
        var lockText = await File.ReadAllTextAsync(Path.Combine(fixture.Workspace.Root, "pipelines", $"{name}.lock.yaml"));
        Assert.Contains(helloSha, lockText, StringComparison.Ordinal);
        Assert.Equal(helloSha, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(CacheFolder, "sha256", helloSha)))));

        // And no layer the image adds to its base holds a .deb or a whiteout of one
        var added = await AddedLayerEntriesAsync(repository, digest);
        Assert.Contains("usr/bin/hello", added);
        Assert.DoesNotContain(added, e => e.EndsWith(".deb", StringComparison.Ordinal));
        Assert.DoesNotContain(added, e => e.Contains("archives/.wh.", StringComparison.Ordinal));

        // When the cached hello .deb's bytes are changed under its hash name and it is built again
        var cached = Path.Combine(CacheFolder, "sha256", helloSha);
        var bytes = await File.ReadAllBytesAsync(cached);
        bytes[^1] ^= 0xff;
        await File.WriteAllBytesAsync(cached, bytes);
        var tamperedSha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var tampered = await CliRunner.RunAsync(Config, "build", name, "--no-cache", "--json");

        // Then the build is refused naming the package, the lock's hash and the bytes' hash, and the bad file is gone
        Assert.True(tampered.ExitCode == 1, tampered.ToString());
        Assert.Contains("hello 2.10-3", tampered.Stderr, StringComparison.Ordinal);
        Assert.Contains($"sha256:{helloSha}", tampered.Stderr, StringComparison.Ordinal);
        Assert.Contains($"sha256:{tamperedSha}", tampered.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(cached));

        // And a build after it fetches the .deb again and gives the same digest
        var again = await CliRunner.RunAsync(Config, "build", name, "--no-cache", "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(digest, again.Json.GetProperty("digest").GetString());
    }

    [Fact]
    public async Task Build_PythonProjectWhoseBuildStepReachesForTheNetwork_FailsBecauseNoRunHasANetwork()
    {
        // Given the Python service sample whose project's setup.py opens a connection to staging (127.0.0.1:5001) when
        // pip builds it: on the host network that connection would succeed
        await fixture.FullBaseAsync();
        var name = fixture.Workspace.AddSample("hello-python", "pkgcache-net");
        fixture.Track($"{fixture.Workspace.Prefix}/apps/{name}");
        var folder = Path.Combine(fixture.Workspace.Root, "pipelines", name);
        var wheels = await RunAsync(Path.Combine(TestWorkspace.RepoRoot(), "scripts", "build-wheelhouse"), Path.Combine(folder, "wheels"));
        Assert.True(wheels.ExitCode == 0, wheels.Stderr);
        await File.WriteAllTextAsync(Path.Combine(folder, "app", "setup.py"), """
            import socket
            socket.create_connection(("127.0.0.1", 5001), timeout=5).close()
            print("PKGCACHE-NETWORK-REACHED")
            from setuptools import setup
            setup()
            """);
        var locked = await CliRunner.RunAsync(Config, "lock", name);
        Assert.True(locked.ExitCode == 0, locked.ToString());

        // When it is built
        var build = await CliRunner.RunAsync(Config, "build", name, "--json");

        // Then the build fails at that step, saying RUN steps have no network, and nothing reached staging
        Assert.True(build.ExitCode == 1, build.ToString());
        Assert.Contains("no network", build.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("PKGCACHE-NETWORK-REACHED", build.Stderr + build.Stdout, StringComparison.Ordinal);
        var inspect = await RunAsync("skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{TestWorkspace.Staging}/{fixture.Workspace.Prefix}/apps/{name}:latest");
        Assert.NotEqual(0, inspect.ExitCode);
    }

    [Fact]
    public async Task CachePrune_BadArguments_ExitTwoWithTheFix()
    {
        // Given no selection, both selections, or a negative age
        var none = await CliRunner.RunAsync(Config, "cache", "prune");
        var both = await CliRunner.RunAsync(Config, "cache", "prune", "--all", "--older-than", "3");
        var negative = await CliRunner.RunAsync(Config, "cache", "prune", "--older-than", "-1");

        // Then each is bad input, saying what to pass
        Assert.True(none.ExitCode == 2, none.ToString());
        Assert.Contains("--older-than DAYS", none.Stderr, StringComparison.Ordinal);
        Assert.True(both.ExitCode == 2, both.ToString());
        Assert.Contains("not both", both.Stderr, StringComparison.Ordinal);
        Assert.True(negative.ExitCode == 2, negative.ToString());
        Assert.Contains("0 or more", negative.Stderr, StringComparison.Ordinal);
    }

    // The names in every layer the image adds over its base, read from staging's blobs.
    private async Task<List<string>> AddedLayerEntriesAsync(string repository, string digest)
    {
        using var http = new HttpClient();
        var registry = $"http://{TestWorkspace.Staging}/v2";
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{registry}/{repository}/manifests/{digest}");
        request.Headers.Accept.ParseAdd("application/vnd.oci.image.manifest.v1+json");
        using var response = await http.SendAsync(request);
        using var manifest = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var layers = manifest.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!).ToList();
        var baseLayers = await RunAsync("skopeo", "inspect", "--tls-verify=false", "--format", "{{len .Layers}}", $"docker://{fixture.BaseReference}");
        Assert.True(baseLayers.ExitCode == 0, baseLayers.Stderr);
        var names = new List<string>();
        foreach (var layer in layers.Skip(int.Parse(baseLayers.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture)))
        {
            await using var blob = await http.GetStreamAsync($"{registry}/{repository}/blobs/{layer}");
            await using var gzip = new GZipStream(blob, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (await tar.GetNextEntryAsync() is { } entry)
            {
                names.Add(entry.Name);
            }
        }

        return names;
    }
}
