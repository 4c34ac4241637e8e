using Orchestrator.IntegrationTests.Infrastructure;
using Xunit.Abstractions;
using static Orchestrator.IntegrationTests.Infrastructure.ProcessWitness;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// The build cache against the real engine and staging registry, through the CLI in-process; tags are read
/// back with skopeo.
/// </summary>
[Collection(RealPartsCollection.Name)]
[Trait("Category", "Integration")]
public sealed class BuildCacheTests(RealPartsFixture fixture, ITestOutputHelper output)
{
    private const string Staging = TestWorkspace.Staging;

    private string Config => fixture.Workspace.ConfigPath;

    [Fact]
    public async Task Build_Twice_SecondIsACacheHitThatMakesNoEngineCall_ChangedFileRefusedUntilRelockedThenMisses_RevertedFileHits_NoCacheRebuildsTheSameDigest()
    {
        // Given a pipeline built once, through a witness that records every request sent to the engine
        Assert.True(Environment.GetEnvironmentVariable("DOCKER_HOST") is null, "DOCKER_HOST is set: it would take the engine calls around the witness");
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-cache");
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);
        await using var witness = new EngineWitness();
        var witnessed = Path.Combine(fixture.Workspace.Root, "orchestrator.witnessed.yaml");
        await File.WriteAllTextAsync(witnessed, (await File.ReadAllTextAsync(Config))
            .Replace("endpoint: unix:///var/run/docker.sock", "endpoint: " + witness.Endpoint, StringComparison.Ordinal));

        // The fixture deletes what the tags point at; the untagged builds in between are deleted here.
        var built = new List<string>();
        try
        {
            var first = await CliRunner.RunAsync(witnessed, "build", name, "--json");
            Assert.True(first.ExitCode == 0, first.ToString());
            Assert.False(first.Json.GetProperty("cacheHit").GetBoolean());
            var digest1 = first.Json.GetProperty("digest").GetString()!;
            built.Add(digest1);
            // The witness is in the engine's path: the real build's calls went through it.
            Assert.Contains(witness.Requests, r => IsBuildCall(r));

            // When it is built again with nothing changed
            witness.Clear();
            var second = await CliRunner.RunAsync(witnessed, "build", name, "--json");
            output.WriteLine($"engine requests of the cache hit: {(witness.Requests.Count == 0 ? "none" : string.Join(", ", witness.Requests))}");

            // Then it is a cache hit with the same digest, and the engine was not called at all (so no image
            // built, no container created, no image exported): the hit is answered from the record and staging
            Assert.True(second.ExitCode == 0, second.ToString());
            Assert.True(second.Json.GetProperty("cacheHit").GetBoolean(), second.Stdout);
            Assert.Equal(digest1, second.Json.GetProperty("digest").GetString());
            Assert.True(witness.Requests.Count == 0, $"the cache hit called the engine: {string.Join(", ", witness.Requests)}");

            // When the copied file changes
            var script = Path.Combine(fixture.Workspace.Root, "pipelines", name, "greet.sh");
            var original = await File.ReadAllTextAsync(script);
            await File.WriteAllTextAsync(script, original + "# changed\n");

            // Then the lock is stale and the build is refused with the fix, until the pipeline is locked again
            var stale = await CliRunner.RunAsync(Config, "build", name, "--json");
            Assert.True(stale.ExitCode == 1, stale.ToString());
            Assert.Contains($"run 'orchestrator lock {name}'", stale.Stderr, StringComparison.Ordinal);
            await fixture.Workspace.LockAsync(name);
            var changed = await CliRunner.RunAsync(Config, "build", name, "--json");

            // Then it misses and builds a new digest, which the tags now point at
            Assert.True(changed.ExitCode == 0, changed.ToString());
            Assert.False(changed.Json.GetProperty("cacheHit").GetBoolean());
            var digest2 = changed.Json.GetProperty("digest").GetString()!;
            built.Add(digest2);
            Assert.NotEqual(digest1, digest2);
            Assert.Equal(digest2, await SkopeoDigestAsync($"{Staging}/{repository}:1.0.0"));

            // When the file goes back to what it was
            await File.WriteAllTextAsync(script, original);
            File.SetLastWriteTimeUtc(script, DateTime.UtcNow.AddMinutes(1));
            await fixture.Workspace.LockAsync(name);
            var reverted = await CliRunner.RunAsync(Config, "build", name, "--json");

            // Then it hits the first build again (a new mtime does not matter) and the tags are back on its digest
            Assert.True(reverted.ExitCode == 0, reverted.ToString());
            Assert.True(reverted.Json.GetProperty("cacheHit").GetBoolean(), reverted.ToString());
            Assert.Equal(digest1, reverted.Json.GetProperty("digest").GetString());
            Assert.Equal(digest1, await SkopeoDigestAsync($"{Staging}/{repository}:1.0.0"));
            Assert.Equal(digest1, await SkopeoDigestAsync($"{Staging}/{repository}:latest"));

            // When built with --no-cache (the engine image of the earlier build read first, with the docker CLI)
            var earlier = await ProcessWitness.RunAsync("docker", "image", "inspect", "--format", "{{.Id}}", $"orchestrator-build/{name}:latest");
            Assert.True(earlier.ExitCode == 0, earlier.Stderr);
            var forced = await CliRunner.RunAsync(Config, "build", name, "--no-cache", "--json");

            // Then it really built (not a hit, no engine layer cache), to the very same digest: the build is reproducible
            Assert.True(forced.ExitCode == 0, forced.ToString());
            Assert.False(forced.Json.GetProperty("cacheHit").GetBoolean());
            Assert.Equal(digest1, forced.Json.GetProperty("digest").GetString());
            Assert.Equal(digest1, await SkopeoDigestAsync($"{Staging}/{repository}:1.0.0"));

            // And the engine image the rebuild replaced is gone from the engine (no untagged leftover per build)
            var current = await ProcessWitness.RunAsync("docker", "image", "inspect", "--format", "{{.Id}}", $"orchestrator-build/{name}:latest");
            Assert.NotEqual(earlier.Stdout.Trim(), current.Stdout.Trim());
            Assert.NotEqual(0, (await ProcessWitness.RunAsync("docker", "image", "inspect", earlier.Stdout.Trim())).ExitCode);

            // And verify-reproducible agrees, rebuilding once more without cache or push
            var verified = await CliRunner.RunAsync(Config, "verify-reproducible", name, "--json");
            Assert.True(verified.ExitCode == 0, verified.ToString());
            Assert.True(verified.Json.GetProperty("reproducible").GetBoolean(), verified.Stdout);
            Assert.Equal(digest1, verified.Json.GetProperty("rebuilt").GetString());
            var after = await CliRunner.RunAsync(Config, "build", name, "--json");
            Assert.True(after.ExitCode == 0, after.ToString());
            Assert.True(after.Json.GetProperty("cacheHit").GetBoolean());
        }
        finally
        {
            foreach (var digest in built)
            {
                await Janitor.DeleteManifestAsync(Staging, repository, digest);
            }
        }
    }

    /// <summary>A request that builds, runs or exports: <c>POST …/build</c>, <c>POST …/containers/create</c>, <c>GET …/images/…/get</c>.</summary>
    private static bool IsBuildCall(string requestLine) =>
        System.Text.RegularExpressions.Regex.IsMatch(requestLine, @"^(POST (/v[0-9.]+)?/(build|containers/create)[ ?]|GET (/v[0-9.]+)?/images/[^ ]*/get[ ?])");
}
