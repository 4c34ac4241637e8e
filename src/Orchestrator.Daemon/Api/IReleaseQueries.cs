using System.Text.Json.Nodes;

namespace Orchestrator.Daemon.Api;

/// <summary>
/// The read side the API serves: what each stage holds, a pipeline's history, the release in a stage.
/// Documents are the shared result shapes (ResultDocuments), already as JSON.
/// </summary>
public interface IReleaseQueries
{
    /// <summary>The status document of every pipeline (or one), as ResultDocuments.Status shapes it.</summary>
    Task<JsonNode?> GetStatusAsync(string? pipeline, CancellationToken cancellationToken = default);

    /// <summary>
    /// The status document with what each stage's registry serves where there is no record (a HEAD per pipeline
    /// tag, marked <c>recorded: false</c>) and the base variants' sizes (<c>bases</c>): <c>GET /api/pipelines?registries=true</c>.
    /// Asks the registries, so it is not the default of the hot read. By default the records only.
    /// </summary>
    Task<JsonNode?> GetServedStatusAsync(string? pipeline, CancellationToken cancellationToken = default) => GetStatusAsync(pipeline, cancellationToken);

    /// <summary>The history document of <paramref name="pipeline"/>, newest first, at most <paramref name="limit"/> entries.</summary>
    Task<JsonNode?> GetHistoryAsync(string pipeline, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// The release of <paramref name="pipeline"/> in <paramref name="stage"/> in <paramref name="format"/>
    /// (json, yaml, kustomize, env). Returns the text and its content type.
    /// </summary>
    /// <exception cref="Core.Errors.InputException">Unknown format.</exception>
    /// <exception cref="Core.Errors.JobFailedException">Nothing was released there.</exception>
    Task<(string Content, string ContentType)> GetReleaseAsync(string pipeline, string stage, string format, CancellationToken cancellationToken = default);

    /// <summary>
    /// What promoting <paramref name="from"/>'s digest of <paramref name="pipeline"/> to <paramref name="to"/> would change
    /// there (packages from the SBOMs, size, base), read from both stages' registries: <c>GET /api/pipelines/{name}/diff</c>.
    /// </summary>
    /// <exception cref="Core.Errors.InputException">An unknown stage, or the same stage twice.</exception>
    /// <exception cref="Core.Errors.JobFailedException">A registry failed.</exception>
    Task<Core.Workflows.StageDiff> GetStageDiffAsync(string pipeline, string from, string to, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("this read side does not compare stages");
}
