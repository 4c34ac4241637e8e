using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;

namespace Orchestrator.BaseOs;

/// <summary>
/// <see cref="IRootfsBuilder"/> with debootstrap: bootstraps the suite into a fresh folder, makes it
/// look like the official Debian images (deb822 <c>debian.sources</c>, the <c>docker-*</c> apt and
/// dpkg settings, the slim variant's <c>path-exclude</c> rules and removals, no caches, logs or
/// host identity files) and writes it with GNU tar as an uncompressed archive, numeric owners
/// and xattrs preserved, entries sorted by name. Needs root and debootstrap on PATH.
/// </summary>
/// <remarks>
/// Layout under the work directory: <c>NAME-VARIANT-yyyyMMddHHmmss-XXXXXXXX/</c> holding
/// <c>debootstrap.log</c> (every line debootstrap and tar printed), <c>rootfs.tar</c>, and, when
/// debootstrap fails, <c>debootstrap-target.log</c> (its own detailed log from inside the target).
/// The unpacked tree is always deleted before returning; the folder and its logs stay.
/// </remarks>
public sealed class DebootstrapRootfsBuilder : IRootfsBuilder
{
    private static readonly string[] SbinFolders = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly Func<string, string?> _findExecutable;
    private readonly Func<bool> _isRoot;
    private readonly Func<string?, (string Mirror, string SecurityMirror)> _detectMirrors;

    /// <summary>Creates a builder that uses the machine's debootstrap, tar and apt sources.</summary>
    public DebootstrapRootfsBuilder(ILogger<DebootstrapRootfsBuilder>? logger = null, TimeProvider? timeProvider = null)
        : this(logger, timeProvider, FindExecutable, () => Environment.IsPrivilegedProcess, AptSources.DetectMirrors)
    {
    }

    internal DebootstrapRootfsBuilder(
        ILogger? logger,
        TimeProvider? timeProvider,
        Func<string, string?> findExecutable,
        Func<bool> isRoot,
        Func<string?, (string Mirror, string SecurityMirror)> detectMirrors)
    {
        _logger = logger ?? NullLogger.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _findExecutable = findExecutable;
        _isRoot = isRoot;
        _detectMirrors = detectMirrors;
    }

    /// <inheritdoc />
    /// <exception cref="InputException">The variant is copied from an upstream image (<see cref="BaseVariantDefinition.From"/>), not built.</exception>
    public async Task<RootfsArchive> BuildAsync(BaseImageDefinition image, BaseVariantDefinition variant, string workDirectory, IProgress<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(variant);
        ArgumentException.ThrowIfNullOrWhiteSpace(workDirectory);
        if (variant.From is not null)
        {
            throw new InputException(
                $"The variant '{image.Name}/{variant.Name}' comes from the upstream image {variant.From}; it is copied registry to registry, not built with debootstrap. " +
                "Remove 'from' from the variant to build it here.");
        }

        var debootstrap = _findExecutable("debootstrap") ?? throw new UnavailableException(
            "debootstrap is not installed (not found on PATH, /usr/sbin or /sbin): run ./scripts/setup as root, which installs it, then retry.");
        if (!_isRoot())
        {
            throw new UnavailableException(
                "Building a base root filesystem needs root (debootstrap creates device nodes and files owned by other users): run Orchestrator as root, after ./scripts/setup has installed debootstrap.");
        }

        var tar = _findExecutable("tar") ?? throw new UnavailableException("GNU tar is not installed: run ./scripts/setup as root, then retry.");
        var (mirror, securityMirror) = ResolveMirrors(variant, _detectMirrors);

        var folder = Path.Combine(
            Path.GetFullPath(workDirectory),
            $"{image.Name}-{variant.Name}-{_timeProvider.GetUtcNow():yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(folder);
        var rootfs = Path.Combine(folder, "rootfs");
        var logFile = Path.Combine(folder, "debootstrap.log");
        var tarPath = Path.Combine(folder, "rootfs.tar");
        var environment = new Dictionary<string, string>
        {
            ["LC_ALL"] = "C",
            ["DEBIAN_FRONTEND"] = "noninteractive",
            // debootstrap calls chroot, mount and friends from sbin, which a non-login PATH may lack.
            ["PATH"] = string.Join(':', SbinFolders.Concat(["/usr/local/bin", "/usr/bin", "/bin"])),
        };

        _logger.LogInformation("Bootstrapping {Base}/{Variant} ({Suite}) from {Mirror} into {Folder}", image.Name, variant.Name, variant.Suite, mirror, folder);
        var started = _timeProvider.GetTimestamp();
        try
        {
            var bootstrap = await ProcessRunner.RunAsync(debootstrap, BuildDebootstrapArguments(variant, rootfs, mirror), logFile, log, environment, cancellationToken).ConfigureAwait(false);
            if (bootstrap.ExitCode != 0)
            {
                throw new JobFailedException(DescribeFailure(image, variant, mirror, rootfs, folder, logFile, bootstrap));
            }

            // A clean debootstrap exit unmounts what it mounted; anything left would end up in the tar.
            var leftOver = await Mounts.ReleaseAsync(rootfs, logFile, cancellationToken).ConfigureAwait(false);
            if (leftOver.Count > 0)
            {
                throw new JobFailedException($"These mounts inside the new root filesystem could not be unmounted: {string.Join(", ", leftOver)}. Unmount them (umount -l PATH) and delete '{folder}', then retry.");
            }

            // Read before customizing, which deletes the apt lists that hold them.
            var sourceDate = ReadReleaseDate(rootfs);

            log?.Report("Configuring apt sources and image defaults" + (variant.Slim || variant.Distroless ? ", slimming" : string.Empty));
            RootfsCustomizer.Apply(rootfs, AptSources.RenderDebianSources(variant.Suite, mirror, securityMirror, variant.Components, snapshot: variant.Snapshot is not null), variant.Slim || variant.Distroless);

            // Read after customizing (what the image will hold) and before tarring (the tree is deleted after).
            IReadOnlyList<Core.Locks.InstalledPackage> packages;
            IReadOnlyList<string> tarArguments;
            if (variant.Distroless)
            {
                // distroless: only the runtime packages' files, their status.d records and the accounts go in the tar.
                var (paths, kept) = DistrolessRootfs.Reduce(rootfs);
                await ChownNonRootHomeAsync(rootfs, logFile, log, environment, cancellationToken).ConfigureAwait(false);
                var listPath = Path.Combine(folder, "distroless-paths");
                await File.WriteAllTextAsync(listPath, string.Concat(paths.Select(p => p + "\0")), cancellationToken).ConfigureAwait(false);
                packages = kept;
                tarArguments = BuildDistrolessTarArguments(rootfs, listPath, tarPath);
                log?.Report($"distroless: keeping {paths.Count} paths of {packages.Count} packages ({string.Join(", ", packages.Select(p => p.Name))})");
            }
            else
            {
                packages = await DpkgStatusFile.ReadInstalledAsync(rootfs, cancellationToken).ConfigureAwait(false);
                tarArguments = BuildTarArguments(rootfs, tarPath);
                log?.Report($"{packages.Count} packages installed");
            }

            log?.Report($"Writing {tarPath}");
            var archive = await ProcessRunner.RunAsync(tar, tarArguments, logFile, log, environment, cancellationToken).ConfigureAwait(false);
            if (archive.ExitCode != 0)
            {
                throw new JobFailedException(
                    $"tar failed (exit code {archive.ExitCode}) writing '{tarPath}':{Environment.NewLine}{string.Join(Environment.NewLine, archive.Tail)}{Environment.NewLine}" +
                    $"Full log: {logFile}. Check free space under '{workDirectory}'.");
            }

            var size = new FileInfo(tarPath).Length;
            _logger.LogInformation(
                "Built {Base}/{Variant}: {TarPath}, {SizeBytes} bytes in {ElapsedSeconds:F0} s",
                image.Name, variant.Name, tarPath, size, _timeProvider.GetElapsedTime(started).TotalSeconds);
            return new RootfsArchive(tarPath, variant.Suite, mirror, securityMirror, size)
            {
                Snapshot = variant.Snapshot,
                DebootstrapVariant = variant.DebootstrapVariant ?? (variant.Distroless ? "minbase" : null),
                Packages = packages,
                SourceDateEpoch = sourceDate,
            };
        }
        catch (Exception) when (File.Exists(tarPath))
        {
            File.Delete(tarPath);
            throw;
        }
        finally
        {
            await DeleteTreeAsync(rootfs, logFile, log).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The mirror and security mirror for <paramref name="variant"/>: snapshot.debian.org's at its
    /// snapshot, else its own, else the machine's, else the mirror's sibling.
    /// </summary>
    /// <exception cref="InputException">The variant names a snapshot and a mirror or security mirror too.</exception>
    internal static (string Mirror, string SecurityMirror) ResolveMirrors(BaseVariantDefinition variant, Func<string?, (string Mirror, string SecurityMirror)> detectMirrors)
    {
        if (variant.Snapshot is not null)
        {
            if (variant.Mirror is not null || variant.SecurityMirror is not null)
            {
                throw new InputException(
                    $"The variant '{variant.Name}' names snapshot {variant.Snapshot} and a mirror ({variant.Mirror ?? variant.SecurityMirror}); a snapshot is its own mirror. " +
                    "Remove 'mirror:' and 'security-mirror:', or remove 'snapshot:'.");
            }

            return AptSources.SnapshotMirrors(variant.Snapshot);
        }

        if (variant.Mirror is not null)
        {
            return (variant.Mirror.TrimEnd('/'), variant.SecurityMirror?.TrimEnd('/') ?? AptSources.SecurityMirrorFor(variant.Mirror));
        }

        var detected = detectMirrors(variant.Suite);
        return (detected.Mirror, variant.SecurityMirror?.TrimEnd('/') ?? detected.SecurityMirror);
    }

    /// <summary><c>[--variant=X] [--include=a,b] [--components=main,…] SUITE ROOTFS MIRROR</c>.</summary>
    internal static IReadOnlyList<string> BuildDebootstrapArguments(BaseVariantDefinition variant, string rootfs, string mirror)
    {
        var arguments = new List<string>();
        if (!string.IsNullOrEmpty(variant.DebootstrapVariant))
        {
            arguments.Add($"--variant={variant.DebootstrapVariant}");
        }
        else if (variant.Distroless)
        {
            // distroless: cut from the smallest tree debootstrap makes.
            arguments.Add("--variant=minbase");
        }

        var include = variant.Distroless ? variant.Include.Union(DistrolessBase.DebootstrapIncludes, StringComparer.Ordinal).ToList() : variant.Include;
        if (include.Count > 0)
        {
            arguments.Add($"--include={string.Join(',', include)}");
        }

        if (variant.Components.Count > 0)
        {
            arguments.Add($"--components={string.Join(',', variant.Components)}");
        }

        arguments.Add(variant.Suite);
        arguments.Add(rootfs);
        arguments.Add(mirror);
        return arguments;
    }

    /// <summary>The newest <c>Date:</c> of the Release and InRelease files under the new root's <c>var/lib/apt/lists</c>, or null.</summary>
    internal static long? ReadReleaseDate(string rootfs)
    {
        var lists = Path.Combine(rootfs, "var", "lib", "apt", "lists");
        if (!Directory.Exists(lists))
        {
            return null;
        }

        var text = string.Join('\n', Directory.EnumerateFiles(lists)
            .Where(f => f.EndsWith("Release", StringComparison.Ordinal))
            .Select(f => string.Join('\n', File.ReadLines(f).Where(l => l.StartsWith("Date:", StringComparison.Ordinal)))));
        return Core.Locks.AptOutput.ParseNewestReleaseDate(text);
    }

    /// <summary>GNU tar, numeric owners and xattrs kept (ownership and capabilities matter in an image), names sorted so equal trees give equal listings.</summary>
    internal static IReadOnlyList<string> BuildTarArguments(string rootfs, string tarPath) =>
        ["--numeric-owner", "--xattrs", "--sort=name", "-C", rootfs, "-cf", tarPath, "."];

    /// <summary>GNU tar over exactly the listed paths (NUL-separated, relative to the root), numeric owners and xattrs kept.</summary>
    internal static IReadOnlyList<string> BuildDistrolessTarArguments(string rootfs, string listPath, string tarPath) =>
        ["--numeric-owner", "--xattrs", "--no-recursion", "--null", "-C", rootfs, "-cf", tarPath, "-T", listPath];

    // .NET has no chown: the nonroot user's home belongs to it, as in gcr.io/distroless.
    private async Task ChownNonRootHomeAsync(string rootfs, string logFile, IProgress<string>? log, Dictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var chown = _findExecutable("chown") ?? throw new UnavailableException("chown (coreutils) is not installed: install coreutils, then retry.");
        var owner = $"{DistrolessBase.NonRootUser}:{DistrolessBase.NonRootUser}";
        var result = await ProcessRunner.RunAsync(chown, [owner, Path.Combine(rootfs, "home", "nonroot")], logFile, log, environment, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new JobFailedException($"chown {owner} of the distroless home folder failed (exit code {result.ExitCode}); full log: {logFile}");
        }
    }

    private static string DescribeFailure(BaseImageDefinition image, BaseVariantDefinition variant, string mirror, string rootfs, string folder, string logFile, ProcessResult result)
    {
        // debootstrap prints "see debootstrap.log"; that file lives in the tree about to be deleted, so keep a copy beside ours.
        var targetLog = Path.Combine(rootfs, "debootstrap", "debootstrap.log");
        var keptTargetLog = Path.Combine(folder, "debootstrap-target.log");
        var tail = result.Tail;
        if (File.Exists(targetLog))
        {
            File.Copy(targetLog, keptTargetLog, overwrite: true);
            tail = [.. tail, "--- end of debootstrap-target.log ---", .. File.ReadLines(keptTargetLog).TakeLast(ProcessRunner.TailLines)];
        }

        return $"debootstrap failed for {image.Name}/{variant.Name} (suite {variant.Suite}, mirror {mirror}) with exit code {result.ExitCode}. Last lines:{Environment.NewLine}" +
            string.Join(Environment.NewLine, tail) + Environment.NewLine +
            $"Full log: {logFile}" + (File.Exists(keptTargetLog) ? $" and {keptTargetLog}" : string.Empty) +
            ". Check that the mirror is reachable and serves the suite, and that the included packages exist.";
    }

    private async Task DeleteTreeAsync(string rootfs, string logFile, IProgress<string>? log)
    {
        if (!Directory.Exists(rootfs))
        {
            return;
        }

        try
        {
            // A killed debootstrap can leave /proc, /sys or a bind of the host's /dev mounted in the tree: deleting through those would delete host files.
            var leftOver = await Mounts.ReleaseAsync(rootfs, logFile, CancellationToken.None).ConfigureAwait(false);
            if (leftOver.Count > 0)
            {
                var message = $"Not deleting '{rootfs}': still mounted below it: {string.Join(", ", leftOver)}. Unmount them (umount -l PATH) and delete it by hand.";
                _logger.LogWarning("{Message}", message);
                log?.Report(message);
                return;
            }

            Directory.Delete(rootfs, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            _logger.LogWarning(ex, "Could not delete the unpacked root filesystem {Folder}; delete it by hand", rootfs);
            log?.Report($"Could not delete '{rootfs}': {ex.Message}; delete it by hand.");
        }
    }

    private static string? FindExecutable(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var folder in path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(SbinFolders))
        {
            var candidate = Path.Combine(folder, name);
            if (File.Exists(candidate) && !OperatingSystem.IsWindows() && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
            {
                return candidate;
            }
        }

        return null;
    }
}
