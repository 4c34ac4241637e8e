using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;

namespace Orchestrator.BaseOs.Tests;

public sealed class DebootstrapRootfsBuilderTests
{
    private static readonly BaseImageDefinition Image = new(
        "debian-bookworm", "base-images/debian-bookworm.yaml", "base/debian-bookworm", "slim", new Dictionary<string, BaseVariantDefinition>());

    [Fact]
    public void BuildDebootstrapArguments_SlimWithIncludeAndComponents_AllOptionsBeforeSuiteTargetMirror()
    {
        // Given a minbase variant with extra packages and two components
        var variant = Variant() with { DebootstrapVariant = "minbase", Include = ["ca-certificates", "curl"], Components = ["main", "contrib"] };

        // When the command line is built
        var arguments = DebootstrapRootfsBuilder.BuildDebootstrapArguments(variant, "/work/x/rootfs", "http://m.example/debian");

        // Then it has every option, then suite, target and mirror
        Assert.Equal(
            ["--variant=minbase", "--include=ca-certificates,curl", "--components=main,contrib", "bookworm", "/work/x/rootfs", "http://m.example/debian"],
            arguments);
    }

    [Fact]
    public void BuildDebootstrapArguments_DefaultVariantNoIncludeNoComponents_OnlyPositionals()
    {
        // Given a full variant with debootstrap's defaults
        var variant = Variant() with { DebootstrapVariant = null, Include = [], Components = [] };

        // When the command line is built
        var arguments = DebootstrapRootfsBuilder.BuildDebootstrapArguments(variant, "/r", "http://m.example/debian");

        // Then only suite, target and mirror are passed
        Assert.Equal(["bookworm", "/r", "http://m.example/debian"], arguments);
    }

    [Fact]
    public void ResolveMirrors_NoMirrorConfigured_UsesMachinesMirrorsForTheSuite()
    {
        // Given a variant naming no mirror
        string? askedSuite = null;

        // When mirrors are resolved
        var (mirror, security) = DebootstrapRootfsBuilder.ResolveMirrors(Variant(), suite =>
        {
            askedSuite = suite;
            return ("http://local.example/debian", "http://local.example/debian-security");
        });

        // Then the machine's mirrors for that suite are used
        Assert.Equal("bookworm", askedSuite);
        Assert.Equal("http://local.example/debian", mirror);
        Assert.Equal("http://local.example/debian-security", security);
    }

    [Fact]
    public void ResolveMirrors_OwnMirrorOnly_SecurityIsItsSiblingNotTheMachines()
    {
        // Given a variant with its own mirror but no security mirror
        var variant = Variant() with { Mirror = "http://own.example/debian/" };

        // When mirrors are resolved
        var (mirror, security) = DebootstrapRootfsBuilder.ResolveMirrors(variant, _ => throw new InvalidOperationException("the machine's sources must not be read"));

        // Then the mirror is trimmed and security is its sibling
        Assert.Equal("http://own.example/debian", mirror);
        Assert.Equal("http://own.example/debian-security", security);
    }

    [Fact]
    public void ResolveMirrors_SecurityMirrorOnly_OverridesTheMachines()
    {
        // Given a variant naming only the security mirror
        var variant = Variant() with { SecurityMirror = "http://sec.example/ds" };

        // When mirrors are resolved
        var (mirror, security) = DebootstrapRootfsBuilder.ResolveMirrors(variant, _ => ("http://local.example/debian", "http://local.example/debian-security"));

        // Then it replaces the machine's security mirror only
        Assert.Equal("http://local.example/debian", mirror);
        Assert.Equal("http://sec.example/ds", security);
    }

    [Fact]
    public async Task BuildAsync_VariantFromUpstream_ThrowsInputException()
    {
        // Given a variant copied from an upstream image
        var variant = Variant() with { From = ImageReference.Parse("docker.example/library/debian@" + Digest.Sha256Of([])) };
        var builder = new DebootstrapRootfsBuilder(null, null, _ => "/usr/sbin/debootstrap", () => true, _ => throw new InvalidOperationException());

        // When it is built, Then it is refused as bad input, naming the variant
        var error = await Assert.ThrowsAsync<InputException>(() => builder.BuildAsync(Image, variant, Path.GetTempPath()));
        Assert.Contains("debian-bookworm/slim", error.Message);
        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
    }

    [Fact]
    public async Task BuildAsync_DebootstrapMissing_ThrowsUnavailableSayingToRunSetup()
    {
        // Given a machine without debootstrap
        var builder = new DebootstrapRootfsBuilder(null, null, _ => null, () => true, _ => throw new InvalidOperationException());
        var work = Path.Combine(Path.GetTempPath(), "orchestrator-baseos-" + Guid.NewGuid().ToString("N"));

        // When a variant is built
        var error = await Assert.ThrowsAsync<UnavailableException>(() => builder.BuildAsync(Image, Variant(), work));

        // Then the error says how to fix it, and nothing was created
        Assert.Contains("./scripts/setup", error.Message);
        Assert.Contains("debootstrap", error.Message);
        Assert.False(Directory.Exists(work));
    }

    [Fact]
    public async Task BuildAsync_NotRoot_ThrowsUnavailableSayingToRunAsRoot()
    {
        // Given debootstrap installed but a non-root process
        var builder = new DebootstrapRootfsBuilder(null, null, name => "/usr/sbin/" + name, () => false, _ => throw new InvalidOperationException());

        // When a variant is built
        var error = await Assert.ThrowsAsync<UnavailableException>(() => builder.BuildAsync(Image, Variant(), Path.GetTempPath()));

        // Then the error names root and setup
        Assert.Contains("root", error.Message);
        Assert.Contains("./scripts/setup", error.Message);
    }

    [Fact]
    public async Task BuildAsync_DebootstrapFails_ThrowsJobFailedWithLogTailAndPath()
    {
        // Given a "debootstrap" that prints lines and fails, standing in for the real one
        var work = Path.Combine(Path.GetTempPath(), "orchestrator-baseos-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var fake = Path.Combine(work, "fake-debootstrap");
            await File.WriteAllTextAsync(fake, "#!/bin/sh\nfor i in $(seq 1 30); do echo \"line $i\"; done\nsleep 0.3\necho 'E: Couldn'\\''t download release file' >&2\nexit 1\n");
            File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
            var builder = new DebootstrapRootfsBuilder(null, null, name => name == "debootstrap" ? fake : "/usr/bin/" + name, () => true, _ => ("http://m.example/debian", "http://m.example/debian-security"));
            var lines = new List<string>();

            // When the variant is built
            var error = await Assert.ThrowsAsync<JobFailedException>(() => builder.BuildAsync(Image, Variant(), work, new SynchronousProgress(lines.Add)));

            // Then the message carries the last lines and the log path, and every line reached the progress
            Assert.Contains("E: Couldn't download release file", error.Message);
            Assert.Contains("line 30", error.Message);
            Assert.DoesNotContain("line 5\n", error.Message.Replace("\r", string.Empty) + "\n");
            Assert.Contains("debootstrap.log", error.Message);
            Assert.Contains("line 1", lines);
            Assert.Equal(31, lines.Count);
            var folder = Assert.Single(Directory.GetDirectories(work));
            Assert.Contains("line 17", await File.ReadAllTextAsync(Path.Combine(folder, "debootstrap.log")));
            Assert.False(File.Exists(Path.Combine(folder, "rootfs.tar")));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task BuildAsync_Cancelled_KillsDebootstrapAndThrowsCancelled()
    {
        // Given a "debootstrap" that would run for a minute
        var work = Path.Combine(Path.GetTempPath(), "orchestrator-baseos-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var fake = Path.Combine(work, "slow-debootstrap");
            await File.WriteAllTextAsync(fake, "#!/bin/sh\necho started\nsleep 60\n");
            File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
            var builder = new DebootstrapRootfsBuilder(null, null, name => name == "debootstrap" ? fake : "/usr/bin/" + name, () => true, _ => ("http://m.example/debian", "http://m.example/debian-security"));
            using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var watch = System.Diagnostics.Stopwatch.StartNew();

            // When the build is cancelled after 2 s
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => builder.BuildAsync(Image, Variant(), work, null, cancellation.Token));

            // Then it stopped promptly rather than waiting for the process
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static BaseVariantDefinition Variant() =>
        new("slim", "bookworm", null, null, ["main"], "minbase", true, [], null);

    private sealed class SynchronousProgress(Action<string> report) : IProgress<string>
    {
        private readonly object _gate = new();

        public void Report(string value)
        {
            lock (_gate)
            {
                report(value);
            }
        }
    }
}
