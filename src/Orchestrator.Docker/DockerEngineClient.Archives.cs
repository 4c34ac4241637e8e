using Docker.DotNet;
using Docker.DotNet.Models;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;

namespace Orchestrator.Docker;

// Archives: an image exported as a tar, and the stat of a path inside a container (Engine API v1.41).
public sealed partial class DockerEngineClient
{
    private const string PathStatHeader = "X-Docker-Container-Path-Stat";

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /images/get?names=</c>, API v1.41 (the library's form of "Export an image"; the same tar as
    /// <c>GET /images/{name}/get</c>). Streams: the export is never buffered, so memory stays flat in the image's size.
    /// Only the opening is retried; a failure while copying is <see cref="UnavailableException"/>.
    /// </remarks>
    /// <exception cref="EngineException">The engine has no such image, or the export failed.</exception>
    public async Task SaveImageAsync(string nameOrId, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrId);
        ArgumentNullException.ThrowIfNull(destination);
        var operation = $"export of image {nameOrId}";
        var body = await CallAsync(operation, idempotent: true, async token =>
        {
            try
            {
                return await _docker.Images.SaveImageAsync(nameOrId, token).ConfigureAwait(false);
            }
            catch (DockerImageNotFoundException ex)
            {
                throw EngineErrors.FromStatus(ex, operation, _endpoint, $"build, pull or import {nameOrId} first");
            }
        }, cancellationToken).ConfigureAwait(false);

        await using (body.ConfigureAwait(false))
        {
            await CallAsync(operation, idempotent: false, token => body.CopyToAsync(destination, token), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>HEAD /containers/{id}/archive?path=</c>, API v1.41; the library decodes the <c>X-Docker-Container-Path-Stat</c>
    /// header (base64 of <c>{"name","size","mode","mtime","linkTarget"}</c>). The engine answers 404 both for a missing
    /// path and a missing container, and a HEAD has no body to tell them apart, so a 404 is followed by
    /// <c>GET /containers/{id}/json</c>: a missing container is an <see cref="EngineException"/>, not a null.
    /// </remarks>
    public async Task<PathStat?> StatContainerPathAsync(string id, string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var operation = $"stat of {path} in container {id}";
        var stat = await CallAsync(operation, idempotent: true, async token =>
        {
            try
            {
                var archive = await _docker.Containers.GetArchiveFromContainerAsync(id, new ContainerPathStatParameters { Path = path }, statOnly: true, token).ConfigureAwait(false);
                return archive.Stat is { } found ? new PathStat(found.Name ?? string.Empty, found.Size, found.Mode, found.LinkTarget ?? string.Empty) : null;
            }
            catch (DockerContainerNotFoundException)
            {
                return null;
            }
            catch (InvalidOperationException ex)
            {
                throw new EngineException($"the {operation} on {_endpoint} answered without the {PathStatHeader} header: check that the engine speaks API {ApiVersion}", innerException: ex);
            }
            catch (FormatException ex)
            {
                throw new EngineException($"the {operation} on {_endpoint} answered with an unreadable {PathStatHeader} header: {ex.Message}", innerException: ex);
            }
        }, cancellationToken).ConfigureAwait(false);

        if (stat is null)
        {
            await EnsureContainerExistsAsync(id, operation, cancellationToken).ConfigureAwait(false);
        }

        return stat;
    }

    private Task EnsureContainerExistsAsync(string id, string operation, CancellationToken cancellationToken) =>
        CallAsync(operation, idempotent: true, async token =>
        {
            try
            {
                await _docker.Containers.InspectContainerAsync(id, token).ConfigureAwait(false);
            }
            catch (DockerContainerNotFoundException ex)
            {
                throw EngineErrors.FromStatus(ex, operation, _endpoint, "create the container first");
            }
        }, cancellationToken);
}
