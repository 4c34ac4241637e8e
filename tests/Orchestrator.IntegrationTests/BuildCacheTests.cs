using System.Diagnostics;
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
    public async Task Build_Twice_SecondIsAFastCacheHit_ChangedFileRefusedUntilRelockedThenMisses_RevertedFileHits_NoCacheRebuildsTheSameDigest()
    {
        // Given a pipeline built once
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-cache");
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);

        // The fixture deletes what the tags point at; the untagged builds in between are deleted here.
        var built = new List<string>();
        try
        {
            var first = await CliRunner.RunAsync(Config, "build", name, "--json");
            Assert.True(first.ExitCode == 0, first.ToString());
            Assert.False(first.Json.GetProperty("cacheHit").GetBoolean());
            var digest1 = first.Json.GetProperty("digest").GetString()!;
            built.Add(digest1);

            // When it is built again with nothing changed
            var stopwatch = Stopwatch.StartNew();
            var second = await CliRunner.RunAsync(Config, "build", name, "--json");
            stopwatch.Stop();
            output.WriteLine($"cache hit took {stopwatch.ElapsedMilliseconds} ms");

            // Then it is a cache hit with the same digest, well under the time of any build
            Assert.True(second.ExitCode == 0, second.ToString());
            Assert.True(second.Json.GetProperty("cacheHit").GetBoolean(), second.Stdout);
            Assert.Equal(digest1, second.Json.GetProperty("digest").GetString());
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"the cache hit took {stopwatch.ElapsedMilliseconds} ms");

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

            // When built with --no-cache
            var forced = await CliRunner.RunAsync(Config, "build", name, "--no-cache", "--json");

            // Then it really built (not a hit, no engine layer cache), to the very same digest: the build is reproducible
            Assert.True(forced.ExitCode == 0, forced.ToString());
            Assert.False(forced.Json.GetProperty("cacheHit").GetBoolean());
            Assert.Equal(digest1, forced.Json.GetProperty("digest").GetString());
            Assert.Equal(digest1, await SkopeoDigestAsync($"{Staging}/{repository}:1.0.0"));

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
}
