namespace Orchestrator.Definitions;

/// <summary>
/// Which definitions a command needs. Problems in what it needs are errors (exit 2); problems in the
/// rest are warnings and the command goes on, so one broken pipeline file does not block
/// <c>promote --dry-run</c> of another. <see cref="Everything"/> (<c>check</c>, <c>--all</c>, the daemon)
/// keeps every problem an error.
/// </summary>
public sealed class WorkspaceScope
{
    private WorkspaceScope(IReadOnlySet<string>? pipelines, IReadOnlySet<string> bases)
    {
        Pipelines = pipelines;
        Bases = bases;
    }

    /// <summary>Every definition is needed: every problem is an error.</summary>
    public static WorkspaceScope Everything { get; } = new(null, new HashSet<string>());

    /// <summary>The pipelines named (by file name, pipelines/NAME.yaml, which is also their <c>name:</c>) or null for all.</summary>
    public IReadOnlySet<string>? Pipelines { get; }

    /// <summary>The bases needed beyond those the needed pipelines use.</summary>
    public IReadOnlySet<string> Bases { get; }

    /// <summary>True when every definition is needed.</summary>
    public bool IsEverything => Pipelines is null;

    /// <summary>One pipeline, its lock, its requirements and the bases it uses.</summary>
    public static WorkspaceScope Pipeline(string name) => new(new HashSet<string>(StringComparer.Ordinal) { name }, new HashSet<string>());

    /// <summary>One base (<c>NAME</c> or <c>NAME/VARIANT</c>) and no pipeline.</summary>
    public static WorkspaceScope Base(string nameAndVariant) =>
        new(new HashSet<string>(), new HashSet<string>(StringComparer.Ordinal) { nameAndVariant.Split('/', 2)[0] });

    /// <summary>True when problems in pipeline <paramref name="name"/> are errors.</summary>
    public bool NeedsPipeline(string name) => Pipelines is null || Pipelines.Contains(name);
}
