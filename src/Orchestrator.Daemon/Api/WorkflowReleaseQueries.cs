using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Core.Jobs;
using Orchestrator.Core.Jobs.Documents;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Workflows;
using Orchestrator.Daemon.Hosting;

namespace Orchestrator.Daemon.Api;

/// <summary>
/// The read side over <see cref="ReleaseWorkflow"/> (the state store). Each query runs in its own scope on the
/// definitions the holder has reloaded last, fixed for the query, so a reload never lands halfway through one.
/// </summary>
internal sealed class WorkflowReleaseQueries(WorkflowGraph graph, WorkspaceHolder workspace) : IReleaseQueries
{
    private ReleaseWorkflow Workflow => ReleasesOn(workspace.Current);

    public async Task<JsonNode?> GetStatusAsync(string? pipeline, CancellationToken cancellationToken = default) =>
        JsonSerializer.SerializeToNode(
            ResultDocuments.Status(await Workflow.GetStatusAsync(pipeline, askRegistries: false, cancellationToken).ConfigureAwait(false)), ResultJsonContext.Default.StatusDocument);

    public async Task<JsonNode?> GetServedStatusAsync(string? pipeline, CancellationToken cancellationToken = default)
    {
        var current = workspace.Current;
        var statuses = await ReleasesOn(current).GetStatusAsync(pipeline, askRegistries: true, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<(string Base, string Variant, long? Bytes)> sizes;
        try
        {
            sizes = await ImageSizes.BaseVariantSizesAsync(current, graph.Registries, cancellationToken).ConfigureAwait(false);
        }
        catch (Core.Errors.OrchestratorException)
        {
            // The sizes are extra: the records still answer when the first stage's registry does not.
            sizes = [];
        }

        var facts = new Dictionary<(string Pipeline, string Stage), (long? Size, bool Signed)>();
        foreach (var status in statuses)
        {
            foreach (var stage in status.Stages)
            {
                if (stage.Reference?.Digest is not { } digest || current.Config.FindStage(stage.Stage) is not { } definition)
                {
                    continue;
                }

                try
                {
                    facts[(status.Pipeline, stage.Stage)] = await StageDiffWorkflow.SizeAndSignatureAsync(
                        graph.Registries.Create(definition.Registry), stage.Reference.Repository, digest, cancellationToken).ConfigureAwait(false);
                }
                catch (Core.Errors.OrchestratorException)
                {
                    // Like the base sizes: extra, so a registry that does not answer leaves the cell as the records say.
                }
            }
        }

        return JsonSerializer.SerializeToNode(ResultDocuments.Status(statuses, sizes, facts), ResultJsonContext.Default.StatusDocument);
    }

    public Task<StageDiff> GetStageDiffAsync(string pipeline, string from, string to, CancellationToken cancellationToken = default)
    {
        var current = workspace.Current;
        return new StageDiffWorkflow(new FixedWorkspace(current), graph.Registries, ReleasesOn(current)).CompareAsync(pipeline, from, to, cancellationToken);
    }

    public async Task<JsonNode?> GetHistoryAsync(string pipeline, int limit, CancellationToken cancellationToken = default) =>
        JsonSerializer.SerializeToNode(
            ResultDocuments.History(pipeline, await Workflow.GetHistoryAsync(pipeline, limit, cancellationToken).ConfigureAwait(false), withTests: true), ResultJsonContext.Default.HistoryDocument);

    public async Task<(string Content, string ContentType)> GetReleaseAsync(string pipeline, string stage, string format, CancellationToken cancellationToken = default)
    {
        var parsed = ReleaseFormatter.ParseFormat(format);
        var release = await Workflow.GetReleaseAsync(pipeline, stage, cancellationToken).ConfigureAwait(false);
        return (ReleaseFormatter.Format(release, parsed), ReleaseFormatter.ContentType(parsed));
    }

    private ReleaseWorkflow ReleasesOn(Core.Definitions.Workspace current) =>
        graph.Create(new WorkflowScope(new FixedWorkspace(current), NullJobReporter.Instance, new EnvironmentActorProvider())).Releases;
}
