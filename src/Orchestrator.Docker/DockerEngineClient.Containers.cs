using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using ContainerSpec = Orchestrator.Core.Ports.ContainerSpec;

namespace Orchestrator.Docker;

// Containers: create, start, wait, kill, logs, remove, list (Engine API v1.41, "Container" section).
public sealed partial class DockerEngineClient
{
    /// <inheritdoc />
    /// <remarks>
    /// <c>POST /containers/create</c>, API v1.41. The container gets no TTY and no stdin. An empty
    /// <see cref="ContainerSpec.Entrypoint"/> is sent as <c>[]</c>, which the engine takes as "no entrypoint"; null omits
    /// the field so the image's entrypoint stays. A memory or process limit of 0 means none (the engine's own reading of 0).
    /// </remarks>
    /// <exception cref="EngineException">The image does not exist (404), or the engine refused the configuration.</exception>
    public async Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrWhiteSpace(spec.Image);

        var parameters = new CreateContainerParameters
        {
            Image = spec.Image,
            Entrypoint = spec.Entrypoint is { } entrypoint ? [.. entrypoint] : null,
            Cmd = spec.Cmd is { } cmd ? [.. cmd] : null,

            // Empty is what the engine reads as "keep the image's user" (daemon merge()).
            User = spec.User ?? string.Empty,
            Env = spec.Env is { } env ? [.. env] : null,
            Labels = spec.Labels is { } labels ? new Dictionary<string, string>(labels) : null,
            AttachStdout = true,
            AttachStderr = true,
            HostConfig = new HostConfig
            {
                NetworkMode = spec.NetworkMode,
                ReadonlyRootfs = spec.ReadonlyRootfs,
                Tmpfs = spec.Tmpfs is { } tmpfs ? new Dictionary<string, string>(tmpfs) : null,
                Memory = spec.MemoryBytes > 0 ? spec.MemoryBytes : 0,
                PidsLimit = spec.PidsLimit > 0 ? spec.PidsLimit : null,
                CapDrop = spec.CapDropAll ? ["ALL"] : null,
                SecurityOpt = spec.NoNewPrivileges ? ["no-new-privileges"] : null,
            },
        };

        var operation = $"creation of a container from {spec.Image}";
        var created = await CallAsync(operation, idempotent: false, async token =>
        {
            try
            {
                return await _docker.Containers.CreateContainerAsync(parameters, token).ConfigureAwait(false);
            }
            catch (DockerImageNotFoundException ex)
            {
                throw EngineErrors.FromStatus(ex, operation, _endpoint, $"build, pull or import {spec.Image} first");
            }
        }, cancellationToken).ConfigureAwait(false);

        if (string.IsNullOrEmpty(created.ID))
        {
            throw new EngineException($"the {operation} on {_endpoint} answered without a container id: check that the engine speaks API {ApiVersion}");
        }

        Log.ContainerCreated(_logger, created.ID, spec.Image);
        foreach (var warning in created.Warnings ?? [])
        {
            Log.ContainerWarning(_logger, created.ID, warning);
        }

        return created.ID;
    }

    /// <inheritdoc />
    /// <remarks><c>POST /containers/{id}/start</c>, API v1.41; a container that is already running (304) is not an error.</remarks>
    public Task StartContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var operation = $"start of container {id}";
        return CallAsync(operation, idempotent: false, async token =>
        {
            if (!await _docker.Containers.StartContainerAsync(id, null, token).ConfigureAwait(false))
            {
                Log.AlreadyDone(_logger, operation, _endpoint.Display, (int)HttpStatusCode.NotModified);
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>POST /containers/{id}/wait</c>, API v1.41, with the engine's default condition <c>not-running</c>, so a container
    /// that already exited answers at once. No client-side timeout: the token bounds the wait.
    /// </remarks>
    public async Task<long> WaitContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var operation = $"wait for container {id}";
        var result = await CallAsync(operation, idempotent: false, token => _docker.Containers.WaitContainerAsync(id, token), cancellationToken).ConfigureAwait(false);
        if (result.Error?.Message is { Length: > 0 } error)
        {
            throw new EngineException($"the {operation} failed on {_endpoint}: {error}", HttpStatusCode.OK, error);
        }

        return result.StatusCode;
    }

    /// <inheritdoc />
    /// <remarks><c>POST /containers/{id}/kill</c>, API v1.41; a container that is not running (409, 304) or already gone (404) is not an error.</remarks>
    public Task KillContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var operation = $"kill of container {id}";
        return CallAsync(operation, idempotent: false, async token =>
        {
            try
            {
                await _docker.Containers.KillContainerAsync(id, new ContainerKillParameters(), token).ConfigureAwait(false);
            }
            catch (DockerApiException ex) when (ex.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
            {
                AlreadyDone(operation, ex);
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /containers/{id}/logs?stdout=1&amp;stderr=1</c>, API v1.41 (the library inspects the container first to learn
    /// whether it has a TTY). Each stream is kept up to 16 MiB; beyond that a final note says how many bytes were dropped.
    /// </remarks>
    public Task<ContainerLogs> GetContainerLogsAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var operation = $"log read of container {id}";
        return CallAsync(operation, idempotent: false, async token =>
        {
            // Only the opening is retried: once output flows, a retry would read it twice.
            using var output = await CallAsync(operation, idempotent: true, innerToken =>
                _docker.Containers.GetContainerLogsAsync(id, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, innerToken), token).ConfigureAwait(false);
            try
            {
                return await ContainerLogCollector.ReadAsync(output, ContainerLogCollector.DefaultMaxBytesPerStream, token).ConfigureAwait(false);
            }
            catch (InvalidDataException ex)
            {
                throw new EngineException($"the {operation} on {_endpoint} returned a log stream that cannot be read ({ex.Message}): Orchestrator reads containers created without a TTY", innerException: ex);
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks><c>DELETE /containers/{id}?force=&amp;v=1</c>, API v1.41; a container already gone (404) is not an error.</remarks>
    public Task RemoveContainerAsync(string id, bool force = true, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var operation = $"removal of container {id}";
        return CallAsync(operation, idempotent: false, async token =>
        {
            try
            {
                await _docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = force, RemoveVolumes = true }, token).ConfigureAwait(false);
            }
            catch (DockerContainerNotFoundException ex)
            {
                AlreadyDone(operation, ex);
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks><c>GET /containers/json?all=1&amp;filters=</c>, API v1.41; the label filter is sent in the engine's map form <c>{"label":{"KEY=VALUE":true}}</c>.</remarks>
    public Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? label, CancellationToken cancellationToken = default)
    {
        var operation = label is null ? "listing of the containers" : $"listing of the containers labelled {label}";
        var parameters = new ContainersListParameters { All = true };
        if (label is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(label);
            parameters.Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [label] = true } };
        }

        return CallAsync<IReadOnlyList<ContainerSummary>>(operation, idempotent: true, async token =>
        {
            var entries = await _docker.Containers.ListContainersAsync(parameters, token).ConfigureAwait(false);
            return [.. entries
                .Where(e => !string.IsNullOrEmpty(e.ID))
                .Select(e => new ContainerSummary(
                    e.ID,
                    e.State ?? string.Empty,
                    e.Labels is { } labels ? new Dictionary<string, string>(labels) : new Dictionary<string, string>(),
                    e.Created == default ? null : new DateTimeOffset(DateTime.SpecifyKind(e.Created, DateTimeKind.Utc)),
                    string.IsNullOrEmpty(e.Command) ? null : e.Command))];
        }, cancellationToken);
    }
}
