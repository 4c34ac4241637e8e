namespace Orchestrator.Core.Definitions;

/// <summary>
/// The <c>signing:</c> section of orchestrator.yaml: where the ECDSA P-256 private key that signs every
/// validated digest is. Exactly one of <see cref="KeyFile"/> and <see cref="KeyEnv"/>. The key itself is never
/// held here: it is read when a digest is signed and dropped after.
/// </summary>
/// <param name="KeyFile">The absolute path of the PEM key file, or null.</param>
/// <param name="KeyEnv">The name of the environment variable holding the PEM text, or null.</param>
public sealed record SigningSettings(string? KeyFile, string? KeyEnv)
{
    /// <summary>The key's source as messages name it: the path, or <c>$NAME</c>.</summary>
    public string Source => KeyFile ?? $"${KeyEnv}";
}
