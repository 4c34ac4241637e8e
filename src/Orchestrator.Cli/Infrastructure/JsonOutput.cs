using System.Text.Json.Serialization.Metadata;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Jobs.Documents;

namespace Orchestrator.Cli.Infrastructure;

/// <summary>
/// The --json output: the result documents of <see cref="ResultDocuments"/>, indented, through the one
/// source-generated <see cref="ResultJsonContext"/> (camelCase, digests and references as strings, stable across releases).
/// </summary>
internal static class JsonOutput
{
    private static ResultJsonContext Context => ResultJsonContext.Default;

    public static void Write<T>(TextWriter writer, T value, JsonTypeInfo<T> typeInfo) =>
        writer.WriteLine(ResultDocuments.Serialize(value, typeInfo, indented: true));

    public static void Write(TextWriter writer, System.Text.Json.JsonElement value) => Write(writer, value, Context.JsonElement);

    public static void Write(TextWriter writer, ErrorDocument value) => Write(writer, value, Context.ErrorDocument);

    public static void Write(TextWriter writer, ValidationDocument value) => Write(writer, value, Context.ValidationDocument);

    public static ErrorDocument Error(string message, int exitCode, IReadOnlyList<DefinitionError>? errors) =>
        new(new ErrorDetailDocument(message, exitCode, errors?.Select(e => new DefinitionErrorDocument(e.File, e.Line, e.Column, e.Message, e.Fix)).ToList()));
}
