using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ProcessWitness;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// The main job end to end through the CLI, against the real Docker Engine, the two real registries
/// and debootstrap; every outcome is read back with skopeo or the docker CLI, not with the product.
/// </summary>
[Collection(RealPartsCollection.Name)]
[Trait("Category", "Integration")]
public sealed class EndToEndTests(RealPartsFixture fixture)
{
    private const string Staging = TestWorkspace.Staging;
    private const string Production = TestWorkspace.Production;

    private string Config => fixture.Workspace.ConfigPath;

    [Fact]
    public async Task BaseBuild_SlimVariant_StagingServesThePrintedDigestOfASlimImage()
    {
        // Given the fixture ran 'orchestrator base build it-bookworm/slim'
        var printed = fixture.BaseReference;

        // Then staging's slim tag resolves, for skopeo, to the digest the CLI printed
        Assert.StartsWith($"{Staging}/{fixture.Workspace.BaseRepository}", printed, StringComparison.Ordinal);
        var digest = printed.Split('@')[1];
        Assert.Equal(digest, await SkopeoDigestAsync($"{Staging}/{fixture.Workspace.BaseRepository}:slim"));

        // And the image is slim the way the official images are, with the suite's updates and security sources
        var probe = await DockerShellAsync(printed,
            "echo docs=$(find /usr/share/doc -type f ! -name copyright | wc -l);" +
            "echo copyrights=$(find /usr/share/doc -name copyright | wc -l);" +
            "echo man=$(find /usr/share/man -type f 2>/dev/null | wc -l);" +
            "test -f /etc/dpkg/dpkg.cfg.d/docker && echo excludes=yes;" +
            "grep -h '^Suites:' /etc/apt/sources.list.d/debian.sources");
        Assert.True(probe.ExitCode == 0, probe.Stderr);
        Assert.Contains("docs=0", probe.Stdout);
        Assert.DoesNotContain("copyrights=0", probe.Stdout);
        Assert.Contains("man=0", probe.Stdout);
        Assert.Contains("excludes=yes", probe.Stdout);
        Assert.Contains("bookworm-updates", probe.Stdout);
        Assert.Contains("bookworm-security", probe.Stdout);
    }

    [Fact]
    public async Task BaseBuild_Again_SameDigestDatedTheReleaseFile()
    {
        // Given the slim base the fixture built with debootstrap
        // When it is built once more from scratch (a new debootstrap run, minutes later)
        var again = await CliRunner.RunAsync(Config, "base", "build", "it-bookworm/slim", "--json");

        // Then the mirror served the same packages, so the digest is the same, and the image is dated its Release file, not the clock
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(fixture.BaseReference, again.Json.GetProperty("reference").GetString());
        using var inspect = JsonDocument.Parse(await SkopeoInspectAsync(fixture.BaseReference));
        var created = DateTimeOffset.Parse(inspect.RootElement.GetProperty("Created").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(created < DateTimeOffset.UtcNow.AddHours(-1), $"the base is dated {created}, which looks like the build clock");
    }

    [Fact]
    public async Task Build_PinnedPackage_PushedToStagingWithExactVersionAndLabels()
    {
        // Given a pipeline on the slim base pinning hello=2.10-3
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-build");
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);

        // When it is built
        var build = await CliRunner.RunAsync(Config, "build", name, "--json");

        // Then both tags in staging point at the printed digest
        Assert.True(build.ExitCode == 0, build.ToString());
        var digest = build.Json.GetProperty("digest").GetString()!;
        Assert.Equal($"{Staging}/{repository}@{digest}", build.Json.GetProperty("reference").GetString());
        Assert.Equal(digest, await SkopeoDigestAsync($"{Staging}/{repository}:1.0.0"));
        Assert.Equal(digest, await SkopeoDigestAsync($"{Staging}/{repository}:latest"));

        // And the image carries the OCI annotation labels, built on the base's digest
        using var inspect = JsonDocument.Parse(await SkopeoInspectAsync($"{Staging}/{repository}@{digest}"));
        var labels = inspect.RootElement.GetProperty("Labels");
        Assert.Equal("1.0.0", labels.GetProperty("org.opencontainers.image.version").GetString());
        Assert.Equal(fixture.BaseReference.Split('@')[1], labels.GetProperty("org.opencontainers.image.base.digest").GetString());
        Assert.Equal($"pipelines/{name}.yaml", labels.GetProperty("org.opencontainers.image.source").GetString());

        // And exactly the pinned version is installed, with the slim base's excludes applied to it
        var dpkg = await DockerShellAsync($"{Staging}/{repository}@{digest}",
            "dpkg-query -W -f '${Version}\\n' hello; test -e /usr/share/man/man1/hello.1.gz && echo man-page-present || true");
        Assert.Equal("2.10-3", dpkg.Stdout.Trim());
    }

    [Fact]
    public async Task Validate_FailingTest_RecordsFailureAndBlocksPromotion()
    {
        // Given a built image whose validation expects a greeting it does not print
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-broken", greetingPattern: "^goodbye$");
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);
        var build = await CliRunner.RunAsync(Config, "build", name, "--json");
        Assert.True(build.ExitCode == 0, build.ToString());
        var digest = build.Json.GetProperty("digest").GetString()!;

        // When it is validated
        var validation = await CliRunner.RunAsync(Config, "validate", name, "--digest", digest, "--json");

        // Then validation fails (exit 1), naming the failing test with the output it saw
        Assert.True(validation.ExitCode == 1, validation.ToString());
        Assert.False(validation.Json.GetProperty("passed").GetBoolean());
        var greets = validation.Json.GetProperty("tests").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "greets");
        Assert.False(greets.GetProperty("passed").GetBoolean());
        Assert.Contains("hello from orchestrator", greets.GetProperty("detail").GetString());
        Assert.True(validation.Json.GetProperty("tests").EnumerateArray()
            .Where(t => t.GetProperty("name").GetString() != "greets").All(t => t.GetProperty("passed").GetBoolean()), validation.Stdout);

        // And the promotion is refused with nothing in production
        var promotion = await CliRunner.RunAsync(Config, "promote", name, "--digest", digest, "--to", "production");
        Assert.True(promotion.ExitCode == 1, promotion.ToString());
        Assert.Contains("no passing validation", promotion.Stderr);
        Assert.False(await SkopeoExistsAsync($"{Production}/{repository}:1.0.0"));
        Assert.False(await SkopeoExistsAsync($"{Production}/{repository}@{digest}"));
    }

    [Fact]
    public async Task Run_ThroughEveryStage_ProductionServesStagingsDigestAndItRuns()
    {
        // Given a pipeline
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-run");
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);

        // When it runs through every stage
        var run = await CliRunner.RunAsync(Config, "run", name, "--json");

        // Then it prints the production reference pinned by digest
        Assert.True(run.ExitCode == 0, run.ToString());
        var digest = run.Json.GetProperty("digest").GetString()!;
        Assert.Equal($"{Production}/{repository}@{digest}", run.Json.GetProperty("reference").GetString());

        // And skopeo reads the same digest for the tag in staging and in production
        Assert.Equal(digest, await SkopeoDigestAsync($"{Staging}/{repository}:1.0.0"));
        Assert.Equal(digest, await SkopeoDigestAsync($"{Production}/{repository}:1.0.0"));
        Assert.Equal(digest, await SkopeoDigestAsync($"{Production}/{repository}:latest"));

        // And the production digest runs under docker
        var output = await DockerRunAsync($"{Production}/{repository}@{digest}");
        Assert.True(output.ExitCode == 0, output.Stderr);
        Assert.Equal("hello from orchestrator", output.Stdout.Trim());

        // And promoting the same digest again is a no-op that succeeds (tags already point at it)
        var again = await CliRunner.RunAsync(Config, "promote", name, "--digest", digest, "--to", "production", "--attest", "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(0, again.Json.GetProperty("copy").GetProperty("blobsCopied").GetInt32());

        // And with --attest its record is attached to the production digest as an in-toto statement, listed under the fallback tag
        var statement = again.Json.GetProperty("statement").GetString()!;
        var fallback = await RunAsync("skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{Production}/{repository}:{digest.Replace(':', '-')}");
        Assert.True(fallback.ExitCode == 0, fallback.Stderr);
        using var index = JsonDocument.Parse(fallback.Stdout);
        var listed = index.RootElement.GetProperty("manifests").EnumerateArray().Single(m => m.GetProperty("digest").GetString() == statement);
        Assert.Equal("application/vnd.in-toto+json", listed.GetProperty("artifactType").GetString());
    }

    [Fact]
    public async Task Promote_TagAlreadyAtAnotherDigest_RefusedAndProductionUntouched()
    {
        // Given version 1.0.0 of a pipeline released to production
        var name = await fixture.Workspace.AddLockedHelloPipelineAsync("hello-conflict");
        var repository = $"{fixture.Workspace.Prefix}/apps/{name}";
        fixture.Track(repository);
        var run = await CliRunner.RunAsync(Config, "run", name, "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        var released = run.Json.GetProperty("digest").GetString()!;

        // And a rebuild of the same version with a changed script (builds are reproducible, so only a change gives another digest)
        var script = Path.Combine(fixture.Workspace.Root, "pipelines", name, "greet.sh");
        await File.AppendAllTextAsync(script, "# patched after the release\n");
        await fixture.Workspace.LockAsync(name);
        var rebuild = await CliRunner.RunAsync(Config, "build", name, "--json");
        Assert.True(rebuild.ExitCode == 0, rebuild.ToString());
        var rebuilt = rebuild.Json.GetProperty("digest").GetString()!;
        Assert.NotEqual(released, rebuilt);

        // When the unvalidated rebuild is promoted, it is refused
        var unvalidated = await CliRunner.RunAsync(Config, "promote", name, "--digest", rebuilt, "--to", "production");
        Assert.True(unvalidated.ExitCode == 1, unvalidated.ToString());
        Assert.Contains("no passing validation", unvalidated.Stderr);

        // When it passes validation, the dry run and the promotion both refuse the moving tag
        var validation = await CliRunner.RunAsync(Config, "validate", name, "--digest", rebuilt);
        Assert.True(validation.ExitCode == 0, validation.ToString());
        var dryRun = await CliRunner.RunAsync(Config, "promote", name, "--digest", rebuilt, "--to", "production", "--dry-run");
        var promotion = await CliRunner.RunAsync(Config, "promote", name, "--digest", rebuilt, "--to", "production");
        Assert.True(dryRun.ExitCode == 1, dryRun.ToString());
        Assert.True(promotion.ExitCode == 1, promotion.ToString());
        Assert.Contains($"tag '1.0.0' already points at {released}", promotion.Stderr);

        // Then production still serves the released digest and nothing of the rebuild
        Assert.Equal(released, await SkopeoDigestAsync($"{Production}/{repository}:1.0.0"));
        Assert.Equal(released, await SkopeoDigestAsync($"{Production}/{repository}:latest"));
        Assert.False(await SkopeoExistsAsync($"{Production}/{repository}@{rebuilt}"));

        // When the version is bumped and 'latest' is declared floating, the next release goes through
        await fixture.Workspace.AddLockedHelloPipelineAsync(name, version: "1.0.1", floatingLatest: true);
        var next = await CliRunner.RunAsync(Config, "run", name, "--json");
        Assert.True(next.ExitCode == 0, next.ToString());
        var nextDigest = next.Json.GetProperty("digest").GetString()!;

        // Then 'latest' moved to it, the new version tag points at it, and 1.0.0 never moved
        Assert.Equal(nextDigest, await SkopeoDigestAsync($"{Production}/{repository}:1.0.1"));
        Assert.Equal(nextDigest, await SkopeoDigestAsync($"{Production}/{repository}:latest"));
        Assert.Equal(released, await SkopeoDigestAsync($"{Production}/{repository}:1.0.0"));
    }
}
