using Orchestrator.Core.References;

namespace Orchestrator.Core.Definitions;

/// <summary>
/// The content of one pipeline as a job runs it: the SHA-256 of its definition file's bytes and of its
/// lock file's bytes (<c>NAME.lock.yaml</c> beside it), or a null <see cref="Lock"/> when it has none.
/// The CLI sends these with a job so the daemon runs exactly what the CLI sees (issue 11, item 9).
/// </summary>
/// <param name="Definition">sha256 of the definition file.</param>
/// <param name="Lock">sha256 of the lock file, or null when there is no lock file.</param>
public sealed record DefinitionHashes(Digest Definition, Digest? Lock)
{
    /// <summary>
    /// Hashes <paramref name="definitionPath"/> and the lock beside it as they are on disk now; null when
    /// the definition file does not exist.
    /// </summary>
    /// <exception cref="IOException">A file exists but cannot be read.</exception>
    public static async Task<DefinitionHashes?> OfFilesAsync(string definitionPath, CancellationToken cancellationToken = default)
    {
        var definition = await HashAsync(definitionPath, cancellationToken).ConfigureAwait(false);
        return definition is null
            ? null
            : new DefinitionHashes(definition, await HashAsync(PipelineDefinition.LockPathFor(definitionPath), cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Which of the two files differs from <paramref name="other"/>, as words: "the definition", "the lock", both, or null.</summary>
    public string? Difference(DefinitionHashes other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var definition = Definition != other.Definition;
        var lockFile = Lock != other.Lock;
        return (definition, lockFile) switch
        {
            (true, true) => "the definition and its lock",
            (true, false) => "the definition",
            (false, true) => "the lock",
            _ => null,
        };
    }

    private static async Task<Digest?> HashAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096, useAsync: true);
            return await Digest.Sha256OfAsync(stream, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }
}
