using Orchestrator.Core.Definitions;
using Orchestrator.Core.Signing;
using Orchestrator.Definitions.Yaml;

namespace Orchestrator.Definitions;

/// <summary>
/// Reads the signing parts of orchestrator.yaml: the <c>signing:</c> section (the private key, by file or environment
/// variable) and a registry's <c>require-signature</c> public keys. Key files are read and checked here (PEM, ECDSA
/// P-256, private or public as expected), so a bad key is an error at its line, not a failed job; their text never
/// appears in an error.
/// </summary>
internal static class SigningReader
{
    private static readonly string[] SigningKeys = ["key-file", "key-env"];
    private const string Example = "signing: { key-file: keys/release.key }";

    /// <summary>The <c>signing:</c> section, or null when absent or wrong (errors reported).</summary>
    public static SigningSettings? Read(SourceFile file, MappingReader reader)
    {
        if (reader.Mapping("signing", SigningKeys, what: "'signing'") is not { } signing)
        {
            return null;
        }

        var keyFile = signing.String("key-file", example: "keys/release.key");
        var keyEnv = signing.String("key-env", example: "ORCHESTRATOR_SIGNING_KEY");
        if ((keyFile is null) == (keyEnv is null))
        {
            file.Error(signing.Node, keyFile is null
                    ? "'signing' names no key: it needs exactly one of 'key-file' and 'key-env'"
                    : "'signing' names both 'key-file' and 'key-env': it needs exactly one",
                $"write the PEM file's path ('{Example}') or the name of the environment variable holding the PEM text ('key-env: ORCHESTRATOR_SIGNING_KEY')");
            return null;
        }

        if (keyEnv is { } env)
        {
            if (!DefinitionRules.IsSecretEnvReference(env.Value))
            {
                // Someone may have pasted the key itself: never echo it.
                file.Error(env.Node, "'key-env' in 'signing' must name an environment variable: upper-case letters, digits and '_', not starting with a digit",
                    "put the PEM text of the key in an environment variable and write its name, e.g. 'key-env: ORCHESTRATOR_SIGNING_KEY'; never write the key itself here");
                return null;
            }

            return new SigningSettings(null, env.Value);
        }

        var path = Path.GetFullPath(keyFile!.Value.Value, file.Directory);
        if (ReadKeyFile(file, keyFile.Value, path, "signing key") is not { } pem)
        {
            return null;
        }

        if (!SignatureKeyPem.TryReadPrivate(pem, out var key, out var error))
        {
            file.Error(keyFile.Value.Node, $"signing key {keyFile.Value.Value} {error}",
                "point 'key-file' at an unencrypted ECDSA P-256 private key in PEM");
            return null;
        }

        key.Dispose();
        return new SigningSettings(path, null);
    }

    /// <summary>A registry's <c>require-signature</c> keys (empty when absent); errors at each bad entry.</summary>
    public static IReadOnlyList<VerificationKey> ReadRequired(SourceFile file, MappingReader entry, string stage)
    {
        var list = entry.StringList("require-signature", example: "[keys/release.pub]");
        if (list is null)
        {
            return [];
        }

        if (list.Count == 0)
        {
            file.Error(entry.Raw("require-signature")!, $"'require-signature' of registry '{stage}' is empty, which would require nothing",
                "list the public keys (PEM) whose signatures let a digest into this stage, e.g. 'require-signature: [keys/release.pub]', or remove the key");
        }

        var keys = new List<VerificationKey>();
        foreach (var item in list)
        {
            var path = Path.GetFullPath(item.Value, file.Directory);
            if (ReadKeyFile(file, item, path, "public key") is not { } pem)
            {
                continue;
            }

            if (SignatureKeyPem.TryReadPublic(pem, out var spki, out var error))
            {
                keys.Add(new VerificationKey(item.Value, spki));
            }
            else
            {
                file.Error(item.Node, $"public key {item.Value} in 'require-signature' of registry '{stage}' {error}",
                    "list ECDSA P-256 public keys in PEM ('-----BEGIN PUBLIC KEY-----')");
            }
        }

        return keys;
    }

    private static string? ReadKeyFile(SourceFile file, Located<string> given, string path, string what)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > 64 * 1024)
            {
                file.Error(given.Node, $"{what} {given.Value} is {info.Length} bytes, too large for a PEM key", "point it at the PEM key file itself");
                return null;
            }

            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            file.Error(given.Node, $"{what} {given.Value} cannot be read ({(ex is FileNotFoundException or DirectoryNotFoundException ? "no such file" : ex.GetType().Name)}; resolved to {path})",
                "paths are relative to orchestrator.yaml; check the path and the file's permissions");
            return null;
        }
    }
}
