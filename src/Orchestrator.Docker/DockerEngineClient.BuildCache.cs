using System.Buffers;
using System.Text.Json;
using Docker.DotNet;
using Orchestrator.Core.Errors;

namespace Orchestrator.Docker;

/// <summary>What <c>POST /build/prune</c> removed.</summary>
/// <param name="CachesDeleted">Ids of the build cache records removed.</param>
/// <param name="SpaceReclaimed">Bytes freed on the engine's disk.</param>
public sealed record BuildCachePruneResult(IReadOnlyList<string> CachesDeleted, long SpaceReclaimed);

// The build cache: the one Engine API call Docker.DotNet.Enhanced 4.4.1 does not have, made by hand over the
// library's own transport (same socket or TLS connection settings).
public sealed partial class DockerEngineClient
{
    /// <summary>
    /// <c>POST /build/prune</c> (Engine API v1.39+; <c>all</c> and <c>filters</c> as in v1.41): removes build cache
    /// records. Not retried, like every call that changes state.
    /// </summary>
    /// <param name="all">True to remove every unused record, not only dangling ones.</param>
    /// <param name="filters">Engine filters, e.g. <c>until</c> → <c>["24h"]</c>, <c>id</c> → <c>[…]</c>; null for none.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The removed records and the bytes reclaimed.</returns>
    /// <exception cref="EngineException">The engine refused (e.g. an unknown filter, HTTP 400) or answered JSON that is not a prune report.</exception>
    /// <exception cref="UnavailableException">No engine answers.</exception>
    public Task<BuildCachePruneResult> PruneBuildCacheAsync(bool all = false, IReadOnlyDictionary<string, string[]>? filters = null, CancellationToken cancellationToken = default)
    {
        var operation = "prune of the build cache";
        return CallAsync(operation, idempotent: false, async token =>
        {
            var (handler, baseAddress) = _rawTransport();
            using var http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, $"{ApiVersion}/build/prune{PruneQuery(all, filters)}"));
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw EngineErrors.FromStatus(new DockerApiException(response.StatusCode, body), operation, _endpoint);
            }

            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            var deleted = root.TryGetProperty("CachesDeleted", out var ids) && ids.ValueKind == JsonValueKind.Array
                ? ids.EnumerateArray().Where(id => id.ValueKind == JsonValueKind.String).Select(id => id.GetString()!).ToList()
                : [];
            var reclaimed = root.TryGetProperty("SpaceReclaimed", out var space) && space.ValueKind == JsonValueKind.Number ? space.GetInt64() : 0;
            return new BuildCachePruneResult(deleted, reclaimed);
        }, cancellationToken);
    }

    private static string PruneQuery(bool all, IReadOnlyDictionary<string, string[]>? filters)
    {
        var parts = new List<string>();
        if (all)
        {
            parts.Add("all=1");
        }

        if (filters is { Count: > 0 })
        {
            // The engine's filter form, {"name":["value",…]}, written by hand: no reflection under AOT.
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                foreach (var (name, values) in filters)
                {
                    writer.WriteStartArray(name);
                    foreach (var value in values)
                    {
                        writer.WriteStringValue(value);
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndObject();
            }

            parts.Add("filters=" + Uri.EscapeDataString(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan)));
        }

        return parts.Count == 0 ? string.Empty : "?" + string.Join('&', parts);
    }
}
