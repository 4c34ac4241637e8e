using Docker.DotNet;
using Docker.DotNet.Models;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Docker;

// Images and builds: import, build, push, pull, inspect, tag, remove (Engine API v1.41, "Image" section).
public sealed partial class DockerEngineClient
{
    /// <inheritdoc />
    /// <remarks>
    /// <c>POST /images/create?fromSrc=-</c>, API v1.41. The tar is streamed to the engine, not buffered; the caller keeps
    /// ownership of <paramref name="rootfsTar"/>. The id is the final status of the stream.
    /// </remarks>
    /// <exception cref="InputException"><paramref name="repository"/> or <paramref name="tag"/> is malformed.</exception>
    public async Task<string> ImportImageAsync(Stream rootfsTar, string repository, string tag, IReadOnlyList<string> changes, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rootfsTar);
        ArgumentNullException.ThrowIfNull(changes);
        RequireRepository(repository, requireRegistry: false);
        RequireTag(tag);

        var operation = $"import of {repository}:{tag}";
        Log.ImportStarting(_logger, repository, tag, _endpoint.Display);
        var sink = new EngineMessageSink(operation, _endpoint, progress, _logger);
        var parameters = new ImagesCreateParameters { Repo = repository, Tag = tag, Changes = [.. changes] };
        await CallAsync(operation, idempotent: false, token =>
            _docker.Images.CreateImageAsync(parameters, new CallerOwnedStream(rootfsTar), null, sink, token), cancellationToken).ConfigureAwait(false);

        string? imageId = null;
        foreach (var status in sink.Statuses)
        {
            if (Digest.TryParse(status.Trim(), out var id, out _))
            {
                imageId = id.ToString();
            }
        }

        if (imageId is null)
        {
            throw new EngineException($"the {operation} on {_endpoint} finished without reporting an image id: check that the tar is a root filesystem and that the engine speaks API {ApiVersion}");
        }

        Log.ImportDone(_logger, repository, tag, imageId);
        return imageId;
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>POST /build</c>, API v1.41, legacy builder: the id comes from <c>{"aux":{"ID":…}}</c>, or failing that from the
    /// "Successfully built &lt;id&gt;" line and an inspect. Intermediate containers are always removed. A failing step
    /// throws <see cref="EngineException"/> (status null) quoting the engine's error and the last lines of output.
    /// </remarks>
    /// <exception cref="InputException">A tag is not a valid image reference.</exception>
    public async Task<string> BuildImageAsync(Stream contextTar, ImageBuildRequest request, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contextTar);
        ArgumentNullException.ThrowIfNull(request);
        foreach (var tag in request.Tags)
        {
            if (!ImageReference.TryParse(tag, out var reference, out var error) || reference.Digest is not null)
            {
                throw new InputException($"cannot build with the tag '{tag}': {error ?? "a build tag cannot carry a digest"}; use name[:tag], e.g. 127.0.0.1:5001/apps/hello:1.0");
            }
        }

        var parameters = new ImageBuildParameters
        {
            Tags = [.. request.Tags],
            Dockerfile = request.Dockerfile,
            NetworkMode = request.NetworkMode,
            Labels = request.Labels is { Count: > 0 } labels ? new Dictionary<string, string>(labels) : null,
            NoCache = request.NoCache ? true : null,
            BuildArgs = request.BuildArgs is { Count: > 0 } buildArgs ? new Dictionary<string, string>(buildArgs) : null,
            Remove = true,
            ForceRemove = true,
        };

        var tags = request.Tags.Count == 0 ? "(untagged)" : string.Join(", ", request.Tags);
        var operation = $"build of {tags}";
        Log.BuildStarting(_logger, tags, _endpoint.Display);
        var sink = new EngineMessageSink(operation, _endpoint, progress, _logger) { QuoteOutputOnError = true };
        await CallAsync(operation, idempotent: false, token =>
            _docker.Images.BuildImageFromDockerfileAsync(parameters, new CallerOwnedStream(contextTar), null, null, sink, token), cancellationToken).ConfigureAwait(false);

        var imageId = sink.Aux.Select(aux => EngineMessageSink.AuxString(aux, "ID")).LastOrDefault(id => id is { Length: > 0 });
        var shortId = sink.SuccessfullyBuiltId;
        if (imageId is null && shortId is { Length: > 0 })
        {
            imageId = (await InspectImageAsync(shortId, cancellationToken).ConfigureAwait(false))?.Id;
        }

        if (imageId is null)
        {
            throw new EngineException($"the {operation} on {_endpoint} ended without reporting an image id (no aux.ID, no 'Successfully built' line): the build output above says how far it got; retry, and check that the engine uses the legacy builder of API {ApiVersion}");
        }

        Log.BuildDone(_logger, imageId, tags);
        return imageId;
    }

    /// <inheritdoc />
    /// <remarks><c>POST /images/{name}/push?tag=</c>, API v1.41, with <c>X-Registry-Auth</c> (<c>{}</c> when anonymous).</remarks>
    /// <exception cref="InputException"><paramref name="repository"/> names no registry (the engine would push to Docker Hub) or carries a tag, or <paramref name="tag"/> is malformed.</exception>
    public async Task<Digest> PushImageAsync(string repository, string tag, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        RequireRepository(repository, requireRegistry: true);
        RequireTag(tag);

        var operation = $"push of {repository}:{tag}";
        Log.PushStarting(_logger, repository, tag, _endpoint.Display);
        var sink = new EngineMessageSink(operation, _endpoint, progress, _logger);
        await CallAsync(operation, idempotent: false, token =>
            _docker.Images.PushImageAsync(repository, new ImagePushParameters { Tag = tag }, ToAuthConfig(credentials), sink, token), cancellationToken).ConfigureAwait(false);

        Digest? digest = null;
        foreach (var aux in sink.Aux)
        {
            if (EngineMessageSink.AuxString(aux, "Digest") is not { } reported)
            {
                continue;
            }

            // A push of several tags reports one aux per tag; only ours counts.
            if (EngineMessageSink.AuxString(aux, "Tag") is { } auxTag && auxTag != tag)
            {
                continue;
            }

            if (!Digest.TryParse(reported, out digest, out var error))
            {
                throw new EngineException($"the {operation} on {_endpoint} reported the malformed digest '{reported}' ({error}): check the registry");
            }
        }

        if (digest is null)
        {
            throw new EngineException($"the {operation} on {_endpoint} ended without reporting the manifest digest (no aux.Digest in the stream): the push may not have completed; retry it and check the registry");
        }

        Log.PushDone(_logger, repository, tag, digest.ToString());
        return digest;
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>POST /images/create?fromImage=&amp;tag=</c>, API v1.41. A digest reference is pulled as <c>tag=sha256:…</c>;
    /// when the reference has both, the digest wins.
    /// </remarks>
    /// <exception cref="InputException">The reference names no registry, or neither a tag nor a digest (the engine would pull every tag).</exception>
    public async Task PullImageAsync(ImageReference reference, RegistryCredentials? credentials = null, IProgress<EngineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.Registry is null)
        {
            throw new InputException($"refusing to pull '{reference}': it names no registry, and Orchestrator never pulls implicitly from Docker Hub; write the registry in front, e.g. 127.0.0.1:5001/{reference}");
        }

        if (reference.Digest is null && reference.Tag is null)
        {
            throw new InputException($"refusing to pull '{reference}': it has neither a tag nor a digest, and the engine would pull every tag; add ':tag' or '@sha256:…'");
        }

        var operation = $"pull of {reference}";
        Log.PullStarting(_logger, reference.ToString(), _endpoint.Display);
        var sink = new EngineMessageSink(operation, _endpoint, progress, _logger);
        var parameters = new ImagesCreateParameters { FromImage = reference.Name, Tag = reference.Digest?.ToString() ?? reference.Tag! };
        await CallAsync(operation, idempotent: false, token =>
            _docker.Images.CreateImageAsync(parameters, ToAuthConfig(credentials), sink, token), cancellationToken).ConfigureAwait(false);
        Log.PullDone(_logger, reference.ToString());
    }

    /// <inheritdoc />
    /// <remarks><c>GET /images/{name}/json</c>, API v1.41; a 404 is null.</remarks>
    public Task<ImageInspect?> InspectImageAsync(string nameOrId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrId);
        return CallAsync($"inspection of image {nameOrId}", idempotent: true, async token =>
        {
            ImageInspectResponse image;
            try
            {
                image = await _docker.Images.InspectImageAsync(nameOrId, token).ConfigureAwait(false);
            }
            catch (DockerImageNotFoundException)
            {
                return null;
            }

            var config = image.Config;
            return new ImageInspect(
                image.ID ?? string.Empty,
                image.RepoTags is { } repoTags ? [.. repoTags] : [],
                image.RepoDigests is { } repoDigests ? [.. repoDigests] : [],
                image.Size,
                new ImageRunConfig(
                    string.IsNullOrEmpty(config?.User) ? null : config.User,
                    config?.Env is { } env ? [.. env] : [],
                    config?.Entrypoint is { } entrypoint ? [.. entrypoint] : null,
                    config?.Cmd is { } cmd ? [.. cmd] : null,
                    string.IsNullOrEmpty(config?.WorkingDir) ? null : config.WorkingDir,
                    config?.Labels is { } labels ? new Dictionary<string, string>(labels) : new Dictionary<string, string>()),
                image.Architecture ?? string.Empty,
                image.Os ?? string.Empty);
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks><c>POST /images/{name}/tag?repo=&amp;tag=</c>, API v1.41.</remarks>
    /// <exception cref="InputException"><paramref name="repository"/> or <paramref name="tag"/> is malformed.</exception>
    public Task TagImageAsync(string nameOrId, string repository, string tag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrId);
        RequireRepository(repository, requireRegistry: false);
        RequireTag(tag);
        return CallAsync($"tagging of {nameOrId} as {repository}:{tag}", idempotent: false, token =>
            _docker.Images.TagImageAsync(nameOrId, new ImageTagParameters { RepositoryName = repository, Tag = tag }, token), cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks><c>DELETE /images/{name}?force=</c>, API v1.41; an image already gone (404) is not an error.</remarks>
    public Task RemoveImageAsync(string nameOrId, bool force = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrId);
        var operation = $"removal of image {nameOrId}";
        return CallAsync(operation, idempotent: false, async token =>
        {
            try
            {
                await _docker.Images.DeleteImageAsync(nameOrId, new ImageDeleteParameters { Force = force ? true : null }, token).ConfigureAwait(false);
            }
            catch (DockerImageNotFoundException ex)
            {
                AlreadyDone(operation, ex);
            }
        }, cancellationToken);
    }

    // The library always sends X-Registry-Auth; an empty AuthConfig is the anonymous "{}".
    // As the docker CLI fills AuthConfig: an identity token goes alone (the engine exchanges it), else username and password.
    private static AuthConfig? ToAuthConfig(RegistryCredentials? credentials) => credentials switch
    {
        null => null,
        { IdentityToken: { Length: > 0 } token } => new AuthConfig { IdentityToken = token },
        _ => new AuthConfig { Username = credentials.Username, Password = credentials.Password },
    };
}
