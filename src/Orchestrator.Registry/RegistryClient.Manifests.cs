using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Registry;

/// <summary>
/// Manifests: <c>/v2/&lt;name&gt;/manifests/&lt;reference&gt;</c> (distribution spec v1.1 "Pulling manifests",
/// "Checking if content exists", "Pushing Manifests", "Deleting Manifests"). Every read sends an
/// <c>Accept</c> of every manifest media type Orchestrator understands (<see cref="MediaTypes.AllManifests"/>),
/// so a registry never down-converts an index or an OCI manifest; a manifest read by digest is verified
/// against it.
/// </summary>
internal sealed partial class RegistryClient
{
    /// <inheritdoc />
    public async Task<Descriptor?> HeadManifestAsync(string repository, string reference, CancellationToken cancellationToken = default)
    {
        var operation = $"HEAD manifest {repository}{Separator(reference)}{reference}";
        using var response = await SendAsync(ManifestRequest(HttpMethod.Head, repository, reference), RegistryRequest.PullScope(repository), operation, cancellationToken, buffer: false).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        var size = response.Content.Headers.ContentLength;
        if (TryGetDigestHeader(response, out var digest) && mediaType is not null && size is not null)
        {
            return new Descriptor(mediaType, digest, size.Value);
        }

        // Some registries omit the digest on HEAD; the bytes say it just as well.
        var manifest = await GetManifestAsync(repository, reference, cancellationToken).ConfigureAwait(false);
        return new Descriptor(manifest.MediaType, manifest.Digest, manifest.Content.Length);
    }

    /// <inheritdoc />
    public async Task<ManifestContent> GetManifestAsync(string repository, string reference, CancellationToken cancellationToken = default)
    {
        var operation = $"GET manifest {repository}{Separator(reference)}{reference}";
        using var response = await SendAsync(ManifestRequest(HttpMethod.Get, repository, reference), RegistryRequest.PullScope(repository), operation, cancellationToken, buffer: false).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        var content = await ResponseBodies.ReadLimitedAsync(response, MaxManifestBytes, cancellationToken).ConfigureAwait(false)
            ?? throw new RegistryException($"{BaseText}: {operation} served more than {MaxManifestBytes} bytes; registries limit manifests to 4 MiB, so this is not a manifest: check the reference", response.StatusCode);

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (string.IsNullOrEmpty(mediaType) || mediaType is "application/json" or "text/plain" or "application/octet-stream")
        {
            mediaType = ReadMediaTypeField(content) ?? mediaType ?? "application/octet-stream";
        }

        Digest actual;
        if (Digest.TryParse(reference, out var requested, out _))
        {
            actual = DigestOf(requested.Algorithm, content);
            if (actual != requested)
            {
                throw new DigestMismatchException(
                    $"{BaseText}/{repository}@{requested} served a manifest that hashes to {actual}: the registry's storage is corrupt or a proxy altered the bytes; re-push the image");
            }
        }
        else
        {
            actual = DigestOf(TryGetDigestHeader(response, out var announced) ? announced.Algorithm : "sha256", content);
        }

        return new ManifestContent(mediaType, actual, content);
    }

    /// <inheritdoc />
    public async Task<Digest> PutManifestAsync(string repository, string reference, ReadOnlyMemory<byte> content, string mediaType, CancellationToken cancellationToken = default)
    {
        var operation = $"PUT manifest {repository}{Separator(reference)}{reference}";
        var request = new HttpRequestMessage(HttpMethod.Put, Url($"v2/{repository}/manifests/{reference}")) { Content = new ReadOnlyMemoryContent(content) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var response = await SendAsync(request, RegistryRequest.PushScope(repository), operation, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
        return TryGetDigestHeader(response, out var digest) ? digest : Digest.Sha256Of(content.Span);
    }

    /// <inheritdoc />
    public async Task DeleteManifestAsync(string repository, Digest digest, CancellationToken cancellationToken = default)
    {
        var operation = $"DELETE manifest {repository}@{digest}";
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Delete, Url($"v2/{repository}/manifests/{digest}")), RegistryRequest.PushScope(repository), operation, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return;
        }

        await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
    }

    private HttpRequestMessage ManifestRequest(HttpMethod method, string repository, string reference)
    {
        var request = new HttpRequestMessage(method, Url($"v2/{repository}/manifests/{reference}"));
        foreach (var mediaType in MediaTypes.AllManifests)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
        }

        return request;
    }

    private static Digest DigestOf(string algorithm, byte[] content) =>
        Digest.FromHash(algorithm, algorithm == "sha512" ? SHA512.HashData(content) : SHA256.HashData(content));

    // Registries that serve a manifest as application/json leave its type to the body's own mediaType field.
    private static string? ReadMediaTypeField(byte[] content)
    {
        try
        {
            using var document = JsonDocument.Parse(content);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("mediaType", out var m)
                && m.ValueKind == JsonValueKind.String
                    ? m.GetString()
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
