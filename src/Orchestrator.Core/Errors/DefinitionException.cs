namespace Orchestrator.Core.Errors;

/// <summary>One problem in a definition file, at a 1-based line and column.</summary>
/// <param name="File">The file, as given to the loader (relative paths stay relative).</param>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
/// <param name="Message">What is wrong.</param>
/// <param name="Fix">How to fix it, or null when the message already says.</param>
public sealed record DefinitionError(string File, int Line, int Column, string Message, string? Fix = null)
{
    /// <summary><c>file:line:column: message (fix)</c>, the form editors and CI logs link.</summary>
    public override string ToString() =>
        $"{File}:{Line}:{Column}: {Message}" + (Fix is null ? string.Empty : $" (fix: {Fix})");
}

/// <summary>
/// Definitions (orchestrator.yaml, base-images/, pipelines/) that cannot be used. Carries every
/// problem found, not only the first, so one run shows everything to fix. Exit code 2.
/// </summary>
public sealed class DefinitionException : InputException
{
    public DefinitionException(IReadOnlyList<DefinitionError> errors)
        : base(FormatMessage(errors))
    {
        Errors = errors;
    }

    public DefinitionException(DefinitionError error)
        : this([error])
    {
    }

    /// <summary>Every problem found, in file order.</summary>
    public IReadOnlyList<DefinitionError> Errors { get; }

    private static string FormatMessage(IReadOnlyList<DefinitionError> errors) =>
        errors.Count == 1
            ? errors[0].ToString()
            : $"{errors.Count} problems in the definitions:{Environment.NewLine}" + string.Join(Environment.NewLine, errors.Select(e => "  " + e));
}
