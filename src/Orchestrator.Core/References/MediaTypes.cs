namespace Orchestrator.Core.References;

/// <summary>
/// Manifest and blob media types Orchestrator reads and writes, as registered by the OCI image spec
/// (media-types.md) and the Docker image manifest v2 schema 2. Manifests are always copied as they
/// are: a Docker media type is never converted to an OCI one or back.
/// </summary>
public static class MediaTypes
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciEmpty = "application/vnd.oci.empty.v1+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    /// <summary>Every manifest type, in the order sent in an HTTP <c>Accept</c> header.</summary>
    public static IReadOnlyList<string> AllManifests { get; } = [OciIndex, OciManifest, DockerManifestList, DockerManifest];

    /// <summary>True for an image index or a Docker manifest list.</summary>
    public static bool IsIndex(string? mediaType) => mediaType is OciIndex or DockerManifestList;

    /// <summary>True for an image manifest (OCI or Docker schema 2).</summary>
    public static bool IsImageManifest(string? mediaType) => mediaType is OciManifest or DockerManifest;
}
