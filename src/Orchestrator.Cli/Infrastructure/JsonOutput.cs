using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Cli.Infrastructure;

/// <summary>The --json shapes: camelCase, digests and references as strings, stable across releases.</summary>
internal static class JsonOutput
{
    public static void Write(TextWriter writer, object value) => writer.WriteLine(ResultDocuments.Serialize(value, indented: true));

    public static object Error(string message, int exitCode, IReadOnlyList<DefinitionError>? errors) => new
    {
        error = new
        {
            message,
            exitCode,
            definitions = errors?.Select(e => new { file = e.File, line = e.Line, column = e.Column, message = e.Message, fix = e.Fix }),
        },
    };

    public static object BaseBuild(BaseBuildResult result) => ResultDocuments.BaseBuild(result);

    public static object Build(BuildResult result) => ResultDocuments.Build(result);

    public static object Validation(ValidationResult result) => ResultDocuments.Validation(result);

    public static object Promotion(PromotionResult result) => ResultDocuments.Promotion(result);

    public static object Run(RunResult result) => ResultDocuments.Run(result);
}
