namespace Orchestrator.Core.Jobs.Documents;

/// <summary><c>check --json</c>: what the definitions hold once they load.</summary>
public sealed record CheckDocument(
    string Config,
    IReadOnlyList<CheckStageDocument> Stages,
    IReadOnlyList<CheckBaseDocument> Bases,
    IReadOnlyList<CheckPipelineDocument> Pipelines);

/// <summary>A stage and its registry host.</summary>
public sealed record CheckStageDocument(string Name, string Registry);

/// <summary>A base image, its repository and its variants.</summary>
public sealed record CheckBaseDocument(string Name, string Repository, IReadOnlyList<string> Variants);

/// <summary>A pipeline, its base (NAME/VARIANT), repository and tags.</summary>
public sealed record CheckPipelineDocument(string Name, string Version, string Base, string Repository, IReadOnlyList<string> Tags);

/// <summary><c>state check --json</c>: the state file, whether it is sound, its schema version (absent when unreadable) and its problems.</summary>
public sealed record StateCheckDocument(string Path, bool Ok, long? SchemaVersion, IReadOnlyList<string> Problems);

/// <summary><c>state backup --json</c>: the state file, the backup written and its size in bytes.</summary>
public sealed record StateBackupDocument(string Source, string Backup, long Bytes);
