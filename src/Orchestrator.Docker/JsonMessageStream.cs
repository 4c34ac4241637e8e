using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;

namespace Orchestrator.Docker;

/// <summary>
/// One object of an engine JSON message stream (moby pkg/jsonmessage, JSONMessage): build output lines,
/// pull/push/import statuses with byte progress, in-stream errors and auxiliary results.
/// </summary>
internal sealed record JsonMessage
{
    [JsonPropertyName("id")]
    public string? Id { get; init; }

    [JsonPropertyName("status")]
    public string? Status { get; init; }

    [JsonPropertyName("stream")]
    public string? Stream { get; init; }

    [JsonPropertyName("progressDetail")]
    public JsonProgressDetail? ProgressDetail { get; init; }

    [JsonPropertyName("error")]
    public string? Error { get; init; }

    [JsonPropertyName("errorDetail")]
    public JsonErrorDetail? ErrorDetail { get; init; }

    /// <summary>Operation-specific results: <c>{"ID":…}</c> from build, <c>{"Tag","Digest","Size"}</c> from push.</summary>
    [JsonPropertyName("aux")]
    public JsonElement? Aux { get; init; }

    /// <summary>The string member <paramref name="name"/> of <see cref="Aux"/>, or null.</summary>
    public string? GetAuxString(string name) =>
        Aux is { ValueKind: JsonValueKind.Object } aux && aux.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}

internal sealed record JsonProgressDetail
{
    [JsonPropertyName("current")]
    public long? Current { get; init; }

    [JsonPropertyName("total")]
    public long? Total { get; init; }
}

internal sealed record JsonErrorDetail
{
    [JsonPropertyName("code")]
    public int? Code { get; init; }

    [JsonPropertyName("message")]
    public string? Message { get; init; }
}

/// <summary>
/// Reads an engine JSON message stream incrementally: the objects are concatenated, usually but not
/// necessarily newline separated, and may be split across reads at any byte. Nothing is buffered
/// beyond the object being read.
/// </summary>
internal static class JsonMessageStream
{
    /// <summary>
    /// Yields each message of <paramref name="stream"/> after reporting it to <paramref name="progress"/>.
    /// </summary>
    /// <param name="stream">The response body.</param>
    /// <param name="operation">What was attempted, for messages ("build of 127.0.0.1:5001/apps/x:1").</param>
    /// <param name="endpoint">The engine endpoint, for messages.</param>
    /// <param name="progress">Receives every message; may be null.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <exception cref="EngineException">A message carries <c>error</c>/<c>errorDetail</c> (status null), or the stream is not JSON.</exception>
    /// <exception cref="UnavailableException">The engine closed the connection mid-stream.</exception>
    public static async IAsyncEnumerable<JsonMessage> ReadAsync(
        Stream stream,
        string operation,
        string endpoint,
        IProgress<EngineProgress>? progress,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var messages = JsonSerializer.DeserializeAsyncEnumerable(stream, EngineJsonContext.Default.JsonMessage, topLevelValues: true, cancellationToken);
        await using var enumerator = messages.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            JsonMessage? message;
            try
            {
                if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                {
                    yield break;
                }

                message = enumerator.Current;
            }
            catch (JsonException ex)
            {
                throw new EngineException(
                    $"the {operation} on {endpoint} sent a message stream that is not JSON ({ex.Message}): check that the endpoint is a Docker Engine speaking API {DockerEngineClient.ApiVersion}",
                    innerException: ex);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                throw new UnavailableException(
                    $"the Docker Engine on {endpoint} closed the connection during the {operation} ({ex.Message}): check that the engine is still running and retry",
                    ex);
            }

            if (message is null)
            {
                continue;
            }

            ThrowIfError(message, operation, endpoint);
            progress?.Report(new EngineProgress(message.Id, message.Status, message.Stream, message.ProgressDetail?.Current, message.ProgressDetail?.Total));
            yield return message;
        }
    }

    /// <summary>Throws the in-stream error a message carries, if any.</summary>
    public static void ThrowIfError(JsonMessage message, string operation, string endpoint)
    {
        var text = message.ErrorDetail?.Message;
        if (string.IsNullOrEmpty(text))
        {
            text = message.Error;
        }

        if (string.IsNullOrEmpty(text) && message.ErrorDetail is null)
        {
            return;
        }

        text = string.IsNullOrWhiteSpace(text) ? "(the engine gave no message)" : text.Trim();
        throw new EngineException($"the {operation} failed on {endpoint}: {text}", statusCode: null, responseBody: text);
    }
}
