using System.Text.Json;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;

namespace Orchestrator.Docker;

/// <summary>
/// Receives the messages of an Engine API JSON message stream (build, import, pull, push; moby pkg/jsonmessage) as
/// Docker.DotNet parses them, and turns them into what Orchestrator needs: every message is passed on as an
/// <see cref="EngineProgress"/>; an <c>errorDetail</c> inside the 200 stream throws <see cref="EngineException"/>
/// (status null) at once, which ends the library's read; <c>aux</c> results and the last lines of build output are kept.
/// </summary>
/// <remarks>Docker.DotNet calls <see cref="Report"/> synchronously from its read loop, so a throw here stops the stream.</remarks>
internal sealed class EngineMessageSink(string operation, DockerEndpoint endpoint, IProgress<EngineProgress>? progress, ILogger logger)
    : IProgress<JSONMessage>
{
    /// <summary>How many lines of build output a failed build's message quotes.</summary>
    public const int TailLines = 12;

    private const string SuccessfullyBuilt = "Successfully built ";

    private readonly Queue<string> _tail = new();

    /// <summary>Every <c>aux</c> object of the stream, in order (build: <c>{"ID"}</c>; push: <c>{"Tag","Digest","Size"}</c>).</summary>
    public List<IDictionary<string, object>> Aux { get; } = [];

    /// <summary>Every <c>status</c> text, in order (import reports the new image id as its last status).</summary>
    public List<string> Statuses { get; } = [];

    /// <summary>Every <c>stream</c> line, trimmed, kept only up to the last <see cref="TailLines"/>.</summary>
    public IReadOnlyCollection<string> OutputTail => _tail;

    /// <summary>The short id of a legacy build's "Successfully built &lt;id&gt;" line, or null.</summary>
    public string? SuccessfullyBuiltId { get; private set; }

    /// <summary>When true, an in-stream error quotes the last lines of output (a failed RUN step's own output).</summary>
    public bool QuoteOutputOnError { get; init; }

    public void Report(JSONMessage value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Error is { } error)
        {
            var text = string.IsNullOrWhiteSpace(error.Message) ? "(the engine gave no message)" : error.Message.Trim();
            var output = QuoteOutputOnError && _tail.Count > 0
                ? $"{Environment.NewLine}Last output:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", _tail)}"
                : string.Empty;
            throw new EngineException($"the {operation} failed on {endpoint}: {text}{output}", statusCode: null, responseBody: text);
        }

        if (value.Aux?.ExtensionData is { Count: > 0 } aux)
        {
            Aux.Add(aux);
        }

        if (value.Status is { Length: > 0 } status)
        {
            Statuses.Add(status);
        }

        if (value.Stream?.Trim() is { Length: > 0 } line)
        {
            if (line.StartsWith(SuccessfullyBuilt, StringComparison.Ordinal))
            {
                SuccessfullyBuiltId = line[SuccessfullyBuilt.Length..].Trim();
            }

            _tail.Enqueue(line);
            if (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }

        if (logger.IsEnabled(LogLevel.Debug) && (value.Stream ?? value.Status)?.Trim() is { Length: > 0 } trimmed)
        {
            Log.StreamLine(logger, operation, value.ID is null ? trimmed : $"{value.ID}: {trimmed}");
        }

        progress?.Report(new EngineProgress(value.ID, value.Status, value.Stream, value.Progress?.Current, value.Progress?.Total));
    }

    /// <summary>The string member <paramref name="name"/> of an aux object, or null.</summary>
    public static string? AuxString(IDictionary<string, object> aux, string name) =>
        aux.TryGetValue(name, out var value) ? value switch
        {
            JsonElement { ValueKind: JsonValueKind.String } element => element.GetString(),
            string text => text,
            _ => null,
        } : null;
}
