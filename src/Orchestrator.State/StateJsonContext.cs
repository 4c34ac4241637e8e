using System.Text.Json.Serialization;

namespace Orchestrator.State;

/// <summary>
/// The JSON the state store keeps inside its rows (a record's tags as a JSON array of strings), generated at
/// compile time so the store needs no reflection in the native binary. Default options, so the stored text is
/// what <c>JsonSerializer.Serialize</c> wrote before: existing state files read back unchanged.
/// </summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class StateJsonContext : JsonSerializerContext;
