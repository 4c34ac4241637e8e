using System.Globalization;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Images;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Sbom;

/// <summary>An SBOM attached to an image: the referrer manifest's digest and how many dpkg packages it lists.</summary>
/// <param name="Digest">The artifact manifest's digest (what the fallback index lists).</param>
/// <param name="PackageCount">dpkg packages in the document, not counting the image itself.</param>
/// <param name="Document">The document attached.</param>
public sealed record SbomAttachment(Digest Digest, int PackageCount, SpdxDocument Document);

/// <summary>
/// Generates an image's SPDX 2.3 SBOM from its dpkg status and attaches it to the digest in a stage as
/// an OCI referrer (artifact type <c>application/spdx+json</c>; fallback tag <c>sha256-HEX</c> on a
/// registry without the referrers API).
/// </summary>
public sealed partial class SbomWorkflow(IDockerEngine engine, IEngineCredentialSource engineCredentials, IRegistryClientFactory registries, IJobReporter reporter, ILogger<SbomWorkflow> logger)
{
    /// <summary>Labels every container this workflow creates, so leftovers can be found and removed.</summary>
    public const string ContainerLabel = "io.orchestrator.sbom";

    private readonly ILogger<SbomWorkflow> _logger = logger;

    /// <summary>
    /// Reads the installed packages of <paramref name="image"/> by running <c>dpkg-query -W</c> in a container
    /// created FROM that exact digest (no network, every capability dropped, read-only root, entrypoint
    /// replaced). The engine must have the image (it does right after a build pushed it).
    /// </summary>
    /// <exception cref="JobFailedException">dpkg-query exited non-zero (the image has no dpkg database).</exception>
    /// <exception cref="EngineException">The engine failed.</exception>
    public async Task<IReadOnlyList<DpkgPackage>> ReadPackagesAsync(ImageReference image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        var digest = image.Digest ?? throw new ArgumentException($"{image} has no digest", nameof(image));
        var spec = new ContainerSpec(
            image.ToString(),
            Entrypoint: ["dpkg-query"],
            Cmd: ["-W", "-f", DpkgStatus.QueryFormat],
            ReadonlyRootfs: true,
            Labels: new Dictionary<string, string> { [ContainerLabel] = digest.ToString() });
        var id = await engine.CreateContainerAsync(spec, cancellationToken).ConfigureAwait(false);
        try
        {
            await engine.StartContainerAsync(id, cancellationToken).ConfigureAwait(false);
            var exitCode = await engine.WaitContainerAsync(id, cancellationToken).ConfigureAwait(false);
            var logs = await engine.GetContainerLogsAsync(id, cancellationToken).ConfigureAwait(false);
            if (exitCode != 0)
            {
                throw new JobFailedException(
                    $"dpkg-query exited {exitCode} in {image}: {logs.Stderr.Trim()}. The image needs dpkg and its status database for an SBOM; build it on a Debian base");
            }

            return DpkgStatus.ParseInstalled(logs.Stdout);
        }
        finally
        {
            await engine.RemoveContainerAsync(id, force: true, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Generates the SBOM of <paramref name="image"/> (a digest-pinned reference in <paramref name="stage"/>)
    /// and attaches it there as a referrer, dated <paramref name="created"/> (the build's source date, so the same
    /// image gets the same SBOM digest). Pulls the image by digest first: builds push it without the engine.
    /// <paramref name="pythonPackages"/> (a Python pipeline's pinned requirements) are listed beside dpkg's.
    /// Reports the step "attaching SBOM (N packages)".
    /// </summary>
    /// <exception cref="JobFailedException">The packages could not be read or the SBOM could not be attached; the message says what to do.</exception>
    /// <remarks>
    /// With <paramref name="fromStatusDirectory"/> (an image on a distroless base, which has no dpkg-query) the packages are
    /// read from the image's <c>var/lib/dpkg/status.d</c> records in its layers, through the registry.
    /// </remarks>
    public async Task<SbomAttachment> AttachAsync(StageDefinition stage, ImageReference image, DateTimeOffset created, IReadOnlyList<PypiPackage>? pythonPackages = null, CancellationToken cancellationToken = default, bool fromStatusDirectory = false)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentNullException.ThrowIfNull(image);
        var digest = image.Digest ?? throw new ArgumentException($"{image} has no digest", nameof(image));
        try
        {
            var pullCredentials = await engineCredentials.GetAsync(stage.Registry, cancellationToken).ConfigureAwait(false);
            await engine.PullImageAsync(image, pullCredentials, cancellationToken: cancellationToken).ConfigureAwait(false);
            IReadOnlyList<DpkgPackage> packages = fromStatusDirectory
                ? [.. Locks.DpkgStatusDirectory.ParseInstalled((await Locks.DpkgStatusDirectory.ReadRecordsAsync(registries.Create(stage.Registry), image.Repository, digest, cancellationToken).ConfigureAwait(false)).Values)
                    .Select(p => new DpkgPackage(p.Name, p.Version, p.Architecture))]
                : await ReadPackagesAsync(image, cancellationToken).ConfigureAwait(false);
            var document = SpdxDocument.Create(image, packages, created, pythonPackages);
            reporter.Step($"attaching SBOM ({document.Packages.Count} packages{(document.PythonPackages.Count > 0 ? $", {document.PythonPackages.Count} Python packages" : string.Empty)}) to {image}");

            var registry = registries.Create(stage.Registry);
            var subject = await registry.HeadManifestAsync(image.Repository, digest.ToString(), cancellationToken).ConfigureAwait(false)
                ?? throw new JobFailedException($"{image} is not in {stage.Name} any more, so its SBOM has nothing to attach to: rerun the build");
            var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [ArtifactManifest.CreatedAnnotation] = document.Created.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            };
            var referrer = await ArtifactPublisher.PushAsync(
                registry, image.Repository, subject, SpdxDocument.MediaType, SpdxDocument.MediaType, document.ToJson(), annotations, cancellationToken).ConfigureAwait(false);
            LogAttached(image.Repository, digest, referrer.Digest, document.Packages.Count);
            return new SbomAttachment(referrer.Digest, document.Packages.Count, document);
        }
        catch (OrchestratorException ex) when (ex is not InputException)
        {
            throw new JobFailedException(
                $"{image} was pushed, but its SBOM could not be attached ({ex.Message}); the build is not recorded: fix that, then rerun the build", ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SBOM {Sbom} of {Repository}@{Digest} attached ({Packages} packages)")]
    private partial void LogAttached(string repository, Digest digest, Digest sbom, int packages);
}
