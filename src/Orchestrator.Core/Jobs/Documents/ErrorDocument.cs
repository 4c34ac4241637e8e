namespace Orchestrator.Core.Jobs.Documents;

/// <summary><c>{"error": …}</c>: what any verb prints with --json when it fails.</summary>
public sealed record ErrorDocument(ErrorDetailDocument Error);

/// <summary>The message, the exit code, and for broken definitions each problem at file:line:column.</summary>
public sealed record ErrorDetailDocument(string Message, int ExitCode, IReadOnlyList<DefinitionErrorDocument>? Definitions);

/// <summary>One problem in a definition file, and how to fix it.</summary>
public sealed record DefinitionErrorDocument(string File, int Line, int Column, string Message, string? Fix);
