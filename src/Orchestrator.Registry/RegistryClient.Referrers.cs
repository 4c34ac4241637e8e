using System.Net;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Registry;

/// <summary>
/// Referrers (distribution spec v1.1), the API and its fallback together, as regclient's <c>referrer.go</c> has them:
/// <list type="bullet">
/// <item>"Listing Referrers": <c>GET /v2/&lt;name&gt;/referrers/&lt;digest&gt;</c>, an image index of the manifests
/// whose <c>subject</c> is the digest, paginated by <c>Link</c>;</item>
/// <item>"Referrers Tag Schema": on a registry without the API, the tag <c>&lt;alg&gt;-&lt;hex&gt;</c>
/// (<see cref="Digest.ToReferrersTag"/>) holds that index, and whoever pushes a referrer keeps it up to date
/// ("Pushing Manifests with Subject").</item>
/// </list>
/// The fallback index is updated read-modify-write: two writers racing on one subject can lose an entry (the
/// spec accepts this; a rerun adds it back).
/// </summary>
internal sealed partial class RegistryClient
{
    // A registry whose Link pagination loops would otherwise keep the client reading forever.
    private const int MaxReferrerPages = 1_000;

    /// <inheritdoc />
    public async Task<IReadOnlyList<Referrer>?> GetReferrersAsync(string repository, Digest subject, CancellationToken cancellationToken = default)
    {
        var referrers = new List<Referrer>();
        Uri? next = Url($"v2/{repository}/referrers/{subject}");
        var operation = $"GET referrers of {repository}@{subject}";
        for (var pages = 1; next is not null; pages++)
        {
            if (pages > MaxReferrerPages)
            {
                throw new RegistryException($"{BaseText}: the referrers of {repository}@{subject} did not end after {MaxReferrerPages} pages: the registry's Link pagination loops; report it to the registry's operator");
            }

            using var response = await SendAsync(AcceptIndex(new HttpRequestMessage(HttpMethod.Get, next)), RegistryRequest.PullScope(repository), operation, cancellationToken, buffer: false).ConfigureAwait(false);

            // A registry with the API never answers 404 (spec "Listing Referrers"); distribution 2.8 does, with a plain-text page.
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            await EnsureSuccessAsync(response, operation, cancellationToken).ConfigureAwait(false);
            if (response.Content.Headers.ContentType?.MediaType != MediaTypes.OciIndex)
            {
                return null;
            }

            var body = await ResponseBodies.ReadLimitedAsync(response, MaxManifestBytes, cancellationToken).ConfigureAwait(false)
                ?? throw new RegistryException($"{BaseText}: {operation} served more than {MaxManifestBytes} bytes in one page: check the registry", response.StatusCode);
            try
            {
                referrers.AddRange(ReferrersIndex.Parse(body, $"{BaseText}/{repository} referrers of {subject}"));
            }
            catch (JobFailedException ex)
            {
                throw new RegistryException($"{BaseText}: {operation} answered an invalid index ({ex.Message})", response.StatusCode, innerException: ex);
            }

            next = RegistryLinks.NextLink(response);
        }

        return referrers;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Referrer>> ListReferrersAsync(string repository, Digest subject, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subject);
        if (await GetReferrersAsync(repository, subject, cancellationToken).ConfigureAwait(false) is { } listed)
        {
            return listed;
        }

        var index = await ReadFallbackIndexAsync(repository, subject, cancellationToken).ConfigureAwait(false);
        return index is null ? [] : ReferrersIndex.Parse(index.Content, FallbackName(repository, subject));
    }

    /// <inheritdoc />
    public async Task<bool> AddReferrersAsync(string repository, Digest subject, IReadOnlyList<Referrer> referrers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(referrers);
        if (await GetReferrersAsync(repository, subject, cancellationToken).ConfigureAwait(false) is not null)
        {
            // The registry indexes each manifest's subject itself.
            return false;
        }

        var tag = subject.ToReferrersTag();
        var current = await ReadFallbackIndexAsync(repository, subject, cancellationToken).ConfigureAwait(false);
        var updated = ReferrersIndex.Add(current?.Content, referrers, FallbackName(repository, subject));
        if (updated is null)
        {
            return false;
        }

        var digest = Digest.Sha256Of(updated);
        var confirmed = await PutManifestAsync(repository, tag, updated, MediaTypes.OciIndex, cancellationToken).ConfigureAwait(false);
        if (confirmed != digest)
        {
            throw new DigestMismatchException(
                $"{Endpoint.Host}/{repository} stored the referrers index '{tag}' as {confirmed}, not {digest}: the registry rewrote the index; use a registry that stores manifests unchanged");
        }

        return true;
    }

    private async Task<ManifestContent?> ReadFallbackIndexAsync(string repository, Digest subject, CancellationToken cancellationToken)
    {
        var tag = subject.ToReferrersTag();
        if (await HeadManifestAsync(repository, tag, cancellationToken).ConfigureAwait(false) is null)
        {
            return null;
        }

        return await GetManifestAsync(repository, tag, cancellationToken).ConfigureAwait(false);
    }

    private string FallbackName(string repository, Digest subject) => $"{Endpoint.Host}/{repository}:{subject.ToReferrersTag()}";
}
