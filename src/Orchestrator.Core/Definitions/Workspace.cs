using Orchestrator.Core.Errors;

namespace Orchestrator.Core.Definitions;

/// <summary>Everything loaded and cross-checked: the config, the bases and the pipelines.</summary>
public sealed record Workspace(
    OrchestratorConfig Config,
    IReadOnlyDictionary<string, BaseImageDefinition> Bases,
    IReadOnlyDictionary<string, PipelineDefinition> Pipelines)
{
    /// <summary>
    /// Problems in definitions the loading command did not need (file:line:column): the command goes on
    /// without those definitions and shows these as warnings. Empty when everything was needed.
    /// </summary>
    public IReadOnlyList<DefinitionError> Warnings { get; init; } = [];

    /// <summary>
    /// Pipelines the loading command did not need: their files were read for <see cref="Warnings"/>, their locks not
    /// at all, and they are not in <see cref="Pipelines"/> (a definition without its lock would be a wrong one).
    /// Empty when everything was needed.
    /// </summary>
    public IReadOnlyList<string> UnloadedPipelines { get; init; } = [];

    /// <summary>The pipeline named <paramref name="name"/>.</summary>
    /// <exception cref="InputException">No such pipeline; the message lists the known ones.</exception>
    public PipelineDefinition GetPipeline(string name) =>
        Pipelines.TryGetValue(name, out var pipeline)
            ? pipeline
            : throw new InputException($"no pipeline named '{name}' in {Config.PipelinesDirectory}; known pipelines: {Known(Pipelines.Keys.Concat(UnloadedPipelines))}");

    /// <summary>Resolves <c>NAME</c> or <c>NAME/VARIANT</c> to a base and variant.</summary>
    /// <exception cref="InputException">No such base or variant; the message lists the known ones.</exception>
    public (BaseImageDefinition Base, BaseVariantDefinition Variant) GetBaseVariant(string nameAndVariant)
    {
        var parts = nameAndVariant.Split('/', 2);
        if (!Bases.TryGetValue(parts[0], out var definition))
        {
            throw new InputException($"no base image named '{parts[0]}' in {Config.BaseImagesDirectory}; known bases: {Known(Bases.Keys)}");
        }

        var variantName = parts.Length == 2 ? parts[1] : definition.DefaultVariant;
        return definition.Variants.TryGetValue(variantName, out var variant)
            ? (definition, variant)
            : throw new InputException($"base image '{definition.Name}' has no variant '{variantName}'; its variants: {Known(definition.Variants.Keys)}");
    }

    private static string Known(IEnumerable<string> names)
    {
        var list = names.Order(StringComparer.Ordinal).ToList();
        return list.Count == 0 ? "(none)" : string.Join(", ", list);
    }
}

/// <summary>Loads and cross-checks a <see cref="Workspace"/>; implemented by Orchestrator.Definitions.</summary>
public interface IWorkspaceLoader
{
    /// <summary>Loads orchestrator.yaml at <paramref name="configPath"/> and every definition it points to.</summary>
    /// <exception cref="InputException">The config file does not exist; the message names the path tried (no position).</exception>
    /// <exception cref="DefinitionException">Any definition is malformed or inconsistent; carries every problem with file:line:column.</exception>
    Task<Workspace> LoadAsync(string configPath, CancellationToken cancellationToken = default);
}
