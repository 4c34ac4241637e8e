namespace Orchestrator.Core.Definitions;

/// <summary>
/// A pipeline (pipelines/NAME.yaml): one image built on a base variant with pinned packages and
/// files, tagged, validated and promoted through the stages.
/// </summary>
/// <param name="Name">The pipeline's name.</param>
/// <param name="Version">The version, substituted for <c>{version}</c> in tags.</param>
/// <param name="SourceFile">The definition file.</param>
/// <param name="Base">The base variant it builds on.</param>
/// <param name="Repository">The repository, the same path in every stage's registry.</param>
/// <param name="AptPackages">apt packages at exact versions, in definition order.</param>
/// <param name="Files">Files copied into the image; sources are absolute and inside the pipeline's folder.</param>
/// <param name="Env">Environment variables set in the image, in definition order.</param>
/// <param name="User">The user the image runs as, or null for the base's.</param>
/// <param name="WorkingDirectory">The working directory, or null.</param>
/// <param name="Entrypoint">The entrypoint, or null.</param>
/// <param name="Cmd">The default command, or null.</param>
/// <param name="Labels">Extra labels, in definition order.</param>
/// <param name="Tags">Tags with <c>{version}</c> already substituted, each a valid tag.</param>
/// <param name="Validate">The tests a digest must pass before promotion.</param>
public sealed record PipelineDefinition(
    string Name,
    string Version,
    string SourceFile,
    BaseVariantRef Base,
    string Repository,
    IReadOnlyList<AptPackage> AptPackages,
    IReadOnlyList<FileCopy> Files,
    IReadOnlyList<KeyValuePair<string, string>> Env,
    string? User,
    string? WorkingDirectory,
    IReadOnlyList<string>? Entrypoint,
    IReadOnlyList<string>? Cmd,
    IReadOnlyList<KeyValuePair<string, string>> Labels,
    IReadOnlyList<string> Tags,
    ValidationSpec Validate)
{
    /// <summary>
    /// The <c>floating-tags:</c> key: tags (among <see cref="Tags"/>) that a promotion may move to a newer
    /// digest, such as <c>latest</c>. Every other tag is immutable once it is in a later stage.
    /// <value>The default is none: every tag is immutable.</value>
    /// </summary>
    public IReadOnlyList<string> FloatingTags { get; init; } = [];

    /// <summary>The <c>auto:</c> key: what the daemon does when the pipeline goes stale. <value>The default is <see cref="AutoMode.None"/>.</value></summary>
    public AutoMode Auto { get; init; } = AutoMode.None;

    /// <summary>
    /// Where the pipeline's lock is or would be: <c>NAME.lock.yaml</c> next to the definition (NAME is
    /// the definition's file name).
    /// </summary>
    public string LockFile => LockPathFor(SourceFile);

    /// <summary>The lock read from <see cref="LockFile"/>, or null when there is none. <value>The default is null.</value></summary>
    public Locks.PipelineLock? Lock { get; init; }

    /// <summary>
    /// Names of apt packages written without a version (allowed only with a lock, which pins them). Their
    /// entry in <see cref="AptPackages"/> carries the locked version, or <c>""</c> when the lock lacks them.
    /// <value>The default is none.</value>
    /// </summary>
    public IReadOnlyList<string> UnpinnedPackages { get; init; } = [];

    /// <summary>
    /// The <c>python:</c> block: a Python service built into wheels on a build base and installed into this image,
    /// or null for a pipeline without one. <value>The default is null.</value>
    /// </summary>
    public PythonSpec? Python { get; init; }

    /// <summary>Every base variant a build of this pipeline needs: <see cref="Base"/>, then the Python build base when it differs.</summary>
    public IReadOnlyList<BaseVariantRef> BasesUsed =>
        Python is { } python && python.BuildBase != Base ? [Base, python.BuildBase] : [Base];

    /// <summary>Where the lock of the definition at <paramref name="definitionPath"/> lives: NAME.lock.yaml next to it.</summary>
    public static string LockPathFor(string definitionPath) =>
        Path.Combine(Path.GetDirectoryName(definitionPath)!, Path.GetFileNameWithoutExtension(definitionPath) + ".lock.yaml");

    /// <summary>The folder holding the definition; file sources are relative to it.</summary>
    public string Directory => Path.GetDirectoryName(SourceFile)!;
}

/// <summary>An apt package at an exact version, <c>name=version</c> for apt-get.</summary>
public sealed record AptPackage(string Name, string Version)
{
    public override string ToString() => $"{Name}={Version}";
}

/// <summary>A file copied into the image.</summary>
/// <param name="Source">Absolute path of the source file, inside the pipeline's folder.</param>
/// <param name="Destination">Absolute path in the image.</param>
/// <param name="Mode">Unix permission bits (e.g. 0644 as 420), or null to keep the source's.</param>
public sealed record FileCopy(string Source, string Destination, int? Mode = null);

/// <summary>What a digest must pass before it may leave the first stage.</summary>
/// <param name="Commands">Commands run in locked-down containers with no network.</param>
/// <param name="Files">Paths that must or must not exist in the image.</param>
/// <param name="Metadata">Expected image configuration, or null.</param>
/// <param name="MaxSizeMb">Largest allowed uncompressed image size in MiB (as the engine reports it), or null.</param>
public sealed record ValidationSpec(
    IReadOnlyList<CommandTest> Commands,
    IReadOnlyList<FileTest> Files,
    MetadataExpectation? Metadata,
    double? MaxSizeMb)
{
    public static ValidationSpec Empty { get; } = new([], [], null, null);

    /// <summary>The number of tests this spec runs.</summary>
    public int Count => Commands.Count + Files.Count + (Metadata is null ? 0 : 1) + (MaxSizeMb is null ? 0 : 1);
}

/// <summary>A command test.</summary>
/// <param name="Name">The test's name, shown in results.</param>
/// <param name="Run">The argument vector; replaces the image's entrypoint and command.</param>
/// <param name="ExpectExit">The exit code it must return.</param>
/// <param name="ExpectStdout">A regular expression (multi-line) standard output must match, or null.</param>
/// <param name="ExpectStderr">A regular expression (multi-line) standard error must match, or null.</param>
/// <param name="Timeout">How long it may run before it is killed and fails.</param>
public sealed record CommandTest(
    string Name,
    IReadOnlyList<string> Run,
    int ExpectExit,
    string? ExpectStdout,
    string? ExpectStderr,
    TimeSpan Timeout);

/// <summary>A file test: <see cref="Path"/> exists in the image (or, with <see cref="Exists"/> false, does not).</summary>
public sealed record FileTest(string Path, bool Exists);

/// <summary>Expected image configuration; null members are not checked.</summary>
public sealed record MetadataExpectation(
    string? User,
    IReadOnlyList<KeyValuePair<string, string>>? Env,
    IReadOnlyList<string>? Entrypoint,
    IReadOnlyList<string>? Cmd,
    string? WorkingDirectory,
    IReadOnlyList<KeyValuePair<string, string>>? Labels);
