using Orchestrator.Core.Definitions;

namespace Orchestrator.Core.Jobs;

/// <summary>
/// Which roles a token needs: <c>read</c> for every read, <c>build</c>, <c>validate</c> and
/// <c>promote:STAGE</c> for jobs. A run does everything, so it needs all the roles of its steps.
/// </summary>
public static class JobAuthorization
{
    public const string Read = "read";
    public const string Build = "build";
    public const string Validate = "validate";

    public static string Promote(string stage) => $"promote:{stage}";

    /// <summary>The roles <paramref name="request"/> needs under <paramref name="config"/>.</summary>
    public static IReadOnlyList<string> RequiredRoles(JobRequest request, OrchestratorConfig config) => request.Kind switch
    {
        JobKind.Build => [Build],
        JobKind.Validate => [Validate],
        JobKind.Promote => [Promote(request.Stage ?? config.Stages.ElementAtOrDefault(1)?.Name ?? config.FirstStage.Name)],
        JobKind.Run => [Build, Validate, .. config.Stages.Skip(1).Select(s => Promote(s.Name))],
        _ => throw new ArgumentOutOfRangeException(nameof(request)),
    };

    /// <summary>The roles of <paramref name="request"/> that <paramref name="granted"/> lacks; empty when allowed.</summary>
    public static IReadOnlyList<string> MissingRoles(JobRequest request, OrchestratorConfig config, IEnumerable<string> granted)
    {
        var set = granted.ToHashSet(StringComparer.Ordinal);
        return RequiredRoles(request, config).Where(r => !set.Contains(r)).ToList();
    }
}
