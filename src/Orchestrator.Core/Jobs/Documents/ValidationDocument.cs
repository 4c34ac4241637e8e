namespace Orchestrator.Core.Jobs.Documents;

/// <summary><c>validate --json</c>, a validate job's result (also when it failed), and the <c>validation</c> of a run.</summary>
public sealed record ValidationDocument(string Pipeline, string Reference, string Digest, bool Passed, long ValidationId, IReadOnlyList<TestDocument> Tests)
{
    /// <summary>The signing of the passed digest with <c>signing:</c> set; null (absent) otherwise.</summary>
    public SigningDocument? Signature { get; init; }
}

/// <summary>One validation test; <c>durationMs</c> in whole milliseconds.</summary>
public sealed record TestDocument(string Kind, string Name, bool Passed, string Detail, long DurationMs);
